/**
 * Gradients through attached dictionaries spliced into the forward (TopK, JumpReLU, gated and norm-rescaled
 * encoders: TopK, ScatterElements, Where, Relu, ReduceL2 in the graph; TopK decodes densely when its activations' gradient is asked for), checked by central finite differences of the metric
 * along the gradient's own direction, the perturbation applied as a steering intervention at the hook:
 * (M(x + eps v) - M(x - eps v)) / 2 eps = <grad, v> for a unit v, within 0.2% (eps 1e-3: fp32 rounding and curvature both below that). The
 * dictionaries' forward itself is checked against the reference in sae-graph-reference.test.ts. A whole
 * cross-layer transcoder spliced (each target's prediction summing every earlier layer's features: MatMul
 * and Split in the graph) is checked the same way at each layer's features and at a source's input hook.
 */
import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { openCheckpoint, tokensFromIds } from '../../src/engine/model';
import { openAttachable, openDictionary } from '../../src/engine/sae';
import { LoadedModel } from '../../src/worker/loaded-model';
import type { GradMetric } from '../../src/engine/analysis/metrics';
import { SCAN_WORKER } from '../helpers/engine';
import { makeRandomCheckpoint, randomTokens } from '../helpers/reference';
import { runReferenceJobs, tmpDir } from '../helpers/sae-reference';

const shape = { layers: 2, dModel: 48, heads: 4, dMlp: 96, vocab: 256, ctx: 32, dtype: 'F32' as const };
const model = makeRandomCheckpoint({ ...shape, seed: 31 });
const ids = randomTokens(2, 8, shape.vocab, 33);
const root = tmpDir('sae-grad');

const CASES = [
  { name: 'topk at resid_post', make: ['--architecture', 'topk', '--k', '6'], hook: 'blocks.0.hook_resid_post' },
  { name: 'jumprelu on hook_z', make: ['--architecture', 'jumprelu', '--hook', 'blocks.1.attn.hook_z'], hook: 'blocks.1.attn.hook_z' },
  { name: 'gated at resid_pre', make: ['--architecture', 'gated'], hook: 'blocks.1.hook_resid_pre' },
  { name: 'standard with constant_norm_rescale at resid_mid', make: ['--normalize', 'constant_norm_rescale'], hook: 'blocks.0.hook_resid_mid' },
];

before(() => {
  runReferenceJobs([
    ...CASES.map((c, i) => ['make-random', '--format', 'saelens', ...c.make, '--d-in', '48', '--d-sae', '40', '--out', path.join(root, `sae${i}`), '--seed', String(40 + i)]),
    ['make-random', '--format', 'circuit-tracer-clt', '--activation', 'jumprelu', '--layers', String(shape.layers), '--d-in', '48', '--d-sae', '40', '--out', path.join(root, 'clt'), '--seed', '45'],
  ]);
});

/** Each hook's gradient against the central finite difference of the metric along it, on a loaded model. */
async function checkAgainstFiniteDifferences(m: LoadedModel, names: readonly string[]): Promise<void> {
  const batch = ids.map((r) => tokensFromIds(m.ckpt, r));
  const metric: GradMetric = { kind: 'logitDiff', answer: 3, counterfactual: 9 };
  const hooks = m.hooks.filter((h) => names.includes(h.name));
  assert.equal(hooks.length, names.length);
  const trace = await m.trace(batch, { grad: { metric, hooks } });
  for (const name of names) {
    const grad = trace.grads!.get(name);
    const norm = Math.sqrt(grad.data.reduce((s, x) => s + x * x, 0));
    assert.ok(norm > 0, `${name} has a gradient`);
    const total = async (eps: number) => {
      const add = { dims: grad.dims, data: grad.data.map((x) => (eps * x) / norm) };
      const t = await m.trace(batch, { logits: 'last', interventions: [{ hook: name, keep: { dims: [1], data: new Float32Array([1]) }, add }] });
      const v = t.logits.data;
      const vocab = shape.vocab;
      return Array.from({ length: ids.length }, (_, b) => v[b * vocab + 3] - v[b * vocab + 9]).reduce((s, x) => s + x, 0);
    };
    const eps = 1e-3;
    const fd = ((await total(eps)) - (await total(-eps))) / (2 * eps);
    assert.ok(Math.abs(fd - norm) <= 2e-3 * norm, `${name}: finite difference ${fd}, gradient norm ${norm}`);
  }
}

for (const [i, c] of CASES.entries()) {
  test(`gradients through a spliced dictionary match finite differences: ${c.name}`, async () => {
    const dict = openDictionary(path.join(root, `sae${i}`), { hook: c.hook });
    const m = await LoadedModel.open(openCheckpoint(model), { session: { threads: 1 }, scanWorkerPath: SCAN_WORKER, saes: [{ dict, mode: 'splice' }] });
    try {
      await checkAgainstFiniteDifferences(m, ['hook_embed', `${c.hook}.hook_sae_acts_post`, c.hook]);
    } finally {
      await m.dispose();
    }
  });
}

test('gradients through a spliced cross-layer transcoder match finite differences at every layer\'s features', async () => {
  const ckpt = openCheckpoint(model);
  const saes = openAttachable(path.join(root, 'clt'), { modelHooks: ckpt.hooks }).map((dict) => ({ dict, mode: 'splice' as const }));
  const m = await LoadedModel.open(ckpt, { session: { threads: 1 }, scanWorkerPath: SCAN_WORKER, saes });
  try {
    await checkAgainstFiniteDifferences(m, ['hook_embed', ...saes.map(({ dict: d }) => `${d.hookIn}.hook_sae_acts_post`), 'blocks.0.ln2.hook_normalized']);
  } finally {
    await m.dispose();
  }
});
