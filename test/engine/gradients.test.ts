/**
 * Gradients through the graph we build (src/engine/graph/autodiff/) against PyTorch autograd on the family
 * references (test/reference/grad_reference.py, TransformerLens semantics with use_attn_result) on
 * random-weight checkpoints of every family: at every hook point, for the logit-difference and loss
 * metrics, the largest error of each hook's gradient within 1e-4 of that hook's largest gradient
 * magnitude; with interventions (a zero-ablated head's z, a residual patch) in effect; hook_attn_scores'
 * masked entries exactly 0; a run that starts at a later layer; the gradients of a batch are each row's own.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { openModel } from '../helpers/engine';
import { tokensFromIds } from '../../src/engine/model';
import type { GradMetric } from '../../src/engine/analysis/metrics';
import type { Intervention } from '../../src/protocol/runner';
import { makeRandomCheckpoint, randomTokens } from '../helpers/reference';
import { FamilySpec, makeFamilyCheckpoint } from '../helpers/family-reference';
import { gradientMismatches, referenceGradients } from '../helpers/grad-reference';
import type { LoadedModel } from '../../src/worker/loaded-model';

const TOLERANCE = 1e-4;

type Case = [string, () => string, number];
const family = (spec: FamilySpec): (() => string) => () => makeFamilyCheckpoint(spec);

const CASES: Case[] = [
  ['gpt2 (gelu_new, tied)', () => makeRandomCheckpoint({ layers: 2, dModel: 48, heads: 4, dMlp: 96, vocab: 200, ctx: 32, dtype: 'F32', seed: 81 }), 200],
  ['gpt2 (gelu, untied)', () => makeRandomCheckpoint({ layers: 2, dModel: 32, heads: 2, dMlp: 64, vocab: 150, ctx: 32, dtype: 'F32', seed: 82, act: 'gelu', untied: true }), 150],
  ['neox (parallel attention and MLP, rotary 0.25)', family({ family: 'neox', layers: 2, dModel: 64, heads: 4, dMlp: 128, vocab: 200, ctx: 32, dtype: 'F32', seed: 11 }), 200],
  ['neox (sequential, 5 heads, rotary 0.5)', family({ family: 'neox', layers: 2, dModel: 60, heads: 5, dMlp: 120, vocab: 200, ctx: 32, dtype: 'F32', seed: 12, extra: ['--rotary-pct', '0.5', '--sequential'] }), 200],
  ['llama (6 heads / 2 kv heads)', family({ family: 'llama', layers: 2, dModel: 48, heads: 6, dMlp: 128, vocab: 200, ctx: 32, dtype: 'F32', seed: 21, extra: ['--kv-heads', '2'] }), 200],
  ['qwen2 (q/k/v biases, sliding window from layer 1)', family({ family: 'llama', layers: 2, dModel: 40, heads: 5, dMlp: 80, vocab: 200, ctx: 32, dtype: 'F32', seed: 23, extra: ['--model-type', 'qwen2', '--window', '4'] }), 200],
  ['mistral (6 heads / 3 kv heads, window 5)', family({ family: 'llama', layers: 2, dModel: 48, heads: 6, dMlp: 96, vocab: 200, ctx: 32, dtype: 'F32', seed: 24, extra: ['--model-type', 'mistral', '--kv-heads', '3', '--window', '5'] }), 200],
  ['qwen3 (per-head q/k norms, head_dim 16, attention bias)', family({ family: 'llama', layers: 2, dModel: 48, heads: 4, dMlp: 96, vocab: 200, ctx: 32, dtype: 'F32', seed: 25, extra: ['--model-type', 'qwen3', '--kv-heads', '2', '--head-dim', '16', '--attention-bias'] }), 200],
  ['olmo2 (post norms, whole-projection q/k norms)', family({ family: 'llama', layers: 2, dModel: 48, heads: 4, dMlp: 96, vocab: 200, ctx: 32, dtype: 'F32', seed: 27, extra: ['--model-type', 'olmo2', '--kv-heads', '2'] }), 200],
  ['gemma2 (sandwich norms, soft-caps 5 / 10, window 4)', family({ family: 'gemma', layers: 3, dModel: 48, heads: 5, dMlp: 96, vocab: 200, ctx: 32, dtype: 'F32', seed: 61, extra: ['--kv-heads', '1', '--head-dim', '16', '--query-pre-attn-scalar', '24', '--attn-softcap', '5', '--final-softcap', '10', '--window', '4'] }), 200],
  ['gemma3_text (q/k norms, local and global rotary)', family({ family: 'gemma', layers: 3, dModel: 40, heads: 4, dMlp: 80, vocab: 200, ctx: 32, dtype: 'F32', seed: 64, extra: ['--model-type', 'gemma3_text', '--kv-heads', '2', '--head-dim', '16', '--query-pre-attn-scalar', '20', '--pattern', '2', '--window', '5', '--rope-local-base', '500'] }), 200],
  ['phi3 (longrope long factors, partial rotary 0.75, fused qkv and gate_up)', family({ family: 'phi3', layers: 2, dModel: 36, heads: 3, dMlp: 64, vocab: 200, ctx: 32, dtype: 'F32', seed: 63, extra: ['--kv-heads', '1', '--head-dim', '16', '--partial-rotary', '0.75', '--longrope', '4'] }), 200],
  ['gptneo (global / local window 4)', family({ family: 'gptneo', layers: 2, dModel: 48, heads: 3, dMlp: 96, vocab: 200, ctx: 32, dtype: 'F32', seed: 31 }), 200],
];

const METRICS: GradMetric[] = [{ kind: 'logitDiff', answer: 5, counterfactual: 17 }, { kind: 'loss' }];

/** The engine's gradients at every hook and the reference's agree; returns the trace. */
async function checkAll(engine: LoadedModel, dir: string, ids: number[][], metric: GradMetric, interventions: Intervention[] = []) {
  const trace = await engine.trace(ids.map((r) => tokensFromIds(engine.ckpt, r)), { logits: 'all', interventions, grad: { metric, hooks: engine.ckpt.hooks } });
  const ref = referenceGradients(dir, ids, metric, interventions);
  assert.equal(trace.grads!.names().length, engine.ckpt.hooks.length);
  assert.deepEqual(gradientMismatches(trace, ref, TOLERANCE), []);
  const metricRef = ref.get('metric')!.data;
  trace.metric!.forEach((v, i) => assert.ok(Math.abs(v - metricRef[i]) <= 1e-4 * Math.max(1, Math.abs(metricRef[i])), `metric of row ${i}: ${v} vs ${metricRef[i]}`));
  // Not vacuous: nearly every hook has a non-zero gradient (a fused LayerNorm scale aside, none is zero).
  const zero = trace.grads!.names().filter((n) => !trace.grads!.get(n).data.some((x) => x !== 0));
  assert.deepEqual(zero, [], 'hooks with an all-zero gradient');
  return trace;
}

