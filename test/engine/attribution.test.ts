/** Direct logit attribution: sums to the logit difference, and matches the PyTorch reference. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { openModel } from '../helpers/engine';
import { tokensFromIds } from '../../src/engine/model';
import { directLogitAttribution } from '../../src/engine/analysis/attribution';
import { makeRandomCheckpoint, referenceAttribution } from '../helpers/reference';

for (const spec of [
  { layers: 3, dModel: 48, heads: 4, dMlp: 96, vocab: 150, ctx: 16, dtype: 'F32' as const, seed: 71 },
  { layers: 2, dModel: 32, heads: 2, dMlp: 64, vocab: 90, ctx: 16, dtype: 'BF16' as const, untied: true, seed: 72 },
]) {
  test(`attribution sums to the logit difference and matches the reference (${spec.dtype}${spec.untied ? ', untied' : ''})`, async () => {
    const dir = makeRandomCheckpoint(spec);
    const ids = [5, 9, 2, 33, 17, 8];
    const ref = referenceAttribution(dir, ids, 11, 12);
    const engine = await openModel(dir);
    try {
      const r = await directLogitAttribution(engine, tokensFromIds(engine.ckpt, ids), { answer: 11, counterfactual: 12 });
      const sum = r.values.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - r.logitDiff) <= 1e-4, `sum ${sum} vs logit difference ${r.logitDiff}`);
      assert.ok(Math.abs(r.logitDiff) > 0.1);
      assert.equal(r.labels.length, 2 + 2 * spec.layers + 1);
      ref.values.forEach((v, i) => assert.ok(Math.abs(r.values[i] - v) <= 1e-4, `${r.labels[i]}: ${r.values[i]} vs ${v}`));
      ref.heads.flat().forEach((v, i) => assert.ok(Math.abs(r.heads[i] - v) <= 1e-4, `head ${i}`));
    } finally {
      await engine.dispose();
    }
  });
}
