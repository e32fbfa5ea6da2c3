/**
 * Weight processing (foldLn, centerWritingWeights, centerUnembed, foldValueBiases) against a reference
 * that applies TransformerLens' processing formulas to the same random GPT-2 and Llama-style checkpoints
 * (test/reference/processing_reference.py): every hook point and the logits within 1e-4, each option on its
 * own and all four; the logits equal the unprocessed model's up to the per-position constant that
 * centerUnembed removes, in every family; the options a family switches off, with their notes; direct logit
 * attribution still sums to the logit difference.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { openModel } from '../helpers/engine';
import { tokensFromIds } from '../../src/engine/model';
import { directLogitAttribution } from '../../src/engine/analysis/attribution';
import { NO_PROCESSING, PROCESSING_OPTIONS, TRANSFORMERLENS_PROCESSING, WeightProcessing, parseProcessingList, processingLabel } from '../../src/protocol/processing';
import type { LoadedModel } from '../../src/worker/loaded-model';
import { ROOT, forwardWith, makeRandomCheckpoint, maxAbsDiff, randomTokens } from '../helpers/reference';
import { makeFamilyCheckpoint, mismatches } from '../helpers/family-reference';

const TOLERANCE = 1e-4;
const REFERENCE = path.join(ROOT, 'test', 'reference', 'processing_reference.py');

const only = (o: keyof WeightProcessing): WeightProcessing => ({ ...NO_PROCESSING, [o]: true });
const SETS: [string, WeightProcessing][] = [...PROCESSING_OPTIONS.map((o): [string, WeightProcessing] => [o, only(o)]), ['transformerlens', TRANSFORMERLENS_PROCESSING]];

const MODELS: [string, () => string][] = [
  ['GPT-2, tied', () => makeRandomCheckpoint({ layers: 2, dModel: 48, heads: 4, dMlp: 96, vocab: 200, ctx: 32, dtype: 'F32', seed: 81 })],
  ['GPT-2, untied, BF16', () => makeRandomCheckpoint({ layers: 2, dModel: 32, heads: 2, dMlp: 64, vocab: 150, ctx: 32, dtype: 'BF16', untied: true, seed: 82 })],
  ['Qwen2 (q/k/v biases, 6 heads / 2 kv heads), untied', () => makeFamilyCheckpoint({ family: 'llama', layers: 2, dModel: 48, heads: 6, dMlp: 96, vocab: 200, ctx: 32, dtype: 'F32', seed: 83, extra: ['--model-type', 'qwen2', '--kv-heads', '2'] })],
  ['Llama, attention bias, tied, F16', () => makeFamilyCheckpoint({ family: 'llama', layers: 2, dModel: 32, heads: 4, dMlp: 64, vocab: 150, ctx: 32, dtype: 'F16', tied: true, seed: 84, extra: ['--attention-bias', '--kv-heads', '2'] })],
];

async function withProcessed<T>(dir: string, p: WeightProcessing, f: (m: LoadedModel) => Promise<T>): Promise<T> {
  const m = await openModel(dir, { processing: p });
  try {
    return await f(m);
  } finally {
    await m.dispose();
  }
}

/** Largest difference of two [pos, vocab] logit rows after removing each row's mean. */
function centredLogitDiff(a: Float32Array, b: Float32Array, vocab: number): number {
  let worst = 0;
  for (let r = 0; r < a.length / vocab; r++) {
    const ra = a.subarray(r * vocab, (r + 1) * vocab);
    const rb = b.subarray(r * vocab, (r + 1) * vocab);
    const ma = ra.reduce((s, x) => s + x, 0) / vocab;
    const mb = rb.reduce((s, x) => s + x, 0) / vocab;
    for (let i = 0; i < vocab; i++) worst = Math.max(worst, Math.abs(ra[i] - ma - (rb[i] - mb)));
  }
  return worst;
}

for (const [label, make] of MODELS) {
  test(`processed weights match TransformerLens' formulas on every hook point: ${label}`, async () => {
    const dir = make();
    const ids = randomTokens(2, 9, 150, 5);
    const plain = await withProcessed(dir, NO_PROCESSING, (m) => m.trace(ids.map((r) => tokensFromIds(m.ckpt, r))));
    for (const [name, p] of SETS) {
      await withProcessed(dir, p, async (m) => {
        const applied = Object.entries(m.ckpt.processing?.options ?? NO_PROCESSING).filter(([, on]) => on).map(([o]) => o).join(',');
        const trace = await m.trace(ids.map((r) => tokensFromIds(m.ckpt, r)), { hooks: m.ckpt.hooks });
        const ref = forwardWith(REFERENCE, dir, ids, [], ['--processing', applied || 'none']);
        assert.deepEqual(mismatches(trace, ref, TOLERANCE), [], `${name} (applied: ${applied})`);
        const d = centredLogitDiff(trace.logits.data, plain.logits.data, m.ckpt.config.dVocab);
        assert.ok(d <= TOLERANCE, `${name}: logits differ from the unprocessed model's by ${d} beyond a per-position constant`);
        if (!p.centerUnembed) assert.ok(maxAbsDiff(trace.logits.data, plain.logits.data) <= TOLERANCE, `${name}: logits unchanged`);
      });
    }
  });
}

