/**
 * The engine against the independent family references (GPT-NeoX, Llama / Mistral / Qwen2 / Qwen3 / OLMo 2, Phi-3, GPT-Neo, Gemma 2 / Gemma 3) on
 * random-weight checkpoints: logits and every hook point (per-head results included) within 1e-4 in fp32,
 * across odd head counts, GQA ratios, rotary fractions, rope scaling (LongRoPE's short and long factors included), sliding windows,
 * local layers, per-head and whole-projection q/k norms, post norms, fused q/k/v and gate/up projections, transformers v5 config shapes,
 * sandwich norms, (1 + w) RMSNorms, soft-caps, per-layer rotary bases, nested text configs,
 * F32/F16/BF16 weights and tied/untied unembeddings; interventions per family; sharded weights;
 * the logit lens' final norm; `circuit-lens hooks`.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LOGIT_LENS_HOOKS } from '../../src/protocol/runner';
import { openModel } from '../helpers/engine';
import { selectHooks } from '../../src/engine/hooks';
import { openCheckpoint, tokensFromIds } from '../../src/engine/model';
import { EngineError } from '../../src/engine/errors';
import { directLogitAttribution } from '../../src/engine/analysis/attribution';
import { decomposedLensInput } from '../../src/engine/logit-lens';
import { readSafetensorsHeader } from '../../src/engine/safetensors';
import type { Intervention } from '../../src/protocol/runner';
import { CLI, maxAbsDiff, randomTokens, tmpDir } from '../helpers/reference';
import { writeSafetensors } from '../helpers/safetensors-writer';
import { FamilySpec, familyReferenceActivations, makeFamilyCheckpoint, mismatches } from '../helpers/family-reference';

const TOLERANCE = 1e-4;

const CASES: [string, FamilySpec][] = [
  ['neox: rotary 0.25, parallel, untied, F32', { family: 'neox', layers: 2, dModel: 64, heads: 4, dMlp: 256, vocab: 500, ctx: 64, dtype: 'F32', seed: 11 }],
  ['neox: 5 heads, rotary 0.5, sequential, tied, F16', { family: 'neox', layers: 3, dModel: 60, heads: 5, dMlp: 120, vocab: 300, ctx: 32, dtype: 'F16', tied: true, seed: 12, extra: ['--rotary-pct', '0.5', '--sequential'] }],
  ['neox: full rotary, 1 head, BF16', { family: 'neox', layers: 1, dModel: 32, heads: 1, dMlp: 64, vocab: 200, ctx: 24, dtype: 'BF16', seed: 13, extra: ['--rotary-pct', '1.0', '--act', 'gelu_new'] }],
  ['llama: 6 heads / 2 kv heads, F32', { family: 'llama', layers: 2, dModel: 48, heads: 6, dMlp: 128, vocab: 400, ctx: 64, dtype: 'F32', seed: 21, extra: ['--kv-heads', '2'] }],
  ['llama: 4 heads / 1 kv head, head_dim 24, llama3 rope scaling, attention bias, tied, BF16', { family: 'llama', layers: 2, dModel: 64, heads: 4, dMlp: 96, vocab: 300, ctx: 64, dtype: 'BF16', tied: true, seed: 22, extra: ['--kv-heads', '1', '--head-dim', '24', '--rope-scaling', 'llama3:8:16', '--attention-bias'] }],
  ['qwen2: q/k/v biases, sliding window from layer 1, rope_theta 1e6, F16', { family: 'llama', layers: 2, dModel: 40, heads: 5, dMlp: 80, vocab: 350, ctx: 32, dtype: 'F16', seed: 23, extra: ['--model-type', 'qwen2', '--window', '4', '--rope-theta', '1000000'] }],
  ['mistral: 6 heads / 3 kv heads, sliding window 5, linear rope scaling, F32', { family: 'llama', layers: 2, dModel: 48, heads: 6, dMlp: 96, vocab: 300, ctx: 32, dtype: 'F32', seed: 24, extra: ['--model-type', 'mistral', '--kv-heads', '3', '--window', '5', '--rope-scaling', 'linear:2'] }],
  ['qwen3: q/k norms, head_dim 16 (hidden 48 / 4 heads = 12), 4 heads / 2 kv heads, tied, rope_parameters theta 1e6, F32', { family: 'llama', layers: 2, dModel: 48, heads: 4, dMlp: 96, vocab: 300, ctx: 32, dtype: 'F32', tied: true, seed: 25, extra: ['--model-type', 'qwen3', '--kv-heads', '2', '--head-dim', '16', '--rope-theta', '1000000', '--rope-parameters'] }],
  ['qwen3: attention_bias true (q/k/v/o biases), 3 heads / 3 kv heads, head_dim 20, untied, BF16', { family: 'llama', layers: 3, dModel: 32, heads: 3, dMlp: 64, vocab: 250, ctx: 32, dtype: 'BF16', seed: 26, extra: ['--model-type', 'qwen3', '--head-dim', '20', '--attention-bias'] }],
  ['olmo2: post norms, whole-projection q/k norms, 4 heads / 2 kv heads, untied, rope_theta 500000, F32', { family: 'llama', layers: 2, dModel: 48, heads: 4, dMlp: 96, vocab: 300, ctx: 32, dtype: 'F32', seed: 27, extra: ['--model-type', 'olmo2', '--kv-heads', '2', '--rope-theta', '500000'] }],
  ['olmo2: attention_bias, head_dim 20 (hidden 32 / 4 heads = 8), 4 heads / 1 kv head, 3 layers, tied, rope_parameters, BF16', { family: 'llama', layers: 3, dModel: 32, heads: 4, dMlp: 64, vocab: 250, ctx: 32, dtype: 'BF16', tied: true, seed: 28, extra: ['--model-type', 'olmo2', '--kv-heads', '1', '--head-dim', '20', '--attention-bias', '--rope-parameters'] }],
  ['gemma2: 5 heads / 1 kv head, head_dim 16, query_pre_attn_scalar 24, soft-caps 5 / 10, window 4 on even layers, no tie field (tied), F32',
    { family: 'gemma', layers: 3, dModel: 48, heads: 5, dMlp: 96, vocab: 300, ctx: 32, dtype: 'F32', seed: 61, extra: ['--kv-heads', '1', '--head-dim', '16', '--query-pre-attn-scalar', '24', '--attn-softcap', '5', '--final-softcap', '10', '--window', '4', '--no-tie-field'] }],
  ['gemma2: 6 heads / 2 kv heads, head_dim 12 (hidden 48 / 6 = 8), layer_types, window 6, soft-caps 6 / 12, hidden_act field, untied, BF16',
    { family: 'gemma', layers: 2, dModel: 48, heads: 6, dMlp: 64, vocab: 250, ctx: 32, dtype: 'BF16', seed: 62, extra: ['--kv-heads', '2', '--head-dim', '12', '--query-pre-attn-scalar', '12', '--attn-softcap', '6', '--final-softcap', '12', '--window', '6', '--layer-types', '--hidden-act-field', '--untied'] }],
  ['gemma2: soft-caps null, 3 heads / 3 kv heads, head_dim 20, rope_parameters theta 20000, F16',
    { family: 'gemma', layers: 2, dModel: 32, heads: 3, dMlp: 64, vocab: 200, ctx: 32, dtype: 'F16', seed: 63, extra: ['--head-dim', '20', '--query-pre-attn-scalar', '32', '--window', '3', '--rope-theta', '20000', '--rope-parameters'] }],
  ['gemma3_text: q/k norms, 4 heads / 2 kv heads, head_dim 16, sliding_window_pattern 3, window 5, global rope_theta 1e6 with linear 8, local base 500, tied, F32',
    { family: 'gemma', layers: 4, dModel: 40, heads: 4, dMlp: 80, vocab: 300, ctx: 32, dtype: 'F32', seed: 64, extra: ['--model-type', 'gemma3_text', '--kv-heads', '2', '--head-dim', '16', '--query-pre-attn-scalar', '20', '--pattern', '3', '--window', '5', '--rope-theta', '1000000', '--rope-scaling', 'linear:8', '--rope-local-base', '500'] }],
  ['gemma3 (text_config, language_model.model. weights, language_model.lm_head untied): 5 heads / 1 kv head, default pattern 6 as layer_types, window 4, attn_logit_softcapping 6 unused (as HF) and final soft-cap 12, BF16',
    { family: 'gemma', layers: 7, dModel: 30, heads: 5, dMlp: 48, vocab: 200, ctx: 32, dtype: 'BF16', seed: 65, extra: ['--model-type', 'gemma3', '--kv-heads', '1', '--head-dim', '8', '--query-pre-attn-scalar', '8', '--layer-types', '--window', '4', '--attn-softcap', '6', '--final-softcap', '12', '--rope-theta', '1000000', '--rope-local-base', '10000', '--untied'] }],
  ['gemma3 (text_config, model.language_model. weights): rope_parameters per layer type (global linear 4, local base 2000), pattern 2, window 3, tied, F32',
    { family: 'gemma', layers: 3, dModel: 32, heads: 2, dMlp: 64, vocab: 200, ctx: 32, dtype: 'F32', seed: 66, extra: ['--model-type', 'gemma3', '--prefix', 'model.language_model.', '--head-dim', '24', '--query-pre-attn-scalar', '30', '--pattern', '2', '--window', '3', '--rope-theta', '100000', '--rope-scaling', 'linear:4', '--rope-local-base', '2000', '--rope-parameters'] }],
  ['phi3: longrope, a run of 19 longer than original_max_position_embeddings 8 (long factors, attention factor sqrt 2), 6 heads / 2 kv heads, untied, F32', { family: 'phi3', layers: 2, dModel: 48, heads: 6, dMlp: 96, vocab: 300, ctx: 64, dtype: 'F32', seed: 61, extra: ['--kv-heads', '2', '--longrope', '8'] }],
  ['phi3: longrope named su, a run of 19 within original_max_position_embeddings 32 (short factors), explicit attention_factor 1.3, 5 heads, tied, BF16', { family: 'phi3', layers: 2, dModel: 40, heads: 5, dMlp: 80, vocab: 250, ctx: 128, dtype: 'BF16', tied: true, seed: 62, extra: ['--longrope', '32', '--rope-name', 'su', '--attention-factor', '1.3'] }],
  ['phi3: partial_rotary_factor 0.75 of head_dim 16 (hidden 36 / 3 heads = 12), longrope long, 3 heads / 1 kv head, F16', { family: 'phi3', layers: 2, dModel: 36, heads: 3, dMlp: 64, vocab: 200, ctx: 32, dtype: 'F16', seed: 63, extra: ['--kv-heads', '1', '--head-dim', '16', '--partial-rotary', '0.75', '--longrope', '4'] }],
  ['phi3: sliding_window 5 on every layer, no rope scaling, rope_theta 1e6, 4 heads / 2 kv heads, 3 layers, F32', { family: 'phi3', layers: 3, dModel: 32, heads: 4, dMlp: 64, vocab: 200, ctx: 32, dtype: 'F32', seed: 64, extra: ['--kv-heads', '2', '--window', '5', '--rope-theta', '1000000'] }],
  ['phi3: transformers v5 rope_parameters (longrope long, partial_rotary_factor 0.5 inside), tied, F32', { family: 'phi3', layers: 2, dModel: 48, heads: 4, dMlp: 96, vocab: 300, ctx: 64, dtype: 'F32', tied: true, seed: 65, extra: ['--kv-heads', '2', '--partial-rotary', '0.5', '--longrope', '16', '--rope-parameters'] }],
  ['llama 3.2 drift: rope_parameters with llama3 scaling and rope_theta 500000, head_dim 16 (hidden 48 / 6 heads = 8), 6 heads / 2 kv heads, tied (no lm_head), BF16', { family: 'llama', layers: 2, dModel: 48, heads: 6, dMlp: 96, vocab: 300, ctx: 64, dtype: 'BF16', tied: true, seed: 71, extra: ['--kv-heads', '2', '--head-dim', '16', '--rope-theta', '500000', '--rope-scaling', 'llama3:32:16', '--rope-parameters'] }],
  ['smollm2 shape: LlamaForCausalLM, 9 heads / 3 kv heads, head_dim 8, tied, rope_theta 100000, F32', { family: 'llama', layers: 2, dModel: 72, heads: 9, dMlp: 192, vocab: 300, ctx: 64, dtype: 'F32', tied: true, seed: 72, extra: ['--kv-heads', '3', '--rope-theta', '100000'] }],
  ['mistral drift: rope_parameters with linear scaling, sliding window 6, F32', { family: 'llama', layers: 2, dModel: 32, heads: 4, dMlp: 64, vocab: 200, ctx: 32, dtype: 'F32', seed: 73, extra: ['--model-type', 'mistral', '--window', '6', '--rope-scaling', 'linear:4', '--rope-parameters'] }],
  ['qwen2 drift: layer_types (sliding, full, sliding) over max_window_layers, rope_parameters, F32', { family: 'llama', layers: 3, dModel: 40, heads: 5, dMlp: 80, vocab: 200, ctx: 32, dtype: 'F32', seed: 74, extra: ['--model-type', 'qwen2', '--window', '4', '--layer-types', 'sliding,full,sliding', '--rope-parameters'] }],
  ['qwen3: use_sliding_window, window 5 from max_window_layers 1 on, 4 heads / 2 kv heads, F32', { family: 'llama', layers: 2, dModel: 32, heads: 4, dMlp: 64, vocab: 200, ctx: 32, dtype: 'F32', seed: 77, extra: ['--model-type', 'qwen3', '--kv-heads', '2', '--head-dim', '8', '--window', '5'] }],
  ['qwen3 drift: layer_types (full, sliding, full) with use_sliding_window, window 3, rope_parameters, BF16', { family: 'llama', layers: 3, dModel: 32, heads: 4, dMlp: 64, vocab: 200, ctx: 32, dtype: 'BF16', seed: 78, extra: ['--model-type', 'qwen3', '--head-dim', '8', '--window', '3', '--layer-types', 'full,sliding,full', '--rope-parameters'] }],
  ['olmo2 drift: rope_parameters with llama3 scaling, F32', { family: 'llama', layers: 2, dModel: 32, heads: 4, dMlp: 64, vocab: 200, ctx: 32, dtype: 'F32', seed: 75, extra: ['--model-type', 'olmo2', '--kv-heads', '2', '--rope-scaling', 'llama3:8:8', '--rope-parameters'] }],
  ['neox drift: transformers v5 rope_parameters (rope_theta 20000, partial_rotary_factor 0.5), F32', { family: 'neox', layers: 2, dModel: 48, heads: 4, dMlp: 96, vocab: 200, ctx: 32, dtype: 'F32', seed: 76, extra: ['--rotary-pct', '0.5', '--rope-theta', '20000', '--rope-parameters'] }],
  ['gptneo: global/local window 4, F32', { family: 'gptneo', layers: 2, dModel: 48, heads: 3, dMlp: 96, vocab: 400, ctx: 32, dtype: 'F32', seed: 31 }],
  ['gptneo: local/global window 3, relu, F16', { family: 'gptneo', layers: 4, dModel: 32, heads: 4, dMlp: 64, vocab: 250, ctx: 24, dtype: 'F16', seed: 32, extra: ['--attention-pattern', 'local,global', '--window', '3', '--act', 'relu'] }],
];

for (const [label, spec] of CASES) {
  test(`matches the ${spec.family} reference on every hook point: ${label}`, async () => {
    const dir = makeFamilyCheckpoint(spec);
    const ids = randomTokens(2, spec.pos ?? Math.min(spec.ctx, 19), spec.vocab, spec.seed);
    const ref = familyReferenceActivations(dir, ids);
    const engine = await openModel(dir);
    try {
      const batch = ids.map((row) => tokensFromIds(engine.ckpt, row));
      const trace = await engine.trace(batch, { hooks: engine.ckpt.hooks });
      assert.equal(trace.cache.names().length, engine.ckpt.hooks.length);
      assert.deepEqual(mismatches(trace, ref, TOLERANCE), []);
      assert.ok(Math.max(...trace.logits.data.map(Math.abs)) > 1, 'logits are not vacuous');
      const { attnSoftcap, finalLogitSoftcap } = engine.ckpt.config;
      if (attnSoftcap) {
        const scores = ref.get('blocks.0.attn.hook_attn_scores')!.data.filter(Number.isFinite);
        assert.ok(scores.some((x) => Math.abs(x) > attnSoftcap / 2), 'the attention soft-cap is in its non-linear range');
      }
      if (finalLogitSoftcap) assert.ok(ref.get('logits')!.data.some((x) => Math.abs(x) > finalLogitSoftcap / 2), 'the final soft-cap is in its non-linear range');
      // The plain graph (no per-head results) gives the same logits.
      const plain = await engine.trace(batch);
      assert.ok(maxAbsDiff(plain.logits.data, ref.get('logits')!.data) <= TOLERANCE);
      // The logit lens' final component (final norm + unembedding afresh) is the model's own prediction.
      const lensTrace = await engine.trace(batch, { hooks: selectHooks(engine.ckpt.hooks, LOGIT_LENS_HOOKS) });
      const lens = await engine.logitLens(lensTrace, { k: 1 });
      const { pos } = lens;
      const v = spec.vocab;
      for (let p = 0; p < pos; p++) {
        const row = plain.logits.data.subarray(p * v, (p + 1) * v); // batch item 0, after any final soft-cap
        const max = Math.max(...row);
        const top = 1 / row.reduce((a, x) => a + Math.exp(x - max), 0);
        assert.ok(Math.abs(lens.topValues[(lens.labels.length - 1) * pos + p] - top) < 1e-4, `lens final_post at ${p}`);
      }
    } finally {
      await engine.dispose();
    }
  });
}

const full = (dims: number[], f: (i: number) => number) => ({ dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => f(i)) });

/** Head ablation, a residual patch on an alias hook, steering, a per-head result ablation, and one family-specific hook. */
function interventionsFor(d: number, heads: number, kvHeads: number, dHead: number, specific: string): Intervention[] {
  return [
    { hook: 'blocks.0.attn.hook_z', keep: full([1, 1, heads, 1], (i) => (i === heads - 1 ? 0 : 1)), add: full([1], () => 0) },
    { hook: 'blocks.1.hook_resid_pre', keep: full([2, 9, 1], (i) => (i % 9 === 3 ? 0 : 1)), add: full([2, 9, d], (i) => (Math.floor(i / d) % 9 === 3 ? Math.sin(i) : 0)) },
    { hook: 'blocks.1.hook_resid_post', keep: full([1], () => 1), add: full([d], (i) => 0.3 * Math.cos(i)) },
    { hook: 'blocks.1.attn.hook_result', keep: full([1, 1, heads, 1], (i) => (i === 0 ? 0 : 1)), add: full([1], () => 0) },
    specific === 'blocks.0.attn.hook_rot_k'
      ? { hook: specific, keep: full([1, 1, kvHeads, 1], (i) => (i === 0 ? 0.5 : 1)), add: full([dHead], (i) => 0.1 * i) }
      : { hook: specific, keep: full([1], () => 0.5), add: full([1], () => 0.25) },
  ];
}