for (const [label, make, vocab] of CASES) {
  test(`gradients match autograd at every hook point: ${label}`, async () => {
    const dir = make();
    const ids = randomTokens(2, 11, vocab, 7);
    const engine = await openModel(dir);
    try {
      for (const metric of METRICS) {
        const trace = await checkAll(engine, dir, ids, metric);
        // hook_attn_scores' gradient at masked (future) entries is exactly 0 (either sign), never NaN; hook_pattern's is autograd's, not zeroed.
        for (let l = 0; l < engine.ckpt.config.nLayers; l++) {
          const grad = trace.grads!.get(`blocks.${l}.attn.hook_attn_scores`);
          const [batch, heads, pos] = grad.dims;
          for (let r = 0; r < batch * heads; r++) for (let q = 0; q < pos; q++) for (let k = q + 1; k < pos; k++) assert.ok(grad.data[(r * pos + q) * pos + k] === 0, `L${l} scores grad at masked (${q}, ${k})`);
        }
        const pattern = trace.grads!.get('blocks.0.attn.hook_pattern');
        const pos = pattern.dims[2];
        assert.ok(pattern.data.some((x, i) => (i % pos) > Math.floor(i / pos) % pos && x !== 0), 'hook_pattern has gradients at masked entries');
        assert.equal(trace.cache.names().length, 0, 'gradient hooks need not be cached');
      }
    } finally {
      await engine.dispose();
    }
  });
}

const full = (dims: number[], f: (i: number) => number) => ({ dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => f(i)) });

