/**
 * The engine against the independent PyTorch reference on random-weight GPT-2 checkpoints: logits and
 * every hook point (per-head results included) within 1e-4, across layer counts, head sizes,
 * vocabularies, F32/F16/BF16 weights, tied and untied unembeddings, activations and name prefixes.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { openModel } from '../helpers/engine';
import { tokensFromIds } from '../../src/engine/model';
import { RandomSpec, makeRandomCheckpoint, maxAbsDiff, randomTokens, referenceActivations } from '../helpers/reference';

const TOLERANCE = 1e-4;

const CASES: RandomSpec[] = [
  { layers: 2, dModel: 64, heads: 4, dMlp: 256, vocab: 500, ctx: 64, dtype: 'F32', seed: 1 },
  { layers: 3, dModel: 96, heads: 6, dMlp: 200, vocab: 1000, ctx: 40, dtype: 'F16', untied: true, seed: 2 },
  { layers: 1, dModel: 32, heads: 1, dMlp: 64, vocab: 300, ctx: 24, dtype: 'BF16', noPrefix: true, act: 'gelu', seed: 3 },
  { layers: 4, dModel: 48, heads: 3, dMlp: 96, vocab: 777, ctx: 32, dtype: 'F32', act: 'relu', seed: 4 },
];

for (const spec of CASES) {
  const label = `L${spec.layers} d${spec.dModel} h${spec.heads} V${spec.vocab} ${spec.dtype}${spec.untied ? ' untied' : ''}${spec.noPrefix ? ' no-prefix' : ''} ${spec.act ?? 'gelu_new'}`;
  test(`matches the PyTorch reference on every hook point: ${label}`, async () => {
    const dir = makeRandomCheckpoint(spec);
    const ids = randomTokens(2, Math.min(spec.ctx, 19), spec.vocab, spec.seed);
    const ref = referenceActivations(dir, ids);
    const engine = await openModel(dir);
    try {
      const batch = ids.map((row) => tokensFromIds(engine.ckpt, row));
      const trace = await engine.trace(batch, { hooks: engine.ckpt.hooks });
      const expectedHooks = 17 * spec.layers + 4 + spec.layers; // 17 per block, 4 outside, hook_result per block
      assert.equal(trace.cache.names().length, expectedHooks);
      const worst: [string, number][] = [];
      for (const name of ['logits', ...trace.cache.names()]) {
        const mine = name === 'logits' ? trace.logits : trace.cache.get(name);
        const theirs = ref.get(name);
        assert.ok(theirs, `reference has no ${name}`);
        assert.deepEqual(mine.dims, theirs.dims, `${name} shape`);
        worst.push([name, maxAbsDiff(mine.data, theirs.data)]);
      }
      const bad = worst.filter(([, d]) => !(d <= TOLERANCE));
      assert.deepEqual(bad, [], `hook points beyond ${TOLERANCE}: ${JSON.stringify(bad)}`);
      // The comparison is not vacuous: the activations are far from zero and differ between hooks.
      assert.ok(Math.max(...trace.logits.data.map(Math.abs)) > 1);
    } finally {
      await engine.dispose();
    }
  });
}