const IV_CASES: [string, FamilySpec, (s: FamilySpec) => Intervention[]][] = [
  ['neox (resid_pre of block 0 is hook_embed)', { family: 'neox', layers: 2, dModel: 32, heads: 4, dMlp: 64, vocab: 200, ctx: 16, dtype: 'F32', seed: 41 },
    (s) => [...interventionsFor(s.dModel, 4, 4, 8, 'blocks.0.attn.hook_rot_k'), { hook: 'blocks.0.hook_resid_pre', keep: full([1], () => 1), add: full([s.dModel], (i) => 0.1 * i) }]],
  ['llama GQA (hook_k with kv heads, RMSNorm hook_normalized)', { family: 'llama', layers: 2, dModel: 48, heads: 6, dMlp: 64, vocab: 200, ctx: 16, dtype: 'F32', seed: 42, extra: ['--kv-heads', '2'] },
    (s) => [...interventionsFor(s.dModel, 6, 2, 8, 'blocks.0.attn.hook_rot_k'), { hook: 'blocks.1.ln1.hook_normalized', keep: full([1], () => 0.5), add: full([1], () => 0.1) },
      { hook: 'blocks.0.mlp.hook_pre_linear', keep: full([1], () => 0), add: full([1], () => 0.2) }]],
  ['qwen3 (q/k norm hooks, hook_k before the norm)', { family: 'llama', layers: 2, dModel: 32, heads: 4, dMlp: 64, vocab: 200, ctx: 16, dtype: 'F32', tied: true, seed: 44, extra: ['--model-type', 'qwen3', '--kv-heads', '2', '--head-dim', '12'] },
    (s) => [...interventionsFor(s.dModel, 4, 2, 12, 'blocks.0.attn.hook_rot_k'),
      { hook: 'blocks.0.attn.hook_k', keep: full([1], () => 1), add: full([12], (i) => 0.5 * Math.sin(i)) },
      { hook: 'blocks.0.attn.q_norm.hook_normalized', keep: full([1, 1, 4, 1], (i) => (i === 1 ? 0 : 1)), add: full([1], () => 0.1) },
      { hook: 'blocks.1.attn.k_norm.hook_normalized', keep: full([1], () => 2), add: full([12], (i) => 0.2 * Math.cos(i)) }]],
  ['olmo2 (whole-projection q/k norm hooks, hook_attn_out / hook_mlp_out before the post norms)', { family: 'llama', layers: 2, dModel: 32, heads: 4, dMlp: 64, vocab: 200, ctx: 16, dtype: 'F32', seed: 45, extra: ['--model-type', 'olmo2', '--kv-heads', '2'] },
    (s) => [...interventionsFor(s.dModel, 4, 2, 8, 'blocks.0.attn.hook_rot_k'),
      { hook: 'blocks.0.attn.q_norm.hook_normalized', keep: full([1, 1, 32], (i) => (i < 8 ? 0 : 1)), add: full([1], () => 0.1) },
      { hook: 'blocks.1.attn.k_norm.hook_normalized', keep: full([1], () => 2), add: full([16], (i) => 0.2 * Math.cos(i)) },
      { hook: 'blocks.0.hook_attn_out', keep: full([1], () => 0.5), add: full([s.dModel], (i) => 0.2 * Math.sin(i)) },
      { hook: 'blocks.1.hook_mlp_out', keep: full([1], () => 1), add: full([s.dModel], (i) => 0.3 * Math.cos(i)) },
      { hook: 'blocks.0.ln2.hook_normalized', keep: full([1], () => 0.5), add: full([1], () => 0.1) }]],
  ['gemma2 (sandwich norms: hook_attn_out / hook_mlp_out after the post norms, ln1_post / ln2_post, soft-caps, window 4)', { family: 'gemma', layers: 2, dModel: 32, heads: 4, dMlp: 64, vocab: 200, ctx: 16, dtype: 'F32', seed: 47, extra: ['--kv-heads', '2', '--head-dim', '12', '--attn-softcap', '5', '--final-softcap', '10', '--window', '4'] },
    (s) => [...interventionsFor(s.dModel, 4, 2, 12, 'blocks.0.attn.hook_rot_k'),
      { hook: 'blocks.0.ln1_post.hook_normalized', keep: full([1], () => 0.5), add: full([1], () => 0.1) },
      { hook: 'blocks.0.hook_attn_out', keep: full([1], () => 0.5), add: full([s.dModel], (i) => 0.2 * Math.sin(i)) },
      { hook: 'blocks.1.ln2_post.hook_normalized', keep: full([1, 9, 1], (i) => (i === 2 ? 0 : 1)), add: full([1], () => 0) },
      { hook: 'blocks.1.hook_mlp_out', keep: full([1], () => 1), add: full([s.dModel], (i) => 0.3 * Math.cos(i)) }]],
  ['gemma3_text (per-head q/k norm hooks with (1 + w), local and global rotary)', { family: 'gemma', layers: 2, dModel: 32, heads: 4, dMlp: 64, vocab: 200, ctx: 16, dtype: 'F32', seed: 48, extra: ['--model-type', 'gemma3_text', '--kv-heads', '2', '--head-dim', '12', '--pattern', '2', '--window', '4', '--rope-theta', '1000000', '--rope-local-base', '300'] },
    (s) => [...interventionsFor(s.dModel, 4, 2, 12, 'blocks.1.attn.hook_rot_k'),
      { hook: 'blocks.0.attn.q_norm.hook_normalized', keep: full([1, 1, 4, 1], (i) => (i === 1 ? 0 : 1)), add: full([1], () => 0.1) },
      { hook: 'blocks.1.attn.k_norm.hook_normalized', keep: full([1], () => 2), add: full([12], (i) => 0.2 * Math.cos(i)) },
      { hook: 'blocks.1.ln1.hook_normalized', keep: full([1], () => 0.5), add: full([1], () => 0.1) }]],
  ['phi3 (row ranges of the fused qkv_proj and gate_up_proj, longrope long factors)', { family: 'phi3', layers: 2, dModel: 48, heads: 6, dMlp: 64, vocab: 200, ctx: 16, dtype: 'F32', seed: 47, extra: ['--kv-heads', '2', '--longrope', '4'] },
    (s) => [...interventionsFor(s.dModel, 6, 2, 8, 'blocks.0.attn.hook_rot_k'),
      { hook: 'blocks.0.mlp.hook_pre_linear', keep: full([1], () => 0), add: full([1], () => 0.2) },
      { hook: 'blocks.1.attn.hook_v', keep: full([1, 1, 2, 1], (i) => (i === 1 ? 0 : 1)), add: full([1], () => 0.1) },
      { hook: 'blocks.1.mlp.hook_pre', keep: full([1], () => 0.5), add: full([1], () => -0.1) }]],
  ['gptneo (local attention)', { family: 'gptneo', layers: 2, dModel: 32, heads: 4, dMlp: 64, vocab: 200, ctx: 16, dtype: 'F32', seed: 43 },
    (s) => interventionsFor(s.dModel, 4, 4, 8, 'blocks.1.attn.hook_pattern')],
];

