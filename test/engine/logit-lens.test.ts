/**
 * The logit lens (src/engine/logit-lens.ts, LoadedModel.logitLens) against an independent computation
 * from the PyTorch references' hook points and the checkpoint's weights, in float64: the residual
 * stream rows (resid_pre, resid_mid where the family has it, final resid_post) normalised afresh, and
 * the decomposed components (embeddings, each attention and MLP output) scaled by the final residual's
 * norm scale, both unembedded. The components add up to the final residual, and their direct logits
 * plus the final norm's bias term to the model's own logits. Across the worker boundary, as a panel reads
 * it: the decomposed slice, and a target of two tokens refused with its tokens named.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { selectHooks } from '../../src/engine/hooks';
import { decomposedLensInput, residComponents } from '../../src/engine/logit-lens';
import { tokensFromIds } from '../../src/engine/model';
import { readSafetensorsHeader } from '../../src/engine/safetensors';
import { CircuitLensError } from '../../src/protocol/errors';
import type { LogitLensSlice } from '../../src/protocol/panels';
import { LOGIT_LENS_HOOKS, VIEW_HOOKS } from '../../src/protocol/runner';
import type { TensorData } from '../../src/protocol/tensor';
import { openModel } from '../helpers/engine';
import { familyReferenceActivations, makeFamilyCheckpoint } from '../helpers/family-reference';
import { makeRandomCheckpoint, randomTokens, referenceActivations } from '../helpers/reference';
import { withRunner } from '../helpers/runner';
import { readTensorF32 } from '../helpers/tensors';

interface Case {
  label: string;
  dir: () => string;
  reference: (dir: string, ids: number[][]) => Map<string, TensorData>;
  vocab: number;
  /** Rows of the resid lens and of the decomposed lens. */
  resid: string[];
  decomposed: string[];
}

const CASES: Case[] = [
  {
    label: 'GPT-2: LayerNorm, learned positions, sequential blocks',
    dir: () => makeRandomCheckpoint({ layers: 2, dModel: 48, heads: 4, dMlp: 96, vocab: 300, ctx: 32, dtype: 'F32', untied: true, seed: 41 }),
    reference: referenceActivations,
    vocab: 300,
    resid: ['0_pre', '0_mid', '1_pre', '1_mid', 'final_post'],
    decomposed: ['embed', 'pos_embed', '0_attn_out', '0_mlp_out', '1_attn_out', '1_mlp_out'],
  },
  {
    label: 'GPT-NeoX: parallel attention and MLP (no resid_mid), rotary (no pos_embed)',
    dir: () => makeFamilyCheckpoint({ family: 'neox', layers: 2, dModel: 64, heads: 4, dMlp: 128, vocab: 250, ctx: 32, dtype: 'F32', seed: 42 }),
    reference: familyReferenceActivations,
    vocab: 250,
    resid: ['0_pre', '1_pre', 'final_post'],
    decomposed: ['embed', '0_attn_out', '0_mlp_out', '1_attn_out', '1_mlp_out'],
  },
  {
    label: 'Llama: RMSNorm (not centred, no bias), rotary',
    dir: () => makeFamilyCheckpoint({ family: 'llama', layers: 2, dModel: 48, heads: 6, dMlp: 96, vocab: 280, ctx: 32, dtype: 'F32', seed: 43, extra: ['--kv-heads', '2'] }),
    reference: familyReferenceActivations,
    vocab: 280,
    resid: ['0_pre', '0_mid', '1_pre', '1_mid', 'final_post'],
    decomposed: ['embed', '0_attn_out', '0_mlp_out', '1_attn_out', '1_mlp_out'],
  },
];

/** The hook a resid lens row reads: '1_mid' is blocks.1.hook_resid_mid. */
function residHook(label: string, nLayers: number): string {
  if (label === 'final_post') return `blocks.${nLayers - 1}.hook_resid_post`;
  const [l, kind] = label.split('_');
  return `blocks.${l}.hook_resid_${kind}`;
}

