/**
 * `circuit-lens bench --grad`: the backward pass on GPT-2-small-shaped random weights (1 x --pos tokens,
 * default 64): one plain forward, the forward caching every hook, and forward + backward with gradients at
 * resid_pre, attn_out, mlp_out and hook_z of every layer (logit difference at the last position, and the
 * loss over every position), measured in one run; the gradients' bytes against the full cache's, and the
 * peak anonymous memory each run adds, in a child process of its own (child-memory.ts).
 */
import * as path from 'node:path';
import { tokensFromIds } from '../engine/model';
import type { GradMetric } from '../engine/analysis/metrics';
import { parse } from '../cli/args';
import { childMeasured, measureChild } from './child-memory';
import { openBenchModel } from './open-model';
import { interleavedMedians } from './timing';
import { benchSetup, randomModel } from './setup';

const USAGE = 'circuit-lens bench --grad [--threads N] [--repeats N] [--pos N] [--in-place] [--python PATH]';
/** The runs whose memory is measured, each in a process of its own (one session, weights mapped once). */
const MEMORY_CASES = ['forward, last logits', 'forward, full cache', 'forward + backward, logit difference', 'forward + backward, loss'] as const;
const REFERENCE = path.join(__dirname, '..', 'test', 'reference', 'gpt2_reference.py');
const SHAPE = ['--layers', '12', '--d-model', '768', '--heads', '12', '--d-mlp', '3072', '--vocab', '50257', '--ctx', '1024'];

export async function benchGrad(argv: string[]): Promise<void> {
  const { values } = parse(argv, { threads: { type: 'string' }, repeats: { type: 'string' }, pos: { type: 'string' }, python: { type: 'string' }, 'in-place': { type: 'boolean' }, 'memory-case': { type: 'string' } }, USAGE);
  const setup = benchSetup({ ...values, pos: values.pos ?? '64' }, REFERENCE, 5, 1024);
  const modelDir = randomModel(setup, 'gpt2-small-random', 'GPT-2-small-shaped', SHAPE);
  const engine = await openBenchModel(modelDir, { threads: setup.threads, prepack: !values['in-place'] && values['memory-case'] === undefined });
  try {
    const ids = Array.from({ length: setup.pos }, (_, i) => (i * 7919) % 50257);
    const batch = [tokensFromIds(engine.ckpt, ids)];
    const allHooks = engine.ckpt.hooks.filter((h) => !h.needsAttnResult);
    const gradHooks = engine.ckpt.hooks.filter((h) => /^blocks\.\d+\.(hook_resid_pre|hook_attn_out|hook_mlp_out|attn\.hook_z)$/.test(h.name));
    const metrics: [string, GradMetric, 'last' | 'all'][] = [['logit difference, last position', { kind: 'logitDiff', answer: 11, counterfactual: 13 }, 'last'], ['loss, every position', { kind: 'loss' }, 'all']];
    const runs = [
      () => engine.trace(batch, { logits: 'last' }),
      () => engine.trace(batch),
      () => engine.trace(batch, { hooks: allHooks }),
      ...metrics.map(([, metric, logits]) => () => engine.trace(batch, { logits, grad: { metric, hooks: gradHooks } })),
    ];
    if (values['memory-case'] !== undefined) {
      const run = [runs[0], runs[2], runs[3], runs[4]][Number(values['memory-case'])];
      return await childMeasured(async () => void (await run()));
    }
    const full = await runs[2]();
    const gradBytes = await Promise.all(metrics.map(async (_, i) => (await runs[3 + i]()).grads!.byteSize()));
    const [lastMs, forwardMs, fullMs, ...gradMs] = await interleavedMedians(setup.repeats, runs);
    const fullBytes = full.cache.byteSize();
    const forwardOf = [lastMs, forwardMs];
    console.log(`GPT-2-small-shaped random weights, 1x${setup.pos} tokens, ${setup.threads} thread(s), weights ${values['in-place'] ? 'in place' : 'prepacked'}, medians of ${setup.repeats} interleaved rounds`);
    console.log(`one forward: ${lastMs.toFixed(1)} ms (last position's logits), ${forwardMs.toFixed(1)} ms (every position's); with the full cache (${allHooks.length} hooks): ${fullMs.toFixed(1)} ms, ${(fullBytes / 2 ** 20).toFixed(1)} MB`);
    metrics.forEach(([label], i) => console.log(`forward + backward (${label}, ${gradHooks.length} gradients): ${gradMs[i].toFixed(1)} ms = ${(gradMs[i] / forwardOf[i]).toFixed(2)}x the same forward; gradients ${(gradBytes[i] / 2 ** 20).toFixed(1)} MB = ${(gradBytes[i] / fullBytes).toFixed(3)}x the full cache`));
  } finally {
    await engine.dispose();
  }
  if (values['memory-case'] !== undefined) return;
  // Each run in a process of its own, weights in place: the peak anonymous memory it added (arena, outputs), sampled from outside.
  const mb: number[] = [];
  for (const c of MEMORY_CASES.keys()) {
    const m = await measureChild(['--grad', '--memory-case', String(c), '--pos', String(setup.pos), '--threads', String(setup.threads)]);
    mb.push(Math.max(0, m.peak.pssAnon - m.loaded.pssAnon) / 2 ** 20);
  }
  console.log(`memory a run adds (peak anonymous PSS growth, one run per process, sampled from outside it): ${MEMORY_CASES.map((name, i) => `${name} ${mb[i].toFixed(0)} MB`).join(', ')}; forward + backward / full-cache forward ${(mb[2] / mb[1]).toFixed(2)} (logit difference), ${(mb[3] / mb[1]).toFixed(2)} (loss)`);
}