for (const [label, spec, make] of IV_CASES) {
  test(`interventions match the reference: ${label}`, async () => {
    const dir = makeFamilyCheckpoint(spec);
    const ids = randomTokens(2, 9, spec.vocab, spec.seed);
    const interventions = make(spec);
    const ref = familyReferenceActivations(dir, ids, interventions);
    const plain = familyReferenceActivations(dir, ids);
    const engine = await openModel(dir);
    try {
      const trace = await engine.trace(ids.map((r) => tokensFromIds(engine.ckpt, r)), { hooks: engine.ckpt.hooks, interventions });
      assert.deepEqual(mismatches(trace, ref, TOLERANCE), []);
      assert.ok(maxAbsDiff(trace.logits.data, plain.get('logits')!.data) > 0.1, 'the interventions changed the logits');
    } finally {
      await engine.dispose();
    }
  });
}

test('circuit-lens hooks lists each family with TransformerLens names and shapes', () => {
  const hooksOf = (spec: FamilySpec) => JSON.parse(execFileSync(process.execPath, [CLI, 'hooks', '--model', makeFamilyCheckpoint(spec), '--json'], { encoding: 'utf8' })) as Record<string, unknown[]>;
  const neox = hooksOf({ family: 'neox', layers: 2, dModel: 32, heads: 4, dMlp: 64, vocab: 100, ctx: 16, dtype: 'F32', seed: 1 });
  assert.deepEqual(neox['blocks.1.attn.hook_rot_q'], ['batch', 'pos', 4, 8]);
  assert.equal(neox['blocks.0.hook_resid_mid'], undefined, 'parallel attention and MLP: no resid_mid');
  assert.equal(neox.hook_pos_embed, undefined);
  assert.equal(Object.keys(neox).length, 2 * 19 + 3);
  const llama = hooksOf({ family: 'llama', layers: 1, dModel: 48, heads: 6, dMlp: 64, vocab: 100, ctx: 16, dtype: 'F32', seed: 1, extra: ['--kv-heads', '2'] });
  assert.deepEqual(llama['blocks.0.attn.hook_k'], ['batch', 'pos', 2, 8]);
  assert.deepEqual(llama['blocks.0.attn.hook_rot_k'], ['batch', 'pos', 2, 8]);
  assert.deepEqual(llama['blocks.0.attn.hook_z'], ['batch', 'pos', 6, 8]);
  assert.deepEqual(llama['blocks.0.attn.hook_pattern'], ['batch', 6, 'pos', 'pos']);
  assert.deepEqual(llama['blocks.0.mlp.hook_pre_linear'], ['batch', 'pos', 64]);
  assert.equal(Object.keys(llama).length, 21 + 3);
  const qwen3 = hooksOf({ family: 'llama', layers: 1, dModel: 48, heads: 6, dMlp: 64, vocab: 100, ctx: 16, dtype: 'F32', seed: 1, tied: true, extra: ['--model-type', 'qwen3', '--kv-heads', '2', '--head-dim', '16'] });
  assert.deepEqual(qwen3['blocks.0.attn.hook_q'], ['batch', 'pos', 6, 16]);
  assert.deepEqual(qwen3['blocks.0.attn.q_norm.hook_scale'], ['batch', 'pos', 6, 1]);
  assert.deepEqual(qwen3['blocks.0.attn.q_norm.hook_normalized'], ['batch', 'pos', 6, 16]);
  assert.deepEqual(qwen3['blocks.0.attn.k_norm.hook_scale'], ['batch', 'pos', 2, 1]);
  assert.deepEqual(qwen3['blocks.0.attn.k_norm.hook_normalized'], ['batch', 'pos', 2, 16]);
  const order = Object.keys(qwen3);
  const at = (n: string) => order.indexOf('blocks.0.attn.' + n);
  assert.ok(at('hook_k') < at('q_norm.hook_scale') && at('k_norm.hook_normalized') < at('hook_rot_q'), 'q/k norms sit between hook_q/hook_k and hook_rot_q/hook_rot_k');
  assert.equal(Object.keys(qwen3).length, 25 + 3);
  const olmo2 = hooksOf({ family: 'llama', layers: 1, dModel: 48, heads: 6, dMlp: 64, vocab: 100, ctx: 16, dtype: 'F32', seed: 1, extra: ['--model-type', 'olmo2', '--kv-heads', '2'] });
  assert.deepEqual(olmo2['blocks.0.attn.hook_q'], ['batch', 'pos', 6, 8]);
  assert.deepEqual(olmo2['blocks.0.attn.q_norm.hook_scale'], ['batch', 'pos', 1]);
  assert.deepEqual(olmo2['blocks.0.attn.q_norm.hook_normalized'], ['batch', 'pos', 48]);
  assert.deepEqual(olmo2['blocks.0.attn.k_norm.hook_scale'], ['batch', 'pos', 1]);
  assert.deepEqual(olmo2['blocks.0.attn.k_norm.hook_normalized'], ['batch', 'pos', 16]);
  const olmoOrder = Object.keys(olmo2);
  const on = (n: string) => olmoOrder.indexOf('blocks.0.' + n);
  assert.ok(on('attn.hook_k') < on('attn.q_norm.hook_scale') && on('attn.k_norm.hook_normalized') < on('attn.hook_rot_q'), 'q/k norms sit between hook_q/hook_k and hook_rot_q/hook_rot_k');
  assert.ok(on('hook_resid_pre') < on('attn.hook_q') && on('hook_attn_out') < on('ln1.hook_scale') && on('ln1.hook_normalized') < on('hook_resid_mid'), 'ln1 is the post norm of the attention output');
  assert.ok(on('hook_mlp_out') < on('ln2.hook_scale') && on('ln2.hook_normalized') < on('hook_resid_post'), 'ln2 is the post norm of the MLP output');
  assert.equal(Object.keys(olmo2).length, 25 + 3);
  const gemma3 = hooksOf({ family: 'gemma', layers: 1, dModel: 48, heads: 6, dMlp: 64, vocab: 100, ctx: 16, dtype: 'F32', seed: 1, extra: ['--model-type', 'gemma3_text', '--kv-heads', '2', '--head-dim', '16'] });
  assert.deepEqual(Object.keys(gemma3).filter((n) => n.startsWith('blocks.0.')).map((n) => n.slice('blocks.0.'.length)), [
    'hook_resid_pre', 'ln1.hook_scale', 'ln1.hook_normalized', 'attn.hook_q', 'attn.hook_k', 'attn.hook_v',
    'attn.q_norm.hook_scale', 'attn.q_norm.hook_normalized', 'attn.k_norm.hook_scale', 'attn.k_norm.hook_normalized', 'attn.hook_rot_q', 'attn.hook_rot_k',
    'attn.hook_attn_scores', 'attn.hook_pattern', 'attn.hook_z', 'attn.hook_result', 'ln1_post.hook_scale', 'ln1_post.hook_normalized', 'hook_attn_out', 'hook_resid_mid',
    'ln2.hook_scale', 'ln2.hook_normalized', 'mlp.hook_pre', 'mlp.hook_pre_linear', 'mlp.hook_post', 'ln2_post.hook_scale', 'ln2_post.hook_normalized', 'hook_mlp_out', 'hook_resid_post',
  ], 'sandwich norms: ln1_post before hook_attn_out, ln2_post before hook_mlp_out');
  assert.deepEqual([gemma3['blocks.0.attn.hook_q'], gemma3['blocks.0.attn.k_norm.hook_scale'], gemma3['blocks.0.ln1_post.hook_normalized']], [['batch', 'pos', 6, 16], ['batch', 'pos', 2, 1], ['batch', 'pos', 48]]);
  const gemma2 = hooksOf({ family: 'gemma', layers: 2, dModel: 48, heads: 6, dMlp: 64, vocab: 100, ctx: 16, dtype: 'F32', seed: 1, extra: ['--head-dim', '16'] });
  assert.equal(gemma2['blocks.0.attn.q_norm.hook_scale'], undefined, 'Gemma 2 has no q/k norms');
  assert.equal(Object.keys(gemma2).length, 2 * 25 + 3);
  const neo = hooksOf({ family: 'gptneo', layers: 2, dModel: 32, heads: 4, dMlp: 64, vocab: 100, ctx: 16, dtype: 'F32', seed: 1 });
  assert.deepEqual(neo.hook_pos_embed, ['batch', 'pos', 32]);
  assert.equal(Object.keys(neo).length, 2 * 18 + 4);
  const text = execFileSync(process.execPath, [CLI, 'hooks', '--model', makeFamilyCheckpoint({ family: 'llama', layers: 1, dModel: 32, heads: 4, dMlp: 64, vocab: 100, ctx: 16, dtype: 'F32', seed: 2, extra: ['--model-type', 'qwen2'] })], { encoding: 'utf8' });
  assert.match(text, /Llama-style \(qwen2\), 1 layers/);
  const qwen3Text = execFileSync(process.execPath, [CLI, 'hooks', '--model', makeFamilyCheckpoint({ family: 'llama', layers: 1, dModel: 32, heads: 4, dMlp: 64, vocab: 100, ctx: 16, dtype: 'F32', seed: 3, extra: ['--model-type', 'qwen3', '--head-dim', '8'] })], { encoding: 'utf8' });
  assert.match(qwen3Text, /Qwen3 \(qwen3\), 1 layers/);
  const olmo2Text = execFileSync(process.execPath, [CLI, 'hooks', '--model', makeFamilyCheckpoint({ family: 'llama', layers: 1, dModel: 32, heads: 4, dMlp: 64, vocab: 100, ctx: 16, dtype: 'F32', seed: 3, extra: ['--model-type', 'olmo2'] })], { encoding: 'utf8' });
  assert.match(olmo2Text, /OLMo 2 \(olmo2\), 1 layers/);
  const gemmaText = (modelType: string) => execFileSync(process.execPath, [CLI, 'hooks', '--model', makeFamilyCheckpoint({ family: 'gemma', layers: 1, dModel: 32, heads: 4, dMlp: 64, vocab: 100, ctx: 16, dtype: 'F32', seed: 3, extra: ['--model-type', modelType] })], { encoding: 'utf8' });
  assert.match(gemmaText('gemma2'), /Gemma 2 \(gemma2\), 1 layers/);
  assert.match(gemmaText('gemma3_text'), /Gemma 3 \(gemma3_text\), 1 layers/);
  assert.match(gemmaText('gemma3'), /Gemma 3 \(gemma3\), 1 layers/);
  const phi3 = hooksOf({ family: 'phi3', layers: 1, dModel: 48, heads: 6, dMlp: 64, vocab: 100, ctx: 16, dtype: 'F32', seed: 1, extra: ['--kv-heads', '2', '--partial-rotary', '0.5', '--longrope', '8'] });
  assert.deepEqual(phi3['blocks.0.attn.hook_q'], ['batch', 'pos', 6, 8]);
  assert.deepEqual(phi3['blocks.0.attn.hook_rot_k'], ['batch', 'pos', 2, 8], 'hook_rot_k holds the whole head, rotated or not');
  assert.deepEqual(phi3['blocks.0.mlp.hook_pre'], ['batch', 'pos', 64]);
  assert.deepEqual(phi3['blocks.0.mlp.hook_pre_linear'], ['batch', 'pos', 64]);
  assert.deepEqual(Object.keys(phi3), Object.keys(llama), 'the Llama-style hook points');
  const phi3Text = execFileSync(process.execPath, [CLI, 'hooks', '--model', makeFamilyCheckpoint({ family: 'phi3', layers: 1, dModel: 32, heads: 4, dMlp: 64, vocab: 100, ctx: 16, dtype: 'F32', seed: 3 })], { encoding: 'utf8' });
  assert.match(phi3Text, /Phi-3 \(phi3\), 1 layers/);
});

