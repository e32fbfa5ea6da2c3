/**
 * Drives the autograd reference (test/reference/grad_reference.py) from tests, and compares a trace's
 * gradients with it hook by hook, each relative to that hook's largest reference gradient.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Intervention } from '../../src/protocol/runner';
import type { TensorData } from '../../src/protocol/tensor';
import type { Trace } from '../../src/engine/tracer';
import type { GradMetric } from '../../src/engine/analysis/metrics';
import { PYTHON, ROOT, interventionArgs, readNpyDir, tmpDir } from './reference';

const SCRIPT = path.join(ROOT, 'test', 'reference', 'grad_reference.py');
const FAMILIES: Record<string, string> = { gpt2: 'gpt2', gpt_neox: 'neox', llama: 'llama', mistral: 'llama', qwen2: 'llama', qwen3: 'llama', olmo2: 'llama', phi3: 'phi3', gpt_neo: 'gptneo', gemma2: 'gemma', gemma3_text: 'gemma', gemma3: 'gemma' };
const pyEnv = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', OMP_WAIT_POLICY: 'PASSIVE' };

/** The reference's METRIC argument for an engine metric (last position only). */
export function referenceMetric(m: GradMetric): string {
  if (m.kind === 'logit') return `logit:${m.token}`;
  if (m.kind === 'logitDiff') return `logitdiff:${m.answer},${m.counterfactual}`;
  if (m.kind === 'loss') return 'loss';
  throw new Error(`no reference for ${m.kind}`);
}

/** Autograd gradients at every hook point (`<hook>_grad`), `logits` and `metric`. */
export function referenceGradients(modelDir: string, batch: number[][], metric: GradMetric, interventions: Intervention[] = []): Map<string, TensorData> {
  const modelType = (JSON.parse(fs.readFileSync(path.join(modelDir, 'config.json'), 'utf8')) as { model_type: string }).model_type;
  const out = tmpDir('grad-ref');
  execFileSync(PYTHON, [SCRIPT, '--family', FAMILIES[modelType], '--model', modelDir, '--tokens', batch.map((r) => r.join(',')).join(';'),
    '--metric', referenceMetric(metric), '--out', out, ...interventionArgs(out, interventions)], { env: pyEnv, stdio: 'pipe' });
  return readNpyDir(out);
}

/**
 * [hook, relative error] of each gradient whose largest difference from the reference exceeds
 * `tolerance` times the reference's largest magnitude at that hook (shape mismatches and NaNs included).
 */
export function gradientMismatches(trace: Trace, ref: Map<string, TensorData>, tolerance: number): [string, number | string][] {
  const bad: [string, number | string][] = [];
  for (const name of trace.grads!.names()) {
    const mine = trace.grads!.get(name);
    const theirs = ref.get(`${name}_grad`);
    if (!theirs) {
      bad.push([name, 'not in the reference']);
      continue;
    }
    if (mine.dims.join() !== theirs.dims.join()) {
      bad.push([name, `shape [${mine.dims}] vs [${theirs.dims}]`]);
      continue;
    }
    let scale = 0, diff = 0;
    for (let i = 0; i < mine.data.length; i++) {
      scale = Math.max(scale, Math.abs(theirs.data[i]));
      const d = Math.abs(mine.data[i] - theirs.data[i]);
      diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
    }
    if (!(diff <= tolerance * scale)) bad.push([name, scale === 0 ? `${diff} against a zero gradient` : diff / scale]);
  }
  return bad;
}
