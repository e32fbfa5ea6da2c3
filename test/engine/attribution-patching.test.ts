/**
 * Attribution patching (AtP, AtP* with the QK fix, integrated gradients) and input attribution against
 * the independent PyTorch autograd reference (test/reference/atp_reference.py), on a random GPT-2
 * checkpoint and the bundled demo model: every estimate within 1e-4 of the largest |estimate|. Then
 * verify on the bundled models: exact patching of the largest estimates, their rank correlation (printed),
 * and the false negatives it finds.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { openModel } from '../helpers/engine';
import { makeRandomCheckpoint, ROOT } from '../helpers/reference';
import { RefMetric, referenceAtp, referenceInputIg } from '../helpers/atp-reference';
import { tokensFromIds } from '../../src/engine/model';
import { attributionPatching } from '../../src/engine/analysis/attribution-patching';
import { spearman, verifyEstimates } from '../../src/engine/analysis/atp-verify';
import { inputAttribution } from '../../src/engine/analysis/input-attribution';
import { activationPatching, PATCH_TARGETS, PatchTarget } from '../../src/engine/analysis/patching';
import type { MetricSpec } from '../../src/engine/analysis/metrics';
import type { LoadedModel } from '../../src/worker/loaded-model';

const TOLERANCE = 1e-4;
const random = makeRandomCheckpoint({ layers: 3, dModel: 32, heads: 4, dMlp: 64, vocab: 120, ctx: 16, dtype: 'F32', seed: 51 });
const clean = [7, 3, 9, 1, 50, 60, 70, 80];
const corrupted = [7, 3, 9, 1, 51, 61, 71, 80];
const DEMO = path.join(ROOT, 'media', 'models', 'demo');
const PLANTED = path.join(ROOT, 'media', 'models', 'planted-induction');

/** The largest deviation from the reference, and the largest |reference value| it is judged against. */
function compare(engine: Float32Array, ref: number[][]): { err: number; scale: number } {
  const flat = ref.flat();
  assert.equal(engine.length, flat.length);
  return { err: Math.max(...flat.map((v, i) => Math.abs(v - engine[i]))), scale: Math.max(...flat.map(Math.abs)) };
}

interface Case {
  target: PatchTarget;
  method?: 'atp' | 'atpStar' | 'integratedGradients';
  direction?: 'denoise' | 'noise';
  metric?: RefMetric;
  steps?: number;
}

async function checkAgainstReference(model: LoadedModel, dir: string, c: number[], k: number[], metric: RefMetric, cases: Case[]): Promise<void> {
  for (const x of cases) {
    const m = (x.metric ?? metric) as MetricSpec;
    const r = await attributionPatching(model, tokensFromIds(model.ckpt, c), tokensFromIds(model.ckpt, k), { target: x.target, metric: m, method: x.method, direction: x.direction, steps: x.steps });
    const ref = referenceAtp({ model: dir, clean: c, corrupted: k, target: x.target, metric: x.metric ?? metric, method: x.method, direction: x.direction, steps: x.steps });
    const { err, scale } = compare(r.values, ref.values);
    const what = `${x.target} ${x.method ?? 'atp'} ${x.direction ?? 'denoise'} ${(x.metric ?? metric).kind}`;
    console.log(`${path.basename(dir)} ${what}: max error ${err.toExponential(2)} of ${scale.toFixed(3)}`);
    assert.ok(Math.abs(r.clean - ref.clean) <= TOLERANCE * Math.max(1, Math.abs(ref.clean)), `${what}: clean ${r.clean} vs ${ref.clean}`);
    assert.ok(err <= TOLERANCE * scale, `${what}: ${err} > ${TOLERANCE} x ${scale}`);
  }
}

test('random GPT-2: AtP on every target, AtP*, integrated gradients, noising and other metrics match autograd within 1e-4 of the largest estimate', async () => {
  const model = await openModel(random);
  try {
    const metric: RefMetric = { kind: 'logitDiff', answer: 5, counterfactual: 6 };
    await checkAgainstReference(model, random, clean, corrupted, metric, [
      ...PATCH_TARGETS.map((target) => ({ target })),
      { target: 'heads_pos', direction: 'noise' },
      { target: 'attn_out', metric: { kind: 'loss' } },
      { target: 'mlp_out', metric: { kind: 'answerProb', answer: 5 }, direction: 'noise' },
      { target: 'resid_pre', method: 'atpStar' },
      { target: 'resid_pre', method: 'atpStar', direction: 'noise' },
      { target: 'resid_pre', method: 'integratedGradients', steps: 6 },
      { target: 'heads', method: 'integratedGradients', steps: 5, direction: 'noise' },
    ]);
  } finally {
    await model.dispose();
  }
});