test('Phi-3 longrope switches to the long factors when the run is longer than original_max_position_embeddings, not at it', async () => {
  const dir = makeFamilyCheckpoint({ family: 'phi3', layers: 2, dModel: 32, heads: 4, dMlp: 64, vocab: 200, ctx: 64, dtype: 'F32', seed: 66, extra: ['--kv-heads', '2', '--longrope', '8'] });
  const engine = await openModel(dir);
  try {
    const rotQ: Record<number, Float32Array> = {};
    const nine = randomTokens(1, 9, 200, 66);
    for (const pos of [8, 9]) {
      const ids = [nine[0].slice(0, pos)];
      const ref = familyReferenceActivations(dir, ids);
      const trace = await engine.trace(ids.map((r) => tokensFromIds(engine.ckpt, r)), { hooks: engine.ckpt.hooks });
      assert.deepEqual(mismatches(trace, ref, TOLERANCE), [], `${pos} positions`);
      rotQ[pos] = trace.cache.get('blocks.0.attn.hook_rot_q').data;
    }
    // Position 1 of the run of 9 is rotated by other frequencies than in the run of 8 (same tokens: one more at the end).
    const row = 4 * 8; // [pos, head, d_head] of batch item 0
    assert.ok(maxAbsDiff(rotQ[8].subarray(row, 2 * row), rotQ[9].subarray(row, 2 * row)) > 1e-3, 'the long factors change the rotation');
  } finally {
    await engine.dispose();
  }
});

