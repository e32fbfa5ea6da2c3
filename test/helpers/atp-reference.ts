/**
 * Drives test/reference/atp_reference.py (torch autograd on the GPT-2 reference): attribution-patching
 * estimates, exact patching and input integrated gradients, each as parsed JSON.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { PYTHON, ROOT } from './reference';

const SCRIPT = path.join(ROOT, 'test', 'reference', 'atp_reference.py');
const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', OMP_WAIT_POLICY: 'PASSIVE' };

export type RefMetric = { kind: 'logitDiff'; answer: number; counterfactual: number } | { kind: 'answerProb'; answer: number } | { kind: 'loss' };

function metricArgs(m: RefMetric): string[] {
  return ['--metric', m.kind, ...('answer' in m ? ['--answer', String(m.answer)] : []), ...('counterfactual' in m ? ['--counterfactual', String(m.counterfactual)] : [])];
}

export interface RefPatching {
  /** [layer][unit] */
  values: number[][];
  clean: number;
  corrupted: number;
}

export interface RefAtpArgs {
  model: string;
  clean: number[];
  corrupted: number[];
  target: string;
  metric: RefMetric;
  direction?: 'denoise' | 'noise';
  method?: 'atp' | 'atpStar' | 'integratedGradients';
  steps?: number;
}

function atpArgs(a: RefAtpArgs): string[] {
  return ['--model', a.model, '--clean', a.clean.join(','), '--corrupted', a.corrupted.join(','), '--target', a.target, '--direction', a.direction ?? 'denoise',
    '--method', a.method ?? 'atp', '--steps', String(a.steps ?? 16), ...metricArgs(a.metric)];
}

const run = (args: string[]) => JSON.parse(execFileSync(PYTHON, [SCRIPT, ...args], { env, stdio: 'pipe', maxBuffer: 64 << 20 }).toString());

/** The reference's estimate on every layer x unit. */
export const referenceAtp = (a: RefAtpArgs): RefPatching => run(['atp', ...atpArgs(a)]);

/** The reference's exact activation patching (one forward per cell). */
export const referenceExact = (a: RefAtpArgs): RefPatching => run(['exact', ...atpArgs(a)]);

/** The reference's input integrated gradients: per-token attributions, M(x) and M(baseline). */
export function referenceInputIg(model: string, tokens: number[], metric: RefMetric, steps: number, baseline?: number[]): { values: number[]; metric: number; baselineMetric: number } {
  return run(['input-ig', '--model', model, '--tokens', tokens.join(','), '--steps', String(steps), ...metricArgs(metric), ...(baseline ? ['--baseline', baseline.join(',')] : [])]);
}