test('random GPT-2: the QK fix changes the residual estimates (it is not AtP under another name) and leaves other targets as AtP', async () => {
  const model = await openModel(random);
  try {
    const [c, k] = [clean, corrupted].map((ids) => tokensFromIds(model.ckpt, ids));
    const metric: MetricSpec = { kind: 'logitDiff', answer: 5, counterfactual: 6 };
    const [atp, star] = await Promise.all(['atp', 'atpStar'].map((method) => attributionPatching(model, c, k, { target: 'resid_pre', metric, method: method as 'atp' | 'atpStar' })));
    const moved = Math.max(...atp.values.map((v, i) => Math.abs(v - star.values[i])));
    assert.ok(moved > 1e-3, `AtP* moved the estimates by ${moved}`);
    const [a2, s2] = await Promise.all(['atp', 'atpStar'].map((method) => attributionPatching(model, c, k, { target: 'heads', metric, method: method as 'atp' | 'atpStar' })));
    assert.deepEqual([...s2.values], [...a2.values]);
  } finally {
    await model.dispose();
  }
});

const MOSES = ['Moses took the staff of God, and Aaron took the staff of', 'Moses took the staff of Israel, and Aaron took the staff of', ' God', ' Israel'] as const;
const REPEAT = ['The people said that the game was good. The people said that the game', 'The people said that the year was good. The people said that the game', ' was', ' good'] as const;

function prompts(model: LoadedModel, p: readonly [string, string, string, string]) {
  const id = (s: string) => model.ckpt.tokenizer!.encode(s, { prependBos: false })[0].id;
  return { c: model.tokenize(p[0]), k: model.tokenize(p[1]), metric: { kind: 'logitDiff' as const, answer: id(p[2]), counterfactual: id(p[3]) } };
}

test('demo model: AtP on every target, AtP* and integrated gradients match autograd within 1e-4 of the largest estimate', async () => {
  const model = await openModel(DEMO);
  try {
    const { c, k, metric } = prompts(model, MOSES);
    await checkAgainstReference(model, DEMO, c.map((t) => t.id), k.map((t) => t.id), metric, [
      ...PATCH_TARGETS.map((target) => ({ target })),
      { target: 'resid_pre', method: 'atpStar' },
      { target: 'heads_pos', method: 'integratedGradients', steps: 8 },
    ]);
  } finally {
    await model.dispose();
  }
});

test('input attribution: integrated gradients to the embeddings match autograd (zero and corrupted baselines); the completeness gap shrinks as 1/steps (a Riemann sum)', async () => {
  for (const dir of [random, DEMO]) {
    const model = await openModel(dir);
    try {
      const { c, k, metric } = dir === DEMO ? prompts(model, MOSES) : { c: tokensFromIds(model.ckpt, clean), k: tokensFromIds(model.ckpt, corrupted), metric: { kind: 'logitDiff' as const, answer: 5, counterfactual: 6 } };
      const gap: number[] = [];
      for (const [baseline, steps] of [[undefined, 8], [k, 8], [k, 64]] as const) {
        const r = await inputAttribution(model, c, { metric, baseline: baseline as typeof k | undefined, steps });
        const ref = referenceInputIg(dir, c.map((t) => t.id), metric, steps, baseline?.map((t) => t.id));
        const scale = Math.max(...ref.values.map(Math.abs));
        const err = Math.max(...ref.values.map((v, i) => Math.abs(v - r.values[i])));
        const delta = r.metric - r.baselineMetric;
        console.log(`${path.basename(dir)} input IG, ${baseline ? 'corrupted' : 'zero'} baseline, ${steps} steps: max error ${err.toExponential(2)} of ${scale.toFixed(3)}; sum ${r.sum.toFixed(4)} vs metric change ${delta.toFixed(4)}`);
        assert.ok(err <= TOLERANCE * scale, `${err} > ${TOLERANCE} x ${scale}`);
        assert.ok(Math.abs(r.baselineMetric - ref.baselineMetric) <= TOLERANCE * Math.max(1, Math.abs(ref.baselineMetric)));
        if (baseline) gap.push(Math.abs(r.sum - delta));
      }
      // A right Riemann sum's error falls as 1/steps: 8x the steps, at least 4x closer to M(x) - M(x0).
      assert.ok(gap[1] <= gap[0] / 4, `completeness gap ${gap[0]} at 8 steps, ${gap[1]} at 64`);
    } finally {
      await model.dispose();
    }
  }
});

test('Spearman: 1 for a monotone relation, -1 reversed, ties share ranks, NaN when undefined', () => {
  assert.equal(spearman([1, 2, 3, 4], [10, 20, 25, 100]), 1);
  assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
  assert.ok(Math.abs(spearman([1, 2, 2, 3], [1, 2, 3, 4]) - 0.9486832980505138) < 1e-12);
  assert.ok(Number.isNaN(spearman([1], [1])));
  assert.ok(Number.isNaN(spearman([1, 1, 1], [1, 2, 3])));
});

