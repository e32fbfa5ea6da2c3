/**
 * SAE features as analyses and interventions, against the PyTorch reference (test/reference/sae_reference.py)
 * on random GPT-2 and Llama-style checkpoints, within 1e-4:
 * - a feature-space intervention on hook_sae_acts_post (keep/add) keeps the error term: every hook and the
 *   logits match SAELens' use_error_term semantics, observing and spliced;
 * - steering by a feature (coefficient x W_dec[f] at hook_sae_output) and clamping a feature;
 * - the features analysis: top features per token, their top and bottom logits, per-feature DLA;
 * - feature ablation (zero, mean, resample), each feature alone, error term kept;
 * - the same for one layer of a whole cross-layer transcoder (clamping, the analysis, ablation), whose
 *   features write to every later layer; steering by one decoder row is refused there.
 */
import { before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openCheckpoint, tokensFromIds } from '../../src/engine/model';
import { openAttachable, openDictionary } from '../../src/engine/sae';
import { promptFeatures } from '../../src/engine/analysis/features';
import { ablateFeatures, featureClamp, featureSteering } from '../../src/engine/analysis/feature-interventions';
import type { Intervention } from '../../src/protocol/runner';
import { LoadedModel } from '../../src/worker/loaded-model';
import { SCAN_WORKER } from '../helpers/engine';
import { makeFamilyCheckpoint } from '../helpers/family-reference';
import { PYTHON, interventionArgs, makeRandomCheckpoint, maxAbsDiff, randomTokens, referenceMismatches } from '../helpers/reference';
import { SAE_SCRIPT, readNpyDir, runReferenceJobs, tmpDir } from '../helpers/sae-reference';
import { rng } from '../helpers/fuzz';

const shape = { layers: 2, dModel: 48, heads: 4, dMlp: 96, vocab: 256, ctx: 32, dtype: 'F32' as const };
const models = {
  gpt2: makeRandomCheckpoint({ ...shape, seed: 41 }),
  llama: makeFamilyCheckpoint({ ...shape, family: 'llama', seed: 42, extra: ['--kv-heads', '2'] }),
};
const ids = randomTokens(2, 9, shape.vocab, 43);
const refs = randomTokens(3, 9, shape.vocab, 44);
const root = tmpDir('sae-features');
const D_SAE = 40;
const [ANSWER, COUNTERFACTUAL] = [5, 9];
const pyEnv = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };

interface Case { name: string; family: keyof typeof models; make: string[]; format: string; hook: string; sub?: string; splice: boolean }
const CASES: Case[] = [
  { name: 'gpt2 saelens topk at resid_post, observe', family: 'gpt2', make: ['--architecture', 'topk', '--k', '6'], format: 'saelens', hook: 'blocks.0.hook_resid_post', splice: false },
  { name: 'gpt2 saelens standard layer_norm at resid_pre, splice', family: 'gpt2', make: ['--normalize', 'layer_norm'], format: 'saelens', hook: 'blocks.1.hook_resid_pre', splice: true },
  { name: 'gpt2 saelens jumprelu constant_norm_rescale at mlp_out, observe', family: 'gpt2', make: ['--architecture', 'jumprelu', '--normalize', 'constant_norm_rescale'], format: 'saelens', hook: 'blocks.1.hook_mlp_out', splice: false },
  { name: 'llama gemma-scope npz at resid_post, observe', family: 'llama', make: [], format: 'gemma-scope', hook: 'blocks.0.hook_resid_post', sub: 'gemma-scope-2b-pt-res/layer_0/width_16k/average_l0_71', splice: false },
  { name: 'llama llama-scope dataset-wise at resid_mid, splice', family: 'llama', make: ['--apply-b-dec', '0'], format: 'llama-scope', hook: 'blocks.1.hook_resid_mid', splice: true },
];

const folder = (i: number) => path.join(root, `sae${i}`, CASES[i].sub ?? '');
const rows = (r: number[][]) => r.map((x) => x.join(',')).join(';');
const saeArgs = (c: Case, i: number) => ['--family', c.family, '--model', models[c.family], '--format', c.format, '--dir', folder(i), '--hook', c.hook, ...(c.splice ? ['--splice'] : [])];

async function open(i: number): Promise<LoadedModel> {
  const c = CASES[i];
  return LoadedModel.open(openCheckpoint(models[c.family]), { session: { threads: 1 }, scanWorkerPath: SCAN_WORKER, saes: [{ dict: openDictionary(folder(i), { hook: c.hook }), mode: c.splice ? 'splice' : 'observe' }] });
}