for (const [label, spec] of [
  ['OLMo 2 (post norms)', { family: 'llama', layers: 2, dModel: 32, heads: 4, dMlp: 64, vocab: 100, ctx: 16, dtype: 'F32', seed: 91, extra: ['--model-type', 'olmo2', '--kv-heads', '2'] }],
  ['Gemma 2 (sandwich norms, (1 + w), final soft-cap)', { family: 'gemma', layers: 2, dModel: 32, heads: 4, dMlp: 64, vocab: 100, ctx: 16, dtype: 'F32', seed: 92, extra: ['--kv-heads', '2', '--head-dim', '12', '--attn-softcap', '5', '--final-softcap', '10', '--window', '3'] }],
  ['Gemma 3 (q/k norms, local/global)', { family: 'gemma', layers: 2, dModel: 32, heads: 4, dMlp: 64, vocab: 100, ctx: 16, dtype: 'F32', seed: 93, extra: ['--model-type', 'gemma3_text', '--kv-heads', '1', '--head-dim', '8', '--layer-types', '--window', '3'] }],
] as [string, FamilySpec][]) test(`${label}: attribution and the decomposed lens use what each layer adds, and the heads add up to their layer`, async () => {
  const dir = makeFamilyCheckpoint(spec);
  const m = await openModel(dir);
  try {
    const prompt = tokensFromIds(m.ckpt, [1, 5, 9, 4, 2]);
    const r = await directLogitAttribution(m, prompt, { answer: 3, counterfactual: 7 });
    const sum = r.values.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - r.logitDiff) <= 1e-4, `sum ${sum} vs ${r.logitDiff}`);
    assert.ok(Math.abs(r.logitDiff) > 0.05);
    for (let l = 0; l < 2; l++) {
      const heads = Array.from(r.heads.subarray(l * 4, (l + 1) * 4)).reduce((a, b) => a + b, 0);
      const layer = r.values[r.labels.indexOf(`L${l} attn`)];
      assert.ok(Math.abs(heads - layer) <= 1e-4, `layer ${l}: heads ${heads} vs attn ${layer}`);
    }
    // The decomposed lens: components sum to the final residual over its norm scale.
    const t = await m.trace([prompt], { hooks: m.ckpt.hooks });
    const input = decomposedLensInput(t.cache, 0);
    const d = m.ckpt.config.dModel;
    const pos = prompt.length;
    const final = t.cache.get('blocks.1.hook_resid_post').data;
    const scale = t.cache.get('ln_final.hook_scale').data;
    for (let p = 0; p < pos; p++) {
      for (let i = 0; i < d; i++) {
        let s = 0;
        for (let c = 0; c < input.labels.length; c++) s += input.rows.data[(c * pos + p) * d + i];
        assert.ok(Math.abs(s - final[p * d + i] / scale[p]) <= 1e-4);
      }
    }
  } finally {
    await m.dispose();
  }
});

