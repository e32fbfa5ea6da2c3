/**
 * Activation patching against the PyTorch reference (one hooked forward per unit there, batched runs
 * here), and the identities: patching an activation that equals the receiving run's own gives exactly
 * 0 (denoising) or exactly 1 (noising).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { openModel } from '../helpers/engine';
import { tokensFromIds } from '../../src/engine/model';
import { activationPatching, PATCH_TARGETS } from '../../src/engine/analysis/patching';
import { EngineError } from '../../src/engine/errors';
import { makeRandomCheckpoint, referencePatching } from '../helpers/reference';

const dir = makeRandomCheckpoint({ layers: 3, dModel: 32, heads: 4, dMlp: 64, vocab: 120, ctx: 16, dtype: 'F32', seed: 51 });
// Same first four tokens; they differ from position 4 on.
const clean = [7, 3, 9, 1, 50, 60, 70, 80];
const corrupted = [7, 3, 9, 1, 51, 61, 71, 80];
const metric = { kind: 'logitDiff' as const, answer: 5, counterfactual: 6 };

for (const target of PATCH_TARGETS) {
  test(`${target} patching matches the reference within 1e-4`, async () => {
    const ref = referencePatching(dir, clean, corrupted, target, 5, 6);
    const engine = await openModel(dir);
    try {
      const r = await activationPatching(engine, tokensFromIds(engine.ckpt, clean), tokensFromIds(engine.ckpt, corrupted), { target, metric, maxPatchBytes: 20_000 });
      assert.ok(Math.abs(r.clean - ref.clean) < 1e-4 && Math.abs(r.corrupted - ref.corrupted) < 1e-4);
      assert.ok(Math.abs(r.clean - r.corrupted) > 0.05, 'the prompts are told apart');
      assert.deepEqual([r.layers.length, r.units.length], [ref.values.length, ref.values[0].length]);
      ref.values.flat().forEach((v, i) => assert.ok(Math.abs(r.values[i] - v) <= 1e-4, `${r.layers[Math.floor(i / r.units.length)]}/${r.units[i % r.units.length]}: ${r.values[i]} vs ${v}`));
    } finally {
      await engine.dispose();
    }
  });
}

test('identities: an unchanged activation patches to exactly 0 (denoise) or 1 (noise)', async () => {
  const engine = await openModel(dir);
  try {
    const [c, k] = [clean, corrupted].map((ids) => tokensFromIds(engine.ckpt, ids));
    for (const direction of ['denoise', 'noise'] as const) {
      const r = await activationPatching(engine, c, k, { target: 'resid_pre', metric, direction });
      const expected = direction === 'denoise' ? 0 : 1;
      for (let l = 0; l < 3; l++) for (let p = 0; p < 4; p++) assert.equal(r.values[l * 8 + p], expected, `layer ${l} pos ${p} ${direction}`);
      // At the last position of the last layer's input, the patched unit carries everything that differs there.
      assert.ok(Math.abs(r.values[2 * 8 + 7] - expected) > 1e-3);
    }
  } finally {
    await engine.dispose();
  }
});

test('EXPECTED FAILURE - prompts of different lengths', async () => {
  const engine = await openModel(dir);
  try {
    await assert.rejects(activationPatching(engine, tokensFromIds(engine.ckpt, [1, 2, 3]), tokensFromIds(engine.ckpt, [1, 2]), { target: 'resid_pre', metric }),
      (e: unknown) => e instanceof EngineError && /3 tokens and the corrupted one 2.*equal lengths/.test(e.message));
  } finally {
    await engine.dispose();
  }
});