test('processing changes what TransformerLens says it changes: LNPre, centred residual stream, value biases moved into b_O', async () => {
  const dir = makeRandomCheckpoint({ layers: 2, dModel: 32, heads: 4, dMlp: 64, vocab: 100, ctx: 16, dtype: 'F32', seed: 85 });
  const ids = [[3, 14, 15, 92, 65, 35]];
  await withProcessed(dir, TRANSFORMERLENS_PROCESSING, async (m) => {
    const t = await m.trace([tokensFromIds(m.ckpt, ids[0])], { hooks: m.ckpt.hooks });
    const d = m.ckpt.config.dModel;
    for (const hook of ['hook_embed', 'blocks.0.hook_resid_mid', 'blocks.1.hook_attn_out', 'blocks.1.hook_resid_post', 'blocks.0.ln1.hook_normalized']) {
      const x = t.cache.get(hook).data;
      for (let r = 0; r < x.length / d; r++) {
        const mean = x.subarray(r * d, (r + 1) * d).reduce((a, b) => a + b, 0) / d;
        assert.ok(Math.abs(mean) < 1e-5, `${hook} row ${r} has mean ${mean}`);
      }
    }
    // LNPre: hook_normalized is the centred input over hook_scale, with no weight or bias.
    const resid = t.cache.get('blocks.1.hook_resid_pre').data;
    const scale = t.cache.get('blocks.1.ln1.hook_scale').data;
    const normalized = t.cache.get('blocks.1.ln1.hook_normalized').data;
    for (let i = 0; i < d; i++) assert.ok(Math.abs(normalized[i] - resid[i] / scale[0]) < 1e-5);
    assert.equal(m.ckpt.params.blocks[0].ln1.w, undefined);
    assert.ok(m.ckpt.params.unembedBias, 'folding ln_final.b gives b_U');
    assert.equal(m.ckpt.processing?.notes.length, 0);
  });
});