/** A random feature edit: about a third of the features zeroed, a few set to new values, the rest kept. */
function randomEdit(hook: string, seed: number): Intervention {
  const r = rng(seed);
  const keep = new Float32Array(ids.length * ids[0].length * D_SAE).map(() => (r.next() < 0.35 ? 0 : 1)); // [batch, pos, d_sae]
  const add = keep.map((k) => (k === 0 && r.next() < 0.3 ? 2 * r.next() : 0));
  const dims = [ids.length, ids[0].length, D_SAE];
  return { hook: `${hook}.hook_sae_acts_post`, keep: { dims, data: keep }, add: { dims, data: add } };
}

const attachOut = (i: number, what: string) => path.join(root, `ref${i}-${what}`);
const edits = CASES.map((c, i) => randomEdit(c.hook, 50 + i));
const STEER = { feature: 3, coefficient: 2.5 };
const CLAMP = { feature: 7, value: 4 };

before(() => {
  runReferenceJobs(CASES.flatMap((c, i) => {
    const ivDir = tmpDir(`sae-features-iv${i}`);
    return [
      ['make-random', '--format', c.format, ...c.make, '--d-in', '48', '--d-sae', String(D_SAE), '--out', folder(i), '--seed', String(60 + i)],
      ['attach', ...saeArgs(c, i), '--tokens', rows(ids), ...interventionArgs(ivDir, [edits[i]]), '--out', attachOut(i, 'edit')],
      ['attach', ...saeArgs(c, i), '--tokens', rows(ids), '--steer-feature', String(STEER.feature), '--coefficient', String(STEER.coefficient), '--out', attachOut(i, 'steer')],
      ['attach', ...saeArgs(c, i), '--tokens', rows(ids), '--clamp-feature', String(CLAMP.feature), '--clamp', String(CLAMP.value), '--out', attachOut(i, 'clamp')],
      ['features', ...saeArgs(c, i), '--tokens', rows(ids.slice(0, 1)), '--k', '4', '--logits-k', '6', '--answer', String(ANSWER), '--counterfactual', String(COUNTERFACTUAL), '--out', attachOut(i, 'features.json')],
    ];
  }));
});

describe('feature interventions keep the error term (SAELens use_error_term)', () => {
  for (const [i, c] of CASES.entries()) {
    test(c.name, async () => {
      const m = await open(i);
      try {
        const batch = ids.map((r) => tokensFromIds(m.ckpt, r));
        for (const [what, iv] of [['edit', edits[i]], ['steer', featureSteering(m, undefined, STEER.feature, STEER.coefficient)], ['clamp', featureClamp(m, c.hook, CLAMP.feature, CLAMP.value)]] as const) {
          const ref = readNpyDir(attachOut(i, what));
          const trace = await m.trace(batch, { hooks: m.hooks.filter((h) => ref.has(h.name)), interventions: [iv] });
          assert.deepEqual(referenceMismatches(ref, trace), [], what);
        }
        // The edit moves the logits (the test can fail), and the error is the unedited one.
        const plain = await m.trace(batch, { hooks: m.hooks.filter((h) => h.name.startsWith(`${c.hook}.hook_sae_error`)) });
        const edited = await m.trace(batch, { hooks: m.hooks.filter((h) => h.name.startsWith(`${c.hook}.hook_sae_error`)), interventions: [edits[i]] });
        assert.ok(maxAbsDiff(plain.logits.data, edited.logits.data) > 1e-3);
        assert.ok(maxAbsDiff(plain.cache.get(`${c.hook}.hook_sae_error`).data, edited.cache.get(`${c.hook}.hook_sae_error`).data) <= 1e-5);
      } finally {
        await m.dispose();
      }
    });
  }
});

interface RefFeatures { tokens: [number, number][][]; logits: Record<string, { top: [number, number][]; bottom: [number, number][] }>; dla: Record<string, number> }

