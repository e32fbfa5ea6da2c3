/**
 * What every `circuit-lens bench` case starts with: thread, repeat and length options, the Python that runs
 * the PyTorch reference (pinned to the same thread count), and random weights that reference writes once
 * into .bench/NAME.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fail } from '../engine/errors';
import { intArg } from '../cli/args';

export interface BenchSetup {
  threads: number;
  repeats: number;
  pos: number;
  python: string;
  /** Environment for the reference: BLAS and OpenMP held to `threads`, no spinning. */
  env: NodeJS.ProcessEnv;
  /** The reference script. */
  reference: string;
}

export function benchSetup(values: { threads?: string; repeats?: string; pos?: string; python?: string }, reference: string, defaultRepeats: number, maxPos: number): BenchSetup {
  const threads = intArg(values.threads, '--threads', 1, 1, 256);
  const repeats = intArg(values.repeats, '--repeats', defaultRepeats, 1, 1000);
  const pos = intArg(values.pos, '--pos', 128, 1, maxPos);
  const python = values.python ?? process.env.CIRCUIT_LENS_PYTHON ?? '/usr/bin/python3';
  if (!fs.existsSync(reference)) fail('NOT_FOUND', { file: reference }, 'the PyTorch reference is missing.', 'Run the benchmark from a clone of the repository.');
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), OMP_WAIT_POLICY: 'PASSIVE' };
  return { threads, repeats, pos, python, env, reference };
}

/** .bench/NAME, written by the reference's make-random (seed 0) with `shapeArgs` when it is not there yet. */
export function randomModel(s: BenchSetup, name: string, description: string, shapeArgs: string[]): string {
  const dir = path.resolve('.bench', name);
  if (!fs.existsSync(path.join(dir, 'model.safetensors'))) {
    console.log(`writing random ${description} weights to ${dir} ...`);
    execFileSync(s.python, [s.reference, 'make-random', '--out', dir, ...shapeArgs, '--seed', '0'], { env: s.env, stdio: 'inherit' });
  }
  return dir;
}
