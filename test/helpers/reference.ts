/**
 * Drives the independent PyTorch reference (test/reference/gpt2_reference.py) from tests: random
 * checkpoints and reference activations as .npy files.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeNpy, encodeNpy } from '../../src/protocol/npy';
import type { Intervention } from '../../src/protocol/runner';
import type { TensorData } from '../../src/protocol/tensor';

export const ROOT = path.resolve(__dirname, '..', '..');
export const PYTHON = process.env.CIRCUIT_LENS_PYTHON ?? '/usr/bin/python3';
const SCRIPT = path.join(ROOT, 'test', 'reference', 'gpt2_reference.py');
export const WORKER = path.join(ROOT, 'dist', 'worker.js');
export const CLI = path.join(ROOT, 'dist', 'cli.js');

const pyEnv = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', OMP_WAIT_POLICY: 'PASSIVE' };

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `circuit-lens-${prefix}-`));
}

/** The make-random options every reference script takes. */
export interface RandomShape {
  layers: number;
  dModel: number;
  heads: number;
  dMlp: number;
  vocab: number;
  ctx: number;
  dtype: 'F32' | 'F16' | 'BF16';
  seed: number;
}

/** A random checkpoint written by a reference script's make-random, with its own options in `extra`. */
export function makeRandomWith(script: string, shape: RandomShape, extra: string[], dir: string): string {
  execFileSync(PYTHON, [script, 'make-random', '--out', dir, '--layers', String(shape.layers), '--d-model', String(shape.dModel), '--heads', String(shape.heads),
    '--d-mlp', String(shape.dMlp), '--vocab', String(shape.vocab), '--ctx', String(shape.ctx), '--dtype', shape.dtype, '--seed', String(shape.seed), ...extra], { env: pyEnv, stdio: 'pipe' });
  return dir;
}

/** A reference script's forward on [batch][pos] token ids: every hook point and `logits`. */
export function forwardWith(script: string, modelDir: string, batch: number[][], interventions: Intervention[], extra: string[] = []): Map<string, TensorData> {
  const out = tmpDir('ref');
  execFileSync(PYTHON, [script, 'forward', '--model', modelDir, '--tokens', batch.map((r) => r.join(',')).join(';'), '--out', out, ...interventionArgs(out, interventions), ...extra], { env: pyEnv, stdio: 'pipe' });
  return readNpyDir(out);
}

export interface RandomSpec extends RandomShape {
  act?: string;
  untied?: boolean;
  noPrefix?: boolean;
}

export function makeRandomCheckpoint(spec: RandomSpec, dir = tmpDir('ckpt')): string {
  return makeRandomWith(SCRIPT, spec, ['--act', spec.act ?? 'gelu_new', ...(spec.untied ? ['--untied'] : []), ...(spec.noPrefix ? ['--no-prefix'] : [])], dir);
}

/** Runs the GPT-2 reference forward on [batch][pos] token ids; returns every hook point and `logits`. */
export function referenceActivations(modelDir: string, batch: number[][], interventions: Intervention[] = []): Map<string, TensorData> {
  return forwardWith(SCRIPT, modelDir, batch, interventions);
}

/** `--intervene HOOK KEEP ADD` arguments for a reference's forward, with keep/add written as .npy files into `dir`. */
export function interventionArgs(dir: string, interventions: Intervention[]): string[] {
  return interventions.flatMap((iv, i) => {
    const [keep, add] = ['keep', 'add'].map((k) => path.join(dir, `_iv${i}.${k}.bin`));
    fs.writeFileSync(keep, encodeNpy(iv.keep));
    fs.writeFileSync(add, encodeNpy(iv.add));
    return ['--intervene', iv.hook, keep, add];
  });
}

export function readNpyDir(dir: string): Map<string, TensorData> {
  const m = new Map<string, TensorData>();
  for (const f of fs.readdirSync(dir)) if (f.endsWith('.npy')) m.set(f.slice(0, -4), decodeNpy(fs.readFileSync(path.join(dir, f))));
  return m;
}

/** Largest absolute difference; equal infinities (masked scores) count as 0, any NaN as Infinity. */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i], y = b[i];
    if (x === y) continue;
    const d = Math.abs(x - y);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Every reference tensor (logits included) against a trace's: the names that differ by more than 1e-4 (or are missing or misshapen). */
export function referenceMismatches(ref: Map<string, TensorData>, trace: { logits: TensorData; cache: { has(n: string): boolean; get(n: string): TensorData } }): [string, number][] {
  const bad: [string, number][] = [];
  for (const [name, want] of ref) {
    const mine = name === 'logits' ? trace.logits : trace.cache.has(name) ? trace.cache.get(name) : undefined;
    const d = mine && mine.dims.join() === want.dims.join() ? maxAbsDiff(mine.data, want.data) : Infinity;
    if (!(d <= 1e-4)) bad.push([name, d]);
  }
  return bad;
}

/** Seeded token ids in [0, vocab). */
export function randomTokens(rows: number, len: number, vocab: number, seed: number): number[][] {
  let s = seed >>> 0 || 1;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return Array.from({ length: rows }, () => Array.from({ length: len }, () => Math.floor(next() * vocab)));
}

/** The reference's denoising patching sweep with the logit-difference metric. */
export function referencePatching(modelDir: string, clean: number[], corrupted: number[], target: string, answer: number, counterfactual: number): { values: number[][]; clean: number; corrupted: number } {
  const out = execFileSync(PYTHON, [SCRIPT, 'patch', '--model', modelDir, '--clean', clean.join(','), '--corrupted', corrupted.join(','), '--target', target,
    '--answer', String(answer), '--counterfactual', String(counterfactual)], { env: pyEnv, encoding: 'utf8' });
  return JSON.parse(out);
}

/** The reference's direct logit attribution at the last position. */
export function referenceAttribution(modelDir: string, ids: number[], answer: number, counterfactual?: number): { values: number[]; heads: number[][] } {
  const args = [SCRIPT, 'dla', '--model', modelDir, '--tokens', ids.join(','), '--answer', String(answer)];
  if (counterfactual !== undefined) args.push('--counterfactual', String(counterfactual));
  return JSON.parse(execFileSync(PYTHON, args, { env: pyEnv, encoding: 'utf8' }));
}
