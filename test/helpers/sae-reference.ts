/**
 * Drives the sparse-dictionary reference (test/reference/sae_reference.py): random fixtures in each
 * format's layout and the reference's encodings, all in one Python process (a batch of jobs).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeNpy } from '../../src/protocol/npy';
import { PYTHON, ROOT, readNpyDir, tmpDir } from './reference';
import { rng } from './fuzz';

export const SAE_SCRIPT = path.join(ROOT, 'test', 'reference', 'sae_reference.py');
const pyEnv = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };

/** Runs argument lists (make-random ..., encode ...) in one reference process. */
export function runReferenceJobs(jobs: string[][]): void {
  if (jobs.length === 0) return;
  const file = path.join(tmpDir('sae-jobs'), 'jobs.json');
  fs.writeFileSync(file, JSON.stringify(jobs));
  execFileSync(PYTHON, [SAE_SCRIPT, 'batch', '--jobs', file], { env: pyEnv, stdio: 'pipe', cwd: path.dirname(SAE_SCRIPT) });
}

/** Seeded activations [rows, width] (or [layers, rows, width]), roughly N(0.3, 1.5^2), written as .npy. */
export function writeInput(file: string, dims: number[], seed: number): Float32Array {
  const r = rng(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n).map(() => 0.3 + 1.5 * Math.sqrt(-2 * Math.log(1 - r.next())) * Math.cos(2 * Math.PI * r.next()));
  fs.writeFileSync(file, encodeNpy({ dims, data }));
  return data;
}

export { readNpyDir, tmpDir };