test('a sharded BF16 Llama checkpoint (model.safetensors.index.json) loads its shards', async () => {
  const source = makeFamilyCheckpoint({ family: 'llama', layers: 2, dModel: 32, heads: 4, dMlp: 64, vocab: 150, ctx: 16, dtype: 'BF16', seed: 51, extra: ['--kv-heads', '2'] });
  const ids = [[3, 1, 4, 1, 5, 9, 2, 6]];
  const reference = familyReferenceActivations(source, ids).get('logits')!;
  const dir = tmpDir('llama-shards');
  fs.copyFileSync(path.join(source, 'config.json'), path.join(dir, 'config.json'));
  const st = readSafetensorsHeader(path.join(source, 'model.safetensors'));
  const bytes = fs.readFileSync(st.path);
  const names = [...st.tensors.keys()];
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < 3; s++) {
    const file = `model-0000${s + 1}-of-00003.safetensors`;
    const part = names.filter((_, i) => i % 3 === s);
    writeSafetensors(path.join(dir, file), Object.fromEntries(part.map((n) => {
      const e = st.tensors.get(n)!;
      weightMap[n] = file;
      return [n, { dtype: e.dtype, shape: e.shape, bytes: bytes.subarray(e.offset, e.offset + e.byteLength) }];
    })));
  }
  fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  const engine = await openModel(dir);
  try {
    assert.equal(engine.ckpt.weights.files.length, 3);
    const { logits } = await engine.trace([tokensFromIds(engine.ckpt, ids[0])]);
    assert.ok(maxAbsDiff(logits.data, reference.data) <= TOLERANCE);
  } finally {
    await engine.dispose();
  }
});

