/**
 * Drives the independent edge-attribution reference (test/reference/eap_reference.py): edge scores by
 * autograd and edge-ablated metrics, on a GPT-2 checkpoint and one clean/corrupted pair.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeNpy, encodeNpy } from '../../src/protocol/npy';
import { PYTHON, ROOT, tmpDir } from './reference';

const SCRIPT = path.join(ROOT, 'test', 'reference', 'eap_reference.py');
const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };

export interface ReferencePair {
  model: string;
  clean: number[];
  corrupted: number[];
  answer: number;
  counterfactual: number;
}

const pairArgs = (p: ReferencePair) => ['--model', p.model, '--clean', p.clean.join(','), '--corrupted', p.corrupted.join(','), '--answer', String(p.answer), '--counterfactual', String(p.counterfactual)];

/** The reference's edge scores (our edge order) and its clean / corrupted logit differences. */
export function referenceEdgeScores(p: ReferencePair, method: 'eap' | 'eapIg', steps = 16): { scores: Float32Array; clean: number; corrupted: number; edges: number } {
  const out = tmpDir('eap');
  const json = JSON.parse(execFileSync(PYTHON, [SCRIPT, 'scores', ...pairArgs(p), '--method', method, '--steps', String(steps), '--out', out], { env, encoding: 'utf8' }));
  const t = decodeNpy(new Uint8Array(fs.readFileSync(path.join(out, 'scores.npy'))));
  return { scores: Float32Array.from(t.data), ...json };
}

/** The reference's logit differences: full model, every edge ablated, only `kept` edges kept. */
export function referenceEdgeCircuit(p: ReferencePair, kept: Uint8Array, ablation: 'patch' | 'zero' | 'mean'): { full: number; none: number; circuit: number } {
  const dir = tmpDir('eap-kept');
  const file = path.join(dir, 'kept.npy');
  fs.writeFileSync(file, encodeNpy({ dims: [kept.length], data: Float32Array.from(kept) }));
  return JSON.parse(execFileSync(PYTHON, [SCRIPT, 'ablate', ...pairArgs(p), '--kept', file, '--ablation', ablation], { env, encoding: 'utf8' }));
}