describe('the features analysis matches the reference', () => {
  for (const [i, c] of CASES.entries()) {
    test(c.name, async () => {
      const ref: RefFeatures = JSON.parse(fs.readFileSync(attachOut(i, 'features.json'), 'utf8'));
      const m = await open(i);
      try {
        const r = await promptFeatures(m, tokensFromIds(m.ckpt, ids[0]), { k: 4, logitsK: 6, answer: ANSWER, counterfactual: COUNTERFACTUAL, label: String });
        assert.equal(r.tokens.length, ids[0].length);
        r.tokens.forEach((t, p) => {
          assert.deepEqual(t.features.map((f) => f.id), ref.tokens[p].map(([f]) => f), `token ${p} features`);
          t.features.forEach((f, j) => assert.ok(Math.abs(f.act - ref.tokens[p][j][1]) <= 1e-4, `token ${p} act`));
        });
        assert.deepEqual(r.features.map((f) => String(f.id)), Object.keys(ref.logits).sort((a, b) => Number(a) - Number(b)));
        assert.ok(r.features.length > 0);
        for (const f of r.features) {
          const want = ref.logits[String(f.id)];
          assert.deepEqual(f.topLogits.map((t) => t.id), want.top.map(([id]) => id), `F${f.id} top`);
          assert.deepEqual(f.bottomLogits.map((t) => t.id), want.bottom.map(([id]) => id), `F${f.id} bottom`);
          assert.ok(maxAbsDiff(Float32Array.from(f.topLogits, (t) => t.value), Float32Array.from(want.top, ([, v]) => v)) <= 1e-4);
          assert.ok(maxAbsDiff(Float32Array.from(f.bottomLogits, (t) => t.value), Float32Array.from(want.bottom, ([, v]) => v)) <= 1e-4);
        }
        const dla = r.attribution!;
        assert.deepEqual(dla.features.map((f) => String(f.id)).sort(), Object.keys(ref.dla).sort());
        assert.ok(dla.features.length > 0);
        for (const f of dla.features) assert.ok(Math.abs(f.value - ref.dla[String(f.id)]) <= 1e-4, `DLA F${f.id}: ${f.value} vs ${ref.dla[String(f.id)]}`);
      } finally {
        await m.dispose();
      }
    });
  }
});

describe('feature ablation matches the reference', () => {
  for (const i of [0, 1, 3]) {
    const c = CASES[i];
    for (const kind of ['zero', 'mean', 'resample'] as const) {
      test(`${c.name}: ${kind}`, async () => {
        const m = await open(i);
        try {
          const prompt = tokensFromIds(m.ckpt, ids[0]);
          const r = await ablateFeatures(m, prompt, {
            kind, metric: { kind: 'logitDiff', answer: ANSWER, counterfactual: COUNTERFACTUAL }, reference: refs.map((x) => tokensFromIds(m.ckpt, x)), maxPatchBytes: 4 * 9 * D_SAE * 8,
            maxReferenceBytes: 1, // a mean summed one reference row per run
          });
          assert.ok(r.features.length > 0, 'the default features are the most active ones');
          const out = execFileSync(PYTHON, [SAE_SCRIPT, 'feature-ablate', ...saeArgs(c, i), '--tokens', rows(ids.slice(0, 1)), '--features', r.features.join(','), '--kind', kind,
            '--reference', rows(refs), '--answer', String(ANSWER), '--counterfactual', String(COUNTERFACTUAL)], { env: pyEnv, encoding: 'utf8' });
          const want = JSON.parse(out) as { baseline: number; changes: number[] };
          assert.ok(Math.abs(r.baseline - want.baseline) <= 1e-4, 'baseline');
          assert.ok(maxAbsDiff(r.change, Float32Array.from(want.changes)) <= 1e-4, `${[...r.change]} vs ${want.changes}`);
          assert.ok(want.changes.some((v) => Math.abs(v) > 1e-3), 'some feature moves the metric');
        } finally {
          await m.dispose();
        }
      });
    }
  }
});