test('RMSNorm and post-norm families switch off what TransformerLens switches off, and say so', async () => {
  const llama = makeFamilyCheckpoint({ family: 'llama', layers: 1, dModel: 32, heads: 4, dMlp: 64, vocab: 100, ctx: 16, dtype: 'F32', seed: 86 });
  await withProcessed(llama, TRANSFORMERLENS_PROCESSING, async (m) => {
    assert.deepEqual(m.ckpt.processing?.options, { foldLn: true, centerWritingWeights: false, centerUnembed: true, foldValueBiases: false });
    assert.match(m.ckpt.processing!.notes.join('\n'), /centerWritingWeights is off: llama uses RMSNorm/);
    assert.match(m.ckpt.processing!.notes.join('\n'), /foldValueBiases has nothing to do/);
  });
  const gemma2 = makeFamilyCheckpoint({ family: 'gemma', layers: 2, dModel: 32, heads: 4, dMlp: 64, vocab: 100, ctx: 16, dtype: 'F32', seed: 94, extra: ['--kv-heads', '2', '--head-dim', '12', '--attn-softcap', '5', '--final-softcap', '10', '--window', '3'] });
  const gemmaIds = [1, 7, 3, 9, 4, 8];
  const gemmaPlain = await withProcessed(gemma2, NO_PROCESSING, (m) => m.trace([tokensFromIds(m.ckpt, gemmaIds)], { hooks: m.ckpt.hooks }));
  await withProcessed(gemma2, TRANSFORMERLENS_PROCESSING, async (m) => {
    assert.deepEqual(m.ckpt.processing?.options, { foldLn: true, centerWritingWeights: false, centerUnembed: false, foldValueBiases: false });
    assert.match(m.ckpt.processing!.notes.join('\n'), /centerUnembed is off: gemma2 soft-caps its logits/);
    const t = await m.trace([tokensFromIds(m.ckpt, gemmaIds)], { hooks: m.ckpt.hooks });
    // (1 + w) folded as 1 + w: nothing but the weights moved, so every hook keeps its value.
    for (const name of ['logits', ...t.cache.names()]) {
      const mine = name === 'logits' ? t.logits : t.cache.get(name);
      const theirs = name === 'logits' ? gemmaPlain.logits : gemmaPlain.cache.get(name);
      assert.ok(maxAbsDiff(mine.data, theirs.data) <= TOLERANCE, name);
    }
  });
  const olmo2 = makeFamilyCheckpoint({ family: 'llama', layers: 2, dModel: 32, heads: 4, dMlp: 64, vocab: 100, ctx: 16, dtype: 'F32', seed: 87, extra: ['--model-type', 'olmo2'] });
  const ids = [1, 7, 3, 9, 4];
  const plain = await withProcessed(olmo2, NO_PROCESSING, (m) => m.trace([tokensFromIds(m.ckpt, ids)]));
  await withProcessed(olmo2, TRANSFORMERLENS_PROCESSING, async (m) => {
    assert.deepEqual(m.ckpt.processing?.options, { foldLn: false, centerWritingWeights: false, centerUnembed: true, foldValueBiases: false });
    assert.match(m.ckpt.processing!.notes.join('\n'), /foldLn is off: olmo2's norms come after attention and the MLP/);
    const t = await m.trace([tokensFromIds(m.ckpt, ids)]);
    assert.ok(centredLogitDiff(t.logits.data, plain.logits.data, 100) <= TOLERANCE);
  });
});

for (const [label, make] of [
  ['GPT-NeoX (parallel, fused per-head q/k/v)', () => makeFamilyCheckpoint({ family: 'neox', layers: 2, dModel: 64, heads: 4, dMlp: 96, vocab: 120, ctx: 32, dtype: 'F32', seed: 88 })],
  ['GPT-Neo (no q/k/v bias: folding ln1.b makes one)', () => makeFamilyCheckpoint({ family: 'gptneo', layers: 2, dModel: 32, heads: 4, dMlp: 64, vocab: 120, ctx: 32, dtype: 'F32', seed: 89 })],
] as const) {
  test(`all four options keep the logits up to a per-position constant: ${label}`, async () => {
    const dir = make();
    const ids = [[5, 1, 9, 2, 6, 5, 3]];
    const plain = await withProcessed(dir, NO_PROCESSING, (m) => m.trace([tokensFromIds(m.ckpt, ids[0])], { hooks: m.ckpt.hooks.filter((h) => h.name.endsWith('ln_final.hook_scale')) }));
    await withProcessed(dir, TRANSFORMERLENS_PROCESSING, async (m) => {
      assert.deepEqual(m.ckpt.processing?.options, TRANSFORMERLENS_PROCESSING);
      const t = await m.trace([tokensFromIds(m.ckpt, ids[0])], { hooks: m.ckpt.hooks.filter((h) => h.name === 'ln_final.hook_scale') });
      assert.ok(centredLogitDiff(t.logits.data, plain.logits.data, 120) <= TOLERANCE);
      assert.ok(maxAbsDiff(t.cache.get('ln_final.hook_scale').data, plain.cache.get('ln_final.hook_scale').data) <= TOLERANCE, 'the residual stream keeps its norm');
    });
  });
}

test('direct logit attribution sums to the logit difference with processed weights, and its layer components do not change', async () => {
  const dir = makeRandomCheckpoint({ layers: 2, dModel: 48, heads: 4, dMlp: 96, vocab: 150, ctx: 16, dtype: 'F32', seed: 90 });
  const ids = [5, 9, 2, 33, 17, 8];
  const plain = await withProcessed(dir, NO_PROCESSING, (m) => directLogitAttribution(m, tokensFromIds(m.ckpt, ids), { answer: 11, counterfactual: 12 }));
  await withProcessed(dir, TRANSFORMERLENS_PROCESSING, async (m) => {
    const r = await directLogitAttribution(m, tokensFromIds(m.ckpt, ids), { answer: 11, counterfactual: 12 });
    const sum = r.values.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - r.logitDiff) <= 1e-4, `sum ${sum} vs ${r.logitDiff}`);
    assert.ok(Math.abs(r.logitDiff - plain.logitDiff) <= 1e-4);
    assert.equal(r.labels[r.labels.length - 1], 'unembed bias');
    for (let i = 0; i < r.labels.length - 1; i++) assert.ok(Math.abs(r.values[i] - plain.values[i]) <= 1e-4, `${r.labels[i]}: ${r.values[i]} vs ${plain.values[i]}`);
  });
});

test('processing options parse from the CLI and spec forms, and name themselves', () => {
  assert.deepEqual(parseProcessingList('transformerlens'), TRANSFORMERLENS_PROCESSING);
  assert.deepEqual(parseProcessingList('foldLn, centerunembed'), { ...NO_PROCESSING, foldLn: true, centerUnembed: true });
  assert.deepEqual(parseProcessingList('none'), NO_PROCESSING);
  assert.match((parseProcessingList('foldLN,centre') as { error: string }).error, /"centre" is not a processing option/);
  assert.equal(processingLabel(undefined), 'unprocessed weights');
  assert.equal(processingLabel({ ...NO_PROCESSING, foldLn: true, centerUnembed: true }), 'processing: foldLn, centerUnembed');
  assert.equal(processingLabel(TRANSFORMERLENS_PROCESSING), 'TransformerLens processing');
});
