/**
 * The split-input graph variant (TransformerLens' use_split_qkv_input and use_hook_mlp_in) against the
 * independent PyTorch references: with the split hooks cached, every other hook point and the logits equal
 * the reference's plain forward within 1e-4, each head's hook_q_input / hook_k_input / hook_v_input equals
 * resid_pre and hook_mlp_in equals resid_mid (resid_pre with parallel attention and MLP). Covers GPT-2's
 * fused [q | k | v], GPT-NeoX's per-head fused layout and Llama's separate projections with grouped keys.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { withModel } from '../helpers/engine';
import { tokensFromIds } from '../../src/engine/model';
import { splitInputHooks } from '../../src/engine/hooks';
import { FamilySpec, familyReferenceActivations, makeFamilyCheckpoint, mismatches } from '../helpers/family-reference';
import { makeRandomCheckpoint, maxAbsDiff, randomTokens, referenceActivations } from '../helpers/reference';
import type { TensorData } from '../../src/protocol/tensor';
import type { Trace } from '../../src/engine/tracer';
import { EngineError } from '../../src/engine/errors';

const TOLERANCE = 1e-4;

/** Head `head` of a [batch, pos, heads, d_model] tensor: [batch, pos, d_model]. */
function headOf(t: TensorData, head: number): Float32Array {
  const [b, p, heads, d] = t.dims;
  const out = new Float32Array(b * p * d);
  for (let r = 0; r < b * p; r++) out.set(t.data.subarray((r * heads + head) * d, (r * heads + head + 1) * d), r * d);
  return out;
}

/** The split hooks equal the residuals they copy; everything else equals the reference. */
function checkSplit(trace: Trace, ref: Map<string, TensorData>, layers: number, parallel: boolean): void {
  const plainOnly = new Map(trace.cache.names().filter((n) => !/hook_(q|k|v)_input$|hook_mlp_in$/.test(n)).map((n) => [n, trace.cache.get(n)]));
  const plain = { ...trace, cache: { names: () => [...plainOnly.keys()], get: (n: string) => plainOnly.get(n)!, has: (n: string) => plainOnly.has(n) } } as unknown as Trace;
  assert.deepEqual(mismatches(plain, ref, TOLERANCE), []);
  for (let l = 0; l < layers; l++) {
    const pre = ref.get(`blocks.${l}.hook_resid_pre`)!.data;
    for (const part of ['q', 'k', 'v']) {
      const t = trace.cache.get(`blocks.${l}.hook_${part}_input`);
      for (let h = 0; h < t.dims[2]; h++) assert.ok(maxAbsDiff(headOf(t, h), pre) <= TOLERANCE, `blocks.${l}.hook_${part}_input head ${h}`);
    }
    const mlpIn = ref.get(`blocks.${l}.${parallel ? 'hook_resid_pre' : 'hook_resid_mid'}`)!.data;
    assert.ok(maxAbsDiff(trace.cache.get(`blocks.${l}.hook_mlp_in`).data, mlpIn) <= TOLERANCE, `blocks.${l}.hook_mlp_in`);
  }
}

test('split inputs on GPT-2 (fused q|k|v): the forward equals the plain reference and the split hooks equal resid_pre / resid_mid', async () => {
  const dir = makeRandomCheckpoint({ layers: 2, dModel: 48, heads: 3, dMlp: 96, vocab: 300, ctx: 32, dtype: 'F32', seed: 141 });
  const ids = randomTokens(2, 11, 300, 141);
  const ref = referenceActivations(dir, ids);
  await withModel(dir, async (m) => {
    const hooks = [...m.ckpt.hooks, ...splitInputHooks(m.ckpt.config)];
    const trace = await m.trace(ids.map((r) => tokensFromIds(m.ckpt, r)), { hooks });
    assert.deepEqual(trace.cache.get('blocks.1.hook_q_input').dims, [2, 11, 3, 48]);
    checkSplit(trace, ref, 2, false);
  });
});

const FAMILIES: [string, FamilySpec, boolean][] = [
  ['GPT-NeoX (per-head fused, parallel attention and MLP, partial rotary)', { family: 'neox', layers: 2, dModel: 48, heads: 4, dMlp: 96, vocab: 200, ctx: 32, dtype: 'F32', seed: 142, extra: ['--rotary-pct', '0.5'] }, true],
  ['Llama (separate q/k/v, 4 heads / 2 key-value heads)', { family: 'llama', layers: 2, dModel: 32, heads: 4, dMlp: 64, vocab: 200, ctx: 32, dtype: 'F32', seed: 143, extra: ['--kv-heads', '2'] }, false],
];

for (const [label, spec, parallel] of FAMILIES) {
  test(`split inputs on ${label}: the forward equals the plain reference, the split hooks equal the residuals they copy`, async () => {
    const dir = makeFamilyCheckpoint(spec);
    const ids = randomTokens(2, 9, spec.vocab, spec.seed);
    const ref = familyReferenceActivations(dir, ids);
    await withModel(dir, async (m) => {
      const trace = await m.trace(ids.map((r) => tokensFromIds(m.ckpt, r)), { hooks: [...m.ckpt.hooks, ...splitInputHooks(m.ckpt.config)] });
      if (spec.family === 'llama') assert.deepEqual(trace.cache.get('blocks.0.hook_k_input').dims, [2, 9, 2, 32]);
      checkSplit(trace, ref, spec.layers, parallel);
    });
  });
}

test('EXPECTED FAILURE - an intervention on ln1 with split inputs names the hook and where to intervene instead', async () => {
  const dir = makeRandomCheckpoint({ layers: 1, dModel: 32, heads: 2, dMlp: 64, vocab: 100, ctx: 16, dtype: 'F32', seed: 144 });
  await withModel(dir, async (m) => {
    const tokens = [tokensFromIds(m.ckpt, [1, 2, 3])];
    const one = (dims: number[]) => ({ dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(1) });
    const interventions = [{ hook: 'blocks.0.ln1.hook_normalized', keep: one([1]), add: one([1]) }, { hook: 'blocks.0.hook_q_input', keep: one([1]), add: one([1]) }];
    await assert.rejects(m.trace(tokens, { interventions }), (e: unknown) => e instanceof EngineError && /blocks\.0\.ln1\.hook_normalized.*split inputs.*hook_q_input/s.test(e.message));
  });
});