describe('a cross-layer transcoder\'s features (all layers attached, layer 0 picked) match the reference', () => {
  const dir = path.join(root, 'clt');
  const pick = 'blocks.0.ln2.hook_normalized';
  const cltArgs = ['--family', 'gpt2', '--model', models.gpt2, '--format', 'circuit-tracer-clt', '--dir', dir, '--hook', pick];
  const out = (what: string) => path.join(root, `clt-${what}`);
  before(() => {
    runReferenceJobs([
      ['make-random', '--format', 'circuit-tracer-clt', '--activation', 'jumprelu', '--layers', String(shape.layers), '--d-in', '48', '--d-sae', String(D_SAE), '--out', dir, '--seed', '70'],
      ['attach', ...cltArgs, '--tokens', rows(ids), '--clamp-feature', String(CLAMP.feature), '--clamp', String(CLAMP.value), '--out', out('clamp')],
      ['features', ...cltArgs, '--tokens', rows(ids.slice(0, 1)), '--k', '4', '--logits-k', '6', '--answer', String(ANSWER), '--counterfactual', String(COUNTERFACTUAL), '--out', out('features.json')],
    ]);
  });
  const openClt = () => {
    const ckpt = openCheckpoint(models.gpt2);
    return LoadedModel.open(ckpt, { session: { threads: 1 }, scanWorkerPath: SCAN_WORKER, saes: openAttachable(dir, { modelHooks: ckpt.hooks }).map((dict) => ({ dict, mode: 'observe' as const })) });
  };

  test('clamping a feature moves every layer it writes to, error term kept; steering by one decoder row is refused', async () => {
    const m = await openClt();
    try {
      const ref = readNpyDir(out('clamp'));
      const trace = await m.trace(ids.map((r) => tokensFromIds(m.ckpt, r)), { hooks: m.hooks.filter((h) => ref.has(h.name)), interventions: [featureClamp(m, pick, CLAMP.feature, CLAMP.value)] });
      assert.deepEqual(referenceMismatches(ref, trace), []);
      assert.ok(ref.has('blocks.1.ln2.hook_normalized.hook_sae_recons'));
      assert.throws(() => featureSteering(m, pick, STEER.feature, STEER.coefficient), /writes to 2 layers.*Clamp the feature instead/);
    } finally {
      await m.dispose();
    }
  });

  test('the features analysis: top features, logits and DLA of the feature\'s writes summed over its targets', async () => {
    const ref: RefFeatures = JSON.parse(fs.readFileSync(out('features.json'), 'utf8'));
    const m = await openClt();
    try {
      const r = await promptFeatures(m, tokensFromIds(m.ckpt, ids[0]), { sae: pick, k: 4, logitsK: 6, answer: ANSWER, counterfactual: COUNTERFACTUAL, label: String });
      r.tokens.forEach((t, p) => assert.deepEqual(t.features.map((f) => f.id), ref.tokens[p].map(([f]) => f), `token ${p} features`));
      assert.ok(r.features.length > 0);
      for (const f of r.features) {
        const want = ref.logits[String(f.id)];
        assert.deepEqual(f.topLogits.map((t) => t.id), want.top.map(([id]) => id), `F${f.id} top`);
        assert.ok(maxAbsDiff(Float32Array.from(f.topLogits, (t) => t.value), Float32Array.from(want.top, ([, v]) => v)) <= 1e-4);
      }
      const dla = r.attribution!;
      assert.deepEqual(dla.features.map((f) => String(f.id)).sort(), Object.keys(ref.dla).sort());
      for (const f of dla.features) assert.ok(Math.abs(f.value - ref.dla[String(f.id)]) <= 1e-4, `DLA F${f.id}: ${f.value} vs ${ref.dla[String(f.id)]}`);
    } finally {
      await m.dispose();
    }
  });

  for (const kind of ['zero', 'mean'] as const) {
    test(`feature ablation, ${kind}: each feature's change through every layer it writes to`, async () => {
      const m = await openClt();
      try {
        const r = await ablateFeatures(m, tokensFromIds(m.ckpt, ids[0]), {
          sae: pick, kind, metric: { kind: 'logitDiff', answer: ANSWER, counterfactual: COUNTERFACTUAL }, reference: refs.map((x) => tokensFromIds(m.ckpt, x)), maxPatchBytes: 4 * 9 * D_SAE * 8,
        });
        const got = execFileSync(PYTHON, [SAE_SCRIPT, 'feature-ablate', ...cltArgs, '--tokens', rows(ids.slice(0, 1)), '--features', r.features.join(','), '--kind', kind,
          '--reference', rows(refs), '--answer', String(ANSWER), '--counterfactual', String(COUNTERFACTUAL)], { env: pyEnv, encoding: 'utf8' });
        const want = JSON.parse(got) as { baseline: number; changes: number[] };
        assert.ok(Math.abs(r.baseline - want.baseline) <= 1e-4, 'baseline');
        assert.ok(maxAbsDiff(r.change, Float32Array.from(want.changes)) <= 1e-4, `${[...r.change]} vs ${want.changes}`);
        assert.ok(want.changes.some((v) => Math.abs(v) > 1e-3), 'some feature moves the metric');
      } finally {
        await m.dispose();
      }
    });
  }
});
