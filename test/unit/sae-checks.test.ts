/** The self-check's figures and mis-load warnings, on hand-made cases with known answers. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { misloadSignals, reconstructionStats } from '../../src/engine/sae/checks';
import type { SparseDictionary } from '../../src/engine/sae/types';

const ref = { name: 'x', dtype: 'F32' as const, shape: [8], location: 'x', offset: 0, length: 32 };
const dict = (activation: SparseDictionary['activation'], dSae = 8): SparseDictionary => ({
  format: 'saelens', dir: '/d', kind: 'sae', architecture: activation.kind === 'topk' ? 'topk' : 'standard', activation, dIn: 2, dSae, dOut: 2,
  hookIn: 'blocks.0.hook_resid_post', hookSource: 'config', encoder: { w: ref, layout: 'in-out' }, decoder: { w: ref, layout: 'in-out' },
  applyBDecToInput: true, normalization: { kind: 'none' }, rescaleActsByDecoderNorm: false, reshapeActivations: 'none', notes: [],
  source: { weights: { dataDir: '/d' }, memory: new Map() },
});

test('reconstructionStats: FVU against the sample mean, per-row cosine, L0 and dead features', () => {
  const y = Float32Array.from([1, 0, 0, 1, 1, 1]); // [3, 2]
  const perfect = reconstructionStats(y, y, Float32Array.from([1, 0, 0, 0, 2, 0, 0, 0, 0, 3, 0, 0]), 3, 2, 4);
  assert.equal(perfect.fvu, 0);
  assert.ok(Math.abs(perfect.cosine - 1) < 1e-12);
  assert.equal(perfect.l0, 1);
  assert.equal(perfect.deadFraction, 0.5);
  const mean = reconstructionStats(y, Float32Array.from([2 / 3, 2 / 3, 2 / 3, 2 / 3, 2 / 3, 2 / 3]), new Float32Array(12), 3, 2, 4);
  assert.ok(Math.abs(mean.fvu - 1) < 1e-6, 'predicting the mean explains nothing');
  assert.equal(mean.l0, 0);
});

test('misloadSignals: each bar with its likely cause, nothing for a healthy dictionary', () => {
  const healthy = { n: 100, fvu: 0.1, cosine: 0.95, l0: 3, deadFraction: 0.1 };
  assert.deepEqual(misloadSignals(healthy, dict({ kind: 'relu' })), []);
  const causes = (s: typeof healthy, d: SparseDictionary, published = {}) => misloadSignals(s, d, published).map((w) => `${w.metric}:${w.likelyCause}`);
  assert.deepEqual(causes({ ...healthy, fvu: 0.7, cosine: 0.5 }, dict({ kind: 'relu' })), ['fvu:hook', 'cosine:hook']);
  assert.deepEqual(causes({ ...healthy, l0: 0.2 }, dict({ kind: 'relu' })), ['l0:normalisation']);
  assert.deepEqual(causes({ ...healthy, l0: 5 }, dict({ kind: 'relu' })), ['l0:architecture']);
  assert.deepEqual(causes({ ...healthy, l0: 3 }, dict({ kind: 'topk', k: 2, semantics: 'saelens' })), ['topk_l0:architecture']);
  assert.deepEqual(causes({ ...healthy, l0: 3 }, dict({ kind: 'relu' }, 100), { l0: 20 }), ['expected_l0:normalisation']);
  assert.deepEqual(causes({ ...healthy, l0: 45 }, dict({ kind: 'relu' }, 100), { l0: 20 }), ['expected_l0:architecture']);
  const normalised = { ...dict({ kind: 'relu' }), normalization: { kind: 'layer_norm' as const, eps: 1e-5 } };
  assert.deepEqual(causes({ ...healthy, fvu: 0.9 }, normalised), ['fvu:normalisation']);
});