test('gradients with interventions in effect (zero-ablated head z, residual patch, steering) match autograd', async () => {
  for (const [dir, heads, d] of [[makeRandomCheckpoint({ layers: 2, dModel: 32, heads: 4, dMlp: 64, vocab: 200, ctx: 32, dtype: 'F32', seed: 91 }), 4, 32],
    [makeFamilyCheckpoint({ family: 'llama', layers: 2, dModel: 48, heads: 6, dMlp: 64, vocab: 200, ctx: 32, dtype: 'F32', seed: 92, extra: ['--kv-heads', '2'] }), 6, 48]] as const) {
    const ids = randomTokens(2, 9, 200, 3);
    const interventions: Intervention[] = [
      { hook: 'blocks.0.attn.hook_z', keep: full([1, 1, heads, 1], (i) => (i === 1 ? 0 : 1)), add: full([1], () => 0) },
      { hook: 'blocks.1.hook_resid_pre', keep: full([2, 9, 1], (i) => (i % 9 === 4 ? 0 : 1)), add: full([2, 9, d], (i) => (Math.floor(i / d) % 9 === 4 ? Math.sin(i) : 0)) },
      { hook: 'blocks.1.hook_mlp_out', keep: full([1], () => 0.5), add: full([d], (i) => 0.2 * Math.cos(i)) },
    ];
    const engine = await openModel(dir);
    try {
      for (const metric of METRICS) await checkAll(engine, dir, ids, metric, interventions);
      // The ablated head's z still gets its gradient (d metric / d z after the intervention); upstream of it, keep = 0 stops it.
      const trace = await engine.trace(ids.map((r) => tokensFromIds(engine.ckpt, r)), { interventions: interventions.slice(0, 1), grad: { metric: METRICS[0], hooks: engine.ckpt.hooks.filter((h) => /blocks\.0\.attn\.hook_(z|v)$/.test(h.name)) } });
      const v = trace.grads!.get('blocks.0.attn.hook_v');
      assert.ok(v.data.some((x) => x !== 0));
    } finally {
      await engine.dispose();
    }
  }
});

test('a run that starts at a later layer gives the same gradients as the whole run', async () => {
  const dir = makeFamilyCheckpoint({ family: 'neox', layers: 3, dModel: 32, heads: 4, dMlp: 64, vocab: 200, ctx: 32, dtype: 'F32', seed: 93 });
  const ids = randomTokens(2, 10, 200, 9);
  const engine = await openModel(dir);
  try {
    const batch = ids.map((r) => tokensFromIds(engine.ckpt, r));
    const hooks = engine.ckpt.hooks.filter((h) => /^blocks\.[12]\./.test(h.name));
    const metric: GradMetric = { kind: 'logit', token: 11 };
    const whole = await engine.trace(batch, { hooks: engine.ckpt.hooks.filter((h) => h.name === 'blocks.1.hook_resid_pre'), grad: { metric, hooks } });
    const late = await engine.trace(batch, { startAt: { layer: 1, resid: whole.cache.get('blocks.1.hook_resid_pre') }, grad: { metric, hooks } });
    for (const h of hooks) {
      const a = whole.grads!.get(h.name).data, b = late.grads!.get(h.name).data;
      const scale = Math.max(...a.map(Math.abs));
      assert.ok(scale > 0 && a.every((x, i) => Math.abs(x - b[i]) <= 1e-5 * scale), h.name);
    }
  } finally {
    await engine.dispose();
  }
});

test('bad gradient metrics are refused naming the field', async () => {
  const dir = makeRandomCheckpoint({ layers: 1, dModel: 32, heads: 2, dMlp: 64, vocab: 100, ctx: 16, dtype: 'F32', seed: 94 });
  const engine = await openModel(dir);
  try {
    const batch = [tokensFromIds(engine.ckpt, [1, 2, 3])];
    const hooks = engine.ckpt.hooks.slice(0, 2);
    await assert.rejects(engine.trace(batch, { grad: { metric: { kind: 'logit', token: 100 }, hooks } }), /grad\.metric.*outside the vocabulary/);
    await assert.rejects(engine.trace(batch, { grad: { metric: { kind: 'loss', from: 3 }, hooks } }), /loss range \[3, 3\) is empty/);
    await assert.rejects(engine.trace(batch, { logits: 'last', grad: { metric: { kind: 'loss' }, hooks } }), /every position's logits/);
  } finally {
    await engine.dispose();
  }
});