test("verify's exact values are patching's own at those cells, and the cells checked are the top N and a seeded draw", async () => {
  const model = await openModel(DEMO);
  try {
    const { c, k, metric } = prompts(model, MOSES);
    const r = await attributionPatching(model, c, k, { target: 'resid_pre', metric });
    const full = await activationPatching(model, c, k, { target: 'resid_pre', metric });
    const v = await verifyEstimates(model, c, k, r, { n: 5, seed: 3, metric });
    const again = await verifyEstimates(model, c, k, r, { n: 5, seed: 3, metric });
    assert.deepEqual(again.cells.map((x) => x.label), v.cells.map((x) => x.label));
    assert.equal(v.cells.length, 10);
    const base = (i: number) => Math.abs(r.values[i]);
    const smallestTop = Math.min(...v.cells.filter((x) => x.chosen === 'top').map((x) => Math.abs(x.estimate)));
    assert.ok(r.values.every((_, i) => v.cells.some((x) => x.chosen === 'top' && x.estimate === r.values[i]) || base(i) <= smallestTop));
    for (const x of v.cells) {
      const i = r.layers.indexOf(x.layer) * r.units.length + r.units.indexOf(x.unit);
      assert.ok(Math.abs(x.exact - full.values[i]) <= 1e-5, `${x.label}: ${x.exact} vs ${full.values[i]}`);
    }
  } finally {
    await model.dispose();
  }
});

test('bundled models: verify confirms the largest AtP estimates on the demo; on planted-induction it finds the false negatives of the saturated induction path', async () => {
  const demo = await openModel(DEMO);
  try {
    const { c, k, metric } = prompts(demo, MOSES);
    for (const target of PATCH_TARGETS) {
      const r = await attributionPatching(demo, c, k, { target, metric });
      const v = await verifyEstimates(demo, c, k, r, { n: Math.min(8, r.values.length), seed: 0, metric });
      console.log(`demo ${target} AtP, top ${v.cells.length - v.sampled}: Spearman ${v.spearman.toFixed(3)}, false negatives ${v.falseNegatives} (${v.sampledFalseNegatives} of ${v.sampled} drawn)`);
      assert.ok(v.spearman >= 0.9, `${target}: Spearman ${v.spearman}`);
      assert.equal(v.falseNegatives, 0, target);
      // The largest estimates are confirmed: every top cell estimated at 0.5 or more is at least 0.5 exactly.
      for (const x of v.cells) if (x.chosen === 'top' && x.estimate >= 0.5) assert.ok(x.exact >= 0.5, `${target} ${x.label}: ${x.estimate} vs ${x.exact}`);
    }
  } finally {
    await demo.dispose();
  }
  const planted = await openModel(PLANTED);
  try {
    const { c, k, metric } = prompts(planted, REPEAT);
    // heads: AtP's largest estimate (the induction head 1.1) is confirmed by exact patching.
    const heads = await attributionPatching(planted, c, k, { target: 'heads', metric });
    const hv = await verifyEstimates(planted, c, k, heads, { n: 4, seed: 0, metric });
    console.log(`planted-induction heads atp: Spearman ${hv.spearman.toFixed(3)}, ${hv.cells.map((x) => `${x.label} ${x.estimate.toFixed(2)} vs ${x.exact.toFixed(2)}${x.falseNegative ? ' (false negative)' : ''}`).join('; ')}`);
    assert.ok(hv.cells[0].estimate > 0.5 && hv.cells[0].exact > 0.5, `${hv.cells[0].label}: ${hv.cells[0].estimate} vs ${hv.cells[0].exact}`);
    // resid_pre: the corrupted run's metric is saturated, so AtP puts every residual cell at ~0; verify
    // reports the two that carry everything (position 6 into layer 0, position 7 into layer 1) as false
    // negatives. AtP* recovers the second (the induction head's query, through the softmax); integrated
    // gradients both.
    const fn: Record<string, number> = {};
    for (const method of ['atp', 'atpStar', 'integratedGradients'] as const) {
      const r = await attributionPatching(planted, c, k, { target: 'resid_pre', metric, method });
      const v = await verifyEstimates(planted, c, k, r, { n: 8, seed: 0, metric });
      fn[method] = v.falseNegatives;
      console.log(`planted-induction resid_pre ${method}: Spearman ${v.spearman.toFixed(3)}, false negatives ${v.falseNegatives}: ${v.cells.filter((x) => x.falseNegative).map((x) => `${x.label} ${x.estimate.toFixed(2)} vs ${x.exact.toFixed(2)}`).join('; ')}`);
    }
    assert.equal(fn.atp, 2);
    assert.ok(fn.atpStar < fn.atp, `AtP* has fewer false negatives (${fn.atpStar}) than AtP (${fn.atp})`);
    assert.ok(fn.integratedGradients <= fn.atpStar);
  } finally {
    await planted.dispose();
  }
});