test('EXPECTED FAILURE - weights that do not fit the config name the tensor, the file and the fix', () => {
  const dir = makeFamilyCheckpoint({ family: 'llama', layers: 1, dModel: 32, heads: 4, dMlp: 64, vocab: 100, ctx: 16, dtype: 'F32', seed: 52, extra: ['--kv-heads', '2'] });
  const configPath = path.join(dir, 'config.json');
  const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
  fs.writeFileSync(configPath, JSON.stringify({ ...config, num_key_value_heads: 4 }));
  assert.throws(() => openCheckpoint(dir), (e: unknown) => e instanceof EngineError && e.code === 'BAD_WEIGHTS' &&
    /model\.safetensors: model\.layers\.0\.self_attn\.k_proj\.weight: shape \[16,32\] does not match \[32,32\] implied by .*config\.json\. The config and the weights belong to different models\./.test(e.message));
  fs.writeFileSync(configPath, JSON.stringify({ ...config, tie_word_embeddings: false }));
  const st = path.join(dir, 'model.safetensors');
  const header = readSafetensorsHeader(st);
  writeSafetensors(st, Object.fromEntries([...header.tensors.values()].filter((t) => t.name !== 'lm_head.weight')
    .map((t) => [t.name, { dtype: t.dtype, shape: t.shape, bytes: fs.readFileSync(st).subarray(t.offset, t.offset + t.byteLength) }])));
  assert.throws(() => openCheckpoint(dir), (e: unknown) => e instanceof EngineError && /lm_head\.weight: missing while config\.json says tie_word_embeddings: false/.test(e.message));
});