/** Centred (LayerNorm) and divided by `scale`, or by the row's own norm when `scale` is undefined. */
function normalise(x: Float32Array, layernorm: boolean, eps: number, scale?: number): Float64Array {
  const d = x.length;
  const mean = layernorm ? x.reduce((a, v) => a + v, 0) / d : 0;
  const own = Math.sqrt(x.reduce((a, v) => a + (v - mean) ** 2, 0) / d + eps);
  return Float64Array.from(x, (v) => (v - mean) / (scale ?? own));
}

/** (y * w + b) @ W_U^T in float64. */
function unembed(y: Float64Array, w: Float32Array, b: Float32Array | undefined, wU: Float32Array, vocab: number): Float64Array {
  const d = y.length;
  const logits = new Float64Array(vocab);
  for (let t = 0; t < vocab; t++) {
    let s = 0;
    for (let i = 0; i < d; i++) s += (y[i] * w[i] + (b ? b[i] : 0)) * wU[t * d + i];
    logits[t] = s;
  }
  return logits;
}

function softmax64(logits: Float64Array): Float64Array {
  const max = Math.max(...logits);
  const z = logits.reduce((a, v) => a + Math.exp(v - max), 0);
  return logits.map((v) => Math.exp(v - max) / z);
}

/** Checks a lens row (top-1 and the target) against the independent values of that row. */
function checkRow(what: string, values: Float64Array, top: { id: number; value: number }, target: { id: number; value: number; rank: number }, tol: number): void {
  const best = Math.max(...values);
  assert.ok(Math.abs(top.value - best) <= tol * Math.max(1, Math.abs(best)), `${what}: top value ${top.value} vs ${best}`);
  assert.ok(values[top.id] >= best - tol * Math.max(1, Math.abs(best)), `${what}: top token ${top.id} is not (tied for) the best`);
  const v = values[target.id];
  assert.ok(Math.abs(target.value - v) <= tol * Math.max(1, Math.abs(v)), `${what}: target value ${target.value} vs ${v}`);
  // Ranks may differ only by near-ties with the target.
  const above = values.filter((x) => x > v + tol).length;
  const atLeast = values.filter((x) => x >= v - tol).length - 1;
  assert.ok(target.rank >= above && target.rank <= atLeast, `${what}: rank ${target.rank} not in [${above}, ${atLeast}]`);
}

const norm = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0));

