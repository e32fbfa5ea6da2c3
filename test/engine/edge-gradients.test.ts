/**
 * Edge attribution's gradients a chunk of layers at a time (src/engine/analysis/edge-gradients.ts): a
 * gradient run that splits only some layers' inputs gives those layers' split-input gradients equal to
 * the run that splits every layer, and EAP / EAP-IG scores from one-layer chunks equal the single run's.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { withModel } from '../helpers/engine';
import { tokensFromIds } from '../../src/engine/model';
import { splitInputHooks } from '../../src/engine/hooks';
import { makeRandomCheckpoint } from '../helpers/reference';
import { edgeAttribution } from '../../src/engine/analysis/edge-attribution';
import { layerChunks, splitLayerBytes } from '../../src/engine/analysis/edge-gradients';
import { parseConfig } from '../../src/engine/config';

const SHAPE = { layers: 3, dModel: 32, heads: 4, dMlp: 64, vocab: 60, ctx: 24, dtype: 'F32' as const, seed: 161 };
const CLEAN = [59, 4, 17, 33, 8, 21, 4, 17];
const CORRUPTED = [59, 4, 17, 12, 8, 21, 40, 17];
const METRIC = { kind: 'logitDiff' as const, answer: 17, counterfactual: 40 };

/** max |a - b| over max |b|. */
function relativeDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  let largest = 0;
  for (let i = 0; i < b.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    largest = Math.max(largest, Math.abs(b[i]));
  }
  assert.ok(largest > 1e-3, `not vacuous (largest ${largest})`);
  return worst / largest;
}

test('layer chunks: every layer in one run at 64 tokens of GPT-2 small, four layers a run at 512, one when the bound is below a layer', () => {
  const c = parseConfig({ model_type: 'gpt2', n_layer: 12, n_embd: 768, n_head: 12, n_positions: 1024, vocab_size: 50257 }, 'config.json');
  assert.deepEqual(layerChunks(c, 64, 2 ** 30), [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]]);
  assert.deepEqual(layerChunks(c, 512, 2 ** 30), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]);
  assert.equal(layerChunks(c, 512, 1).length, 12);
  assert.ok(splitLayerBytes(c, 512) === 8 * splitLayerBytes(c, 64));
});

test('a gradient run splitting only layer 1 gives the same split-input gradients at layer 1 as the run splitting every layer', async () => {
  const dir = makeRandomCheckpoint(SHAPE);
  await withModel(dir, async (m) => {
    const all = splitInputHooks(m.ckpt.config);
    const layer1 = all.filter((h) => h.name.startsWith('blocks.1.'));
    const tokens = [tokensFromIds(m.ckpt, CLEAN)];
    const whole = await m.trace(tokens, { logits: 'last', grad: { metric: METRIC, hooks: all } });
    const part = await m.trace(tokens, { logits: 'last', grad: { metric: METRIC, hooks: layer1 } });
    for (const h of layer1) {
      assert.deepEqual(part.grads!.get(h.name).dims, whole.grads!.get(h.name).dims);
      const rel = relativeDiff(part.grads!.get(h.name).data, whole.grads!.get(h.name).data);
      assert.ok(rel <= 1e-6, `${h.name}: ${rel}`);
    }
    assert.ok(!part.grads!.has('blocks.0.hook_q_input'), 'only the asked layer');
  });
});

for (const method of ['eap', 'eapIg'] as const) {
  test(`${method} scores from one-layer gradient runs equal the single run's within 1e-6 of the largest`, async () => {
    const dir = makeRandomCheckpoint({ ...SHAPE, seed: method === 'eap' ? 162 : 163 });
    await withModel(dir, async (m) => {
      const pair = { clean: tokensFromIds(m.ckpt, CLEAN), corrupted: tokensFromIds(m.ckpt, CORRUPTED), metric: METRIC };
      const opts = { method, steps: 4, topN: 20, ablation: 'patch' as const };
      const single = await edgeAttribution(m, [pair, pair], opts);
      const chunked = await edgeAttribution(m, [pair, pair], { ...opts, gradientRunBytes: 1 });
      assert.deepEqual(single.gradientChunks, [[0, 1, 2]]);
      assert.deepEqual(chunked.gradientChunks, [[0], [1], [2]]);
      const rel = relativeDiff(chunked.scores, single.scores);
      assert.ok(rel <= 1e-6, `relative difference ${rel}`);
      assert.equal(chunked.backwards, 2 * (method === 'eap' ? 3 : 4 * 3));
      assert.deepEqual(chunked.kept, single.kept);
    });
  });
}