for (const c of CASES) {
  test(`logit lens rows and components match an independent computation: ${c.label}`, async () => {
    const dir = c.dir();
    const ids = randomTokens(2, 11, c.vocab, 7);
    const ref = c.reference(dir, ids);
    const engine = await openModel(dir);
    try {
      const { config, params } = engine.ckpt;
      const st = readSafetensorsHeader(path.join(dir, 'model.safetensors'));
      const w = readTensorF32(st, params.finalNorm.w!.name);
      const b = params.finalNorm.b ? readTensorF32(st, params.finalNorm.b.name) : undefined;
      const wU = readTensorF32(st, params.unembed.name);
      const d = config.dModel;
      const layernorm = config.normalization === 'layernorm';
      const trace = await engine.trace(ids.map((row) => tokensFromIds(engine.ckpt, row)), { hooks: selectHooks(engine.ckpt.hooks, LOGIT_LENS_HOOKS) });
      const pos = ids[0].length;
      const targetId = 5;
      const at = (hook: string, p: number) => ref.get(hook)!.data.subarray(p * d, (p + 1) * d); // batch item 0 of [batch, pos, d_model]

      // The residual stream: every point given the final norm afresh, as probabilities.
      const lens = await engine.logitLens(trace, { k: 3, targetId, mode: 'resid' });
      assert.deepEqual([lens.mode, lens.labels, lens.pos], ['resid', c.resid, pos]);
      lens.labels.forEach((label, r) => {
        for (const p of [0, 4, pos - 1]) {
          const probs = softmax64(unembed(normalise(at(residHook(label, config.nLayers), p), layernorm, config.lnEps), w, b, wU, c.vocab));
          const row = r * pos + p;
          checkRow(`${label} at ${p}`, probs, { id: lens.topIds[row * 3], value: lens.topValues[row * 3] },
            { id: targetId, value: lens.targetValues![row], rank: lens.targetRanks![row] }, 1e-4);
        }
      });

      // The components: the engine's cached ones add up to its final residual (before the norm)...
      const components = residComponents(config);
      assert.deepEqual(components.map(([label]) => label), c.decomposed);
      const final = trace.cache.get(`blocks.${config.nLayers - 1}.hook_resid_post`).data; // [batch, pos, d_model]
      const sum = new Float64Array(final.length);
      for (const [, hook] of components) trace.cache.get(hook).data.forEach((v, i) => (sum[i] += v));
      const residual = Float64Array.from(final, (v, i) => v - sum[i]);
      assert.ok(norm(residual) <= 1e-4 * norm(final), `components sum to the final residual: relative error ${norm(residual) / norm(final)}`);
      // ...and the lens' scaled rows add up to the final residual centred and divided by its scale.
      const { rows } = decomposedLensInput(trace.cache, 0);
      const scale = trace.cache.get('ln_final.hook_scale').data; // [batch, pos, 1]
      for (let p = 0; p < pos; p++) {
        const want = normalise(final.subarray(p * d, (p + 1) * d), layernorm, 0, scale[p]);
        const got = Float64Array.from({ length: d }, (_, i) => components.reduce((a, _c, k) => a + rows.data[(k * pos + p) * d + i], 0));
        assert.ok(norm(got.map((v, i) => v - want[i])) <= 1e-4 * norm(want), `scaled components at ${p}`);
      }

      // Each component's direct logits, from the reference's components and final scale.
      const dec = await engine.logitLens(trace, { k: 3, targetId, mode: 'decomposed' });
      assert.deepEqual([dec.mode, dec.labels, dec.pos], ['decomposed', c.decomposed, pos]);
      const refScale = ref.get('ln_final.hook_scale')!.data;
      components.forEach(([label, hook], r) => {
        for (const p of [0, 4, pos - 1]) {
          const logits = unembed(normalise(at(hook, p), layernorm, 0, refScale[p]), w, undefined, wU, c.vocab);
          const row = r * pos + p;
          checkRow(`${label} at ${p}`, logits, { id: dec.topIds[row * 3], value: dec.topValues[row * 3] },
            { id: targetId, value: dec.targetValues![row], rank: dec.targetRanks![row] }, 1e-4);
        }
      });
      // With the norm's bias term, the components' logits are the model's own logits.
      const biasLogit = b ? unembed(new Float64Array(d), w, b, wU, c.vocab)[targetId] : 0;
      for (let p = 0; p < pos; p++) {
        const total = components.reduce((a, _c, r) => a + dec.targetValues![r * pos + p], biasLogit);
        const model = trace.logits.data[p * c.vocab + targetId]; // batch item 0 of [batch, pos, d_vocab]
        assert.ok(Math.abs(total - model) <= 1e-4 * Math.max(1, Math.abs(model)), `direct logits add up to the logit at ${p}: ${total} vs ${model}`);
      }
    } finally {
      await engine.dispose();
    }
  });
}

test('the lens slices of a kept palette trace: both views, and a target of two tokens refused', () => withRunner({}, async (client) => {
  const trace = await client.request('trace', { model: { ref: 'demo' }, input: { text: 'The cat sat on the mat' }, hooks: VIEW_HOOKS, keep: true });
  const pos = trace.tokens.length;
  const lens = (await client.request('run/slice', { runId: trace.runId!, slice: { kind: 'logitLens', target: ' the', topK: 3 } })) as LogitLensSlice;
  assert.deepEqual([lens.mode, lens.labels, lens.target?.values.length], ['resid', ['0_pre', '0_mid', '1_pre', '1_mid', 'final_post'], 5 * pos]);
  const dec = (await client.request('run/slice', { runId: trace.runId!, slice: { kind: 'logitLens', target: ' the', topK: 3, decompose: true } })) as LogitLensSlice;
  assert.deepEqual([dec.mode, dec.labels, dec.topValues.length], ['decomposed', ['embed', 'pos_embed', '0_attn_out', '0_mlp_out', '1_attn_out', '1_mlp_out'], 6 * pos * 3]);
  await assert.rejects(client.request('run/slice', { runId: trace.runId!, slice: { kind: 'logitLens', target: ' the mat', topK: 3 } }),
    (e: unknown) => e instanceof CircuitLensError && e.code === 'BAD_INPUT' && /" the mat" is 2 tokens for this model: " the" \+ " mat"/.test(e.message));
}));
