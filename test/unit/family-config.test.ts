/** config.json of each family: TransformerLens dimensions and the errors that name the field to fix. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseConfig } from '../../src/engine/config';
import { EngineError } from '../../src/engine/errors';
import { inverseFrequencies } from '../../src/engine/families/rope';

const llama = { model_type: 'llama', num_hidden_layers: 2, hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 128, vocab_size: 100 };
const neox = { model_type: 'gpt_neox', num_hidden_layers: 2, hidden_size: 64, num_attention_heads: 4, intermediate_size: 256, vocab_size: 100, rotary_pct: 0.25 };
const neo = { model_type: 'gpt_neo', num_layers: 2, hidden_size: 64, num_heads: 4, vocab_size: 100, attention_types: [[['global', 'local'], 1]], window_size: 8 };

test('each family reads its own fields into the family-neutral config', () => {
  const l = parseConfig(llama, 'config.json');
  assert.deepEqual([l.architecture, l.normalization, l.nKvHeads, l.dHead, l.gatedMlp, l.positional, l.rotary?.dims, l.tieWordEmbeddings], ['llama', 'rmsnorm', 2, 16, true, 'rotary', 16, false]);
  const n = parseConfig(neox, 'config.json');
  assert.deepEqual([n.architecture, n.parallelAttnMlp, n.rotary?.dims, n.act, n.biases.qkv], ['neox', true, 4, 'gelu', true]);
  const g = parseConfig(neo, 'config.json');
  assert.deepEqual([g.architecture, g.scaleAttnWeights, g.attnWindows, g.dMlp], ['gptneo', false, [null, 8], 256]);
  const q = parseConfig({ ...llama, model_type: 'qwen2', use_sliding_window: true, sliding_window: 4, max_window_layers: 1 }, 'config.json');
  assert.deepEqual([q.biases, q.attnWindows], [{ qkv: true, attnOut: false, mlp: false }, [null, 4]]);
  assert.deepEqual(parseConfig({ ...llama, model_type: 'mistral' }, 'config.json').attnWindows, [4096, 4096], "Mistral's default window");
  assert.deepEqual(parseConfig({ ...llama, model_type: 'mistral', sliding_window: null }, 'config.json').attnWindows, [null, null]);
  assert.equal(parseConfig({ ...llama, rope_parameters: { rope_type: 'default', rope_theta: 500000 } }, 'config.json').rotary?.base, 500000);
});

test('Qwen3 reads the Llama-style fields plus q/k norms, head_dim (default 128) and attention_bias', () => {
  const qwen3 = { ...llama, model_type: 'qwen3', hidden_size: 48, head_dim: 16, tie_word_embeddings: true, rope_theta: 1000000, use_sliding_window: false, sliding_window: null, max_window_layers: 28 };
  const q = parseConfig(qwen3, 'config.json');
  assert.deepEqual([q.architecture, q.qkNorm, q.dHead, q.rotary?.dims, q.rotary?.base, q.tieWordEmbeddings, q.biases, q.attnWindows],
    ['qwen3', true, 16, 16, 1000000, true, { qkv: false, attnOut: false, mlp: false }, [null, null]]);
  assert.deepEqual(parseConfig({ ...qwen3, attention_bias: true }, 'config.json').biases, { qkv: true, attnOut: true, mlp: false }, 'attention_bias honoured on q, k, v and o');
  assert.equal(parseConfig({ ...qwen3, head_dim: undefined }, 'config.json').dHead, 128, "Hugging Face's Qwen3Config default");
  const v5 = parseConfig({ ...qwen3, rope_theta: undefined, rope_parameters: { rope_type: 'default', rope_theta: 5000000 } }, 'config.json');
  assert.deepEqual([v5.rotary?.base, v5.rotary?.scaling], [5000000, null]);
  assert.equal(parseConfig({ ...qwen3, layer_types: ['sliding_attention', 'sliding_attention'] }, 'config.json').attnWindows.join(), ',', 'layer_types is inert while use_sliding_window is false');
  assert.equal(parseConfig(llama, 'config.json').qkNorm, undefined, 'Llama has no q/k norms');
});

test('OLMo 2 reads the Llama-style fields plus post norms, whole-projection q/k norms and attention_bias', () => {
  const olmo2 = { ...llama, model_type: 'olmo2', architectures: ['Olmo2ForCausalLM'], rope_theta: 500000, rms_norm_eps: 1e-6, attention_bias: false, tie_word_embeddings: false };
  const o = parseConfig(olmo2, 'config.json');
  assert.deepEqual([o.architecture, o.qkNorm, o.qkNormOverProjection, o.postNorms, o.dHead, o.nKvHeads, o.rotary?.dims, o.rotary?.base, o.lnEps, o.tieWordEmbeddings, o.biases, o.attnWindows, o.parallelAttnMlp],
    ['olmo2', true, true, true, 16, 2, 16, 500000, 1e-6, false, { qkv: false, attnOut: false, mlp: false }, [null, null], false]);
  assert.deepEqual(parseConfig({ ...olmo2, attention_bias: true }, 'config.json').biases, { qkv: true, attnOut: true, mlp: false }, 'attention_bias honoured on q, k, v and o');
  assert.equal(parseConfig({ ...olmo2, rms_norm_eps: undefined }, 'config.json').lnEps, 1e-5, "Hugging Face's Olmo2Config default");
  assert.equal(parseConfig({ ...olmo2, rope_theta: undefined, rope_parameters: { rope_type: 'default', rope_theta: 500000 } }, 'config.json').rotary?.base, 500000);
  assert.equal(parseConfig({ ...olmo2, clip_qkv: null }, 'config.json').architecture, 'olmo2', 'clip_qkv null is fine');
  const q3 = parseConfig({ ...llama, model_type: 'qwen3', head_dim: 16 }, 'config.json');
  assert.deepEqual([q3.qkNormOverProjection, q3.postNorms, parseConfig(llama, 'config.json').postNorms], [undefined, undefined, undefined], 'only OLMo 2 has post norms and whole-projection q/k norms');
});

const gemma2 = { model_type: 'gemma2', num_hidden_layers: 4, hidden_size: 48, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16, intermediate_size: 96, vocab_size: 100,
  query_pre_attn_scalar: 20, sliding_window: 8, hidden_activation: 'gelu_pytorch_tanh', rope_theta: 10000 };
const gemma3Text = { ...gemma2, model_type: 'gemma3_text', num_hidden_layers: 6, rope_theta: 1000000, rope_local_base_freq: 10000, rope_scaling: { rope_type: 'linear', factor: 8 } };

test('Gemma 2 reads sandwich norms, soft-caps, query_pre_attn_scalar, even sliding layers and tied embeddings by default', () => {
  const g = parseConfig(gemma2, 'config.json');
  assert.deepEqual([g.architecture, g.sandwichNorms, g.postNorms, g.qkNorm, g.act, g.dHead, g.queryPreAttnScalar, g.attnSoftcap, g.finalLogitSoftcap, g.embedScale, g.tieWordEmbeddings, g.attnWindows, g.rotaryLocal, g.nCtx],
    ['gemma2', true, undefined, undefined, 'gelu_new', 16, 20, 50, 30, Math.sqrt(48), true, [8, null, 8, null], undefined, 8192]);
  assert.equal(parseConfig({ ...gemma2, tie_word_embeddings: false }, 'config.json').tieWordEmbeddings, false);
  const noCaps = parseConfig({ ...gemma2, attn_logit_softcapping: null, final_logit_softcapping: null }, 'config.json');
  assert.deepEqual([noCaps.attnSoftcap, noCaps.finalLogitSoftcap], [undefined, undefined], 'null soft-caps are off');
  const types = parseConfig({ ...gemma2, layer_types: ['full_attention', 'sliding_attention', 'sliding_attention', 'full_attention'] }, 'config.json');
  assert.deepEqual(types.attnWindows, [null, 8, 8, null], 'layer_types wins over the default pattern');
  const legacy = parseConfig({ ...gemma2, hidden_activation: undefined, hidden_act: 'gelu_pytorch_tanh', head_dim: undefined, query_pre_attn_scalar: undefined, sliding_window: undefined }, 'config.json');
  assert.deepEqual([legacy.act, legacy.dHead, legacy.queryPreAttnScalar, legacy.attnWindows[0]], ['gelu_new', 256, 256, 4096], "Gemma2Config's defaults; hidden_act as the older field");
});

test('Gemma 3 reads q/k norms, the local:global pattern, two rotary settings and a nested text_config', () => {
  const g = parseConfig(gemma3Text, 'config.json');
  assert.deepEqual([g.architecture, g.modelType, g.qkNorm, g.qkNormOverProjection, g.sandwichNorms, g.attnSoftcap, g.finalLogitSoftcap, g.tieWordEmbeddings, g.attnWindows],
    ['gemma3', 'gemma3_text', true, undefined, true, undefined, undefined, true, [8, 8, 8, 8, 8, null]], 'default sliding_window_pattern 6: layer 5 is global');
  assert.deepEqual([g.rotary, g.rotaryLocal], [{ dims: 16, base: 1000000, scaling: { type: 'linear', factor: 8 } }, { dims: 16, base: 10000, scaling: null }], 'rope_scaling on global layers only');
  assert.deepEqual(parseConfig({ ...gemma3Text, sliding_window_pattern: 3 }, 'config.json').attnWindows, [8, 8, null, 8, 8, null]);
  assert.deepEqual(parseConfig({ ...gemma3Text, sliding_window_pattern: 3, layer_types: ['full_attention', ...Array(5).fill('sliding_attention')] }, 'config.json').attnWindows,
    [null, 8, 8, 8, 8, 8], 'layer_types wins over sliding_window_pattern');
  const defaults = parseConfig({ ...gemma3Text, rope_theta: undefined, rope_local_base_freq: undefined, rope_scaling: undefined }, 'config.json');
  assert.deepEqual([defaults.rotary?.base, defaults.rotaryLocal?.base, defaults.rotary?.scaling], [1000000, 10000, null], "Gemma3TextConfig's bases");
  const v5 = parseConfig({ ...gemma3Text, rope_theta: undefined, rope_local_base_freq: undefined, rope_scaling: undefined,
    rope_parameters: { full_attention: { rope_type: 'linear', factor: 4, rope_theta: 500000 }, sliding_attention: { rope_type: 'default', rope_theta: 2000 } } }, 'config.json');
  assert.deepEqual([v5.rotary, v5.rotaryLocal], [{ dims: 16, base: 500000, scaling: { type: 'linear', factor: 4 } }, { dims: 16, base: 2000, scaling: null }], "transformers v5's rope_parameters per layer type");
  const { model_type: _, ...text } = gemma3Text;
  const nested = parseConfig({ model_type: 'gemma3', architectures: ['Gemma3ForConditionalGeneration'], text_config: { ...text, model_type: 'gemma3_text' }, vision_config: { model_type: 'siglip_vision_model' }, bos_token_id: 2 }, 'config.json');
  assert.deepEqual([nested.architecture, nested.modelType, nested.dModel, nested.nLayers, nested.bosTokenId, nested.tieWordEmbeddings, nested.rotaryLocal?.base], ['gemma3', 'gemma3', 48, 6, 2, true, 10000]);
  const caps = parseConfig({ ...gemma3Text, attn_logit_softcapping: 50, final_logit_softcapping: 30 }, 'config.json');
  assert.deepEqual([caps.attnSoftcap, caps.finalLogitSoftcap], [undefined, 30], "Gemma3Attention never applies attn_logit_softcapping; the final soft-cap applies");
  const untied = parseConfig({ model_type: 'gemma3', text_config: text, tie_word_embeddings: false }, 'config.json');
  assert.equal(untied.tieWordEmbeddings, false, 'tie_word_embeddings from the top level when text_config has none');
});

test('Llama 3 rope scaling keeps high frequencies, divides low ones and blends the band between', () => {
  const inv = inverseFrequencies({ dims: 16, base: 10000, scaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 } });
  const plain = inverseFrequencies({ dims: 16, base: 10000, scaling: null });
  assert.equal(inv[0], plain[0]); // wavelength 2 pi < 64 / 4
  assert.ok(Math.abs(inv[7] - plain[7] / 8) < 1e-15); // wavelength far above 64
  assert.ok(inv[1] < plain[1] && inv[1] > plain[1] / 8); // in between
});

const phi3 = { model_type: 'phi3', num_hidden_layers: 2, hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 128, vocab_size: 100 };
const longrope = (n: number) => ({ type: 'longrope', short_factor: Array.from({ length: n }, (_, i) => 1 + i / 10), long_factor: Array.from({ length: n }, (_, i) => 2 + i) });

test('Phi-3 reads Phi3Config: defaults, GQA, partial rotary, sliding_window on every layer, no biases', () => {
  const p = parseConfig(phi3, 'config.json');
  assert.deepEqual([p.architecture, p.normalization, p.gatedMlp, p.nKvHeads, p.dHead, p.rotary?.dims, p.rotary?.base, p.rotary?.scaling, p.lnEps, p.nCtx, p.tieWordEmbeddings, p.biases, p.attnWindows],
    ['phi3', 'rmsnorm', true, 2, 16, 16, 10000, null, 1e-5, 4096, false, { qkv: false, attnOut: false, mlp: false }, [null, null]]);
  assert.deepEqual(parseConfig({ ...phi3, sliding_window: 2047 }, 'config.json').attnWindows, [2047, 2047], 'Phi-3-mini-4k: the window on every layer');
  assert.deepEqual(parseConfig({ ...phi3, sliding_window: null }, 'config.json').attnWindows, [null, null]);
  const partial = parseConfig({ ...phi3, head_dim: 24, partial_rotary_factor: 0.75 }, 'config.json');
  assert.deepEqual([partial.dHead, partial.rotary?.dims], [24, 18], 'int(head_dim * partial_rotary_factor)');
  assert.equal(parseConfig({ ...phi3, rope_parameters: { rope_type: 'default', rope_theta: 250000, partial_rotary_factor: 0.5 } }, 'config.json').rotary?.dims, 8, 'v5: the factor inside rope_parameters');
});

test('Phi-3 longrope: short and long factors, original_max_position_embeddings (top level wins), the attention factor', () => {
  const p = parseConfig({ ...phi3, max_position_embeddings: 131072, original_max_position_embeddings: 4096, rope_scaling: longrope(8) }, 'config.json');
  const s = p.rotary?.scaling;
  assert.ok(s?.type === 'longrope');
  assert.deepEqual([s.shortFactor.length, s.longFactor[1], s.originalMaxPositions], [8, 3, 4096]);
  assert.ok(Math.abs(s.attentionFactor - Math.sqrt(1 + Math.log(32) / Math.log(4096))) < 1e-15, 'sqrt(1 + ln(131072 / 4096) / ln 4096)');
  const at = (extra: Record<string, unknown>, scaling: Record<string, unknown> = {}) => {
    const r = parseConfig({ ...phi3, ...extra, rope_scaling: { ...longrope(8), ...scaling } }, 'config.json').rotary?.scaling;
    return r?.type === 'longrope' ? [r.originalMaxPositions, r.attentionFactor] : r;
  };
  assert.deepEqual(at({ max_position_embeddings: 4096 }), [4096, 1], 'no context extension: attention factor 1');
  assert.deepEqual(at({ max_position_embeddings: 131072 }, { attention_factor: 1.25 }), [4096, 1.25], 'an explicit attention_factor wins');
  assert.deepEqual(at({ max_position_embeddings: 8192, original_max_position_embeddings: 8192 }, { factor: 4 }), [8192, Math.sqrt(1 + Math.log(4) / Math.log(8192))], 'an explicit factor wins over the ratio');
  assert.deepEqual(at({}, { original_max_position_embeddings: 16 }), [4096, 1], "Phi3Config's top-level original_max_position_embeddings (default 4096) wins over the scaling's");
  for (const name of ['su', 'yarn']) assert.equal(parseConfig({ ...phi3, rope_scaling: { ...longrope(8), type: name } }, 'config.json').rotary?.scaling?.type, 'longrope', `Phi3Config renames ${name}`);
  const v5 = parseConfig({ ...phi3, original_max_position_embeddings: 8, rope_parameters: { rope_type: 'longrope', rope_theta: 10000, partial_rotary_factor: 0.5, short_factor: [1, 1, 1, 1], long_factor: [2, 2, 2, 2], original_max_position_embeddings: 8 } }, 'config.json');
  assert.deepEqual([v5.rotary?.dims, v5.rotary?.scaling?.type], [8, 'longrope']);
  const r = p.rotary!;
  const plain = inverseFrequencies({ ...r, scaling: null });
  assert.deepEqual(inverseFrequencies(r).map((f, i) => f * (1 + i / 10) / plain[i]).map((x) => Math.round(x * 1e12)), Array(8).fill(1e12), 'short: divided by short_factor');
  assert.deepEqual(inverseFrequencies(r, true).map((f, i) => f * (2 + i) / plain[i]).map((x) => Math.round(x * 1e12)), Array(8).fill(1e12), 'long: divided by long_factor');
});

test('config drift: every rotary family reads rope_scaling and v5 rope_parameters alike, for every rope type', () => {
  const families: Record<string, Record<string, unknown>> = {
    llama, mistral: { ...llama, model_type: 'mistral' }, qwen2: { ...llama, model_type: 'qwen2' }, qwen3: { ...llama, model_type: 'qwen3', head_dim: 16 },
    olmo2: { ...llama, model_type: 'olmo2' }, gpt_neox: { ...neox, rotary_pct: 1 }, phi3,
  };
  const scalings: Record<string, Record<string, unknown>> = {
    linear: { rope_type: 'linear', factor: 4 },
    llama3: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
    longrope: { ...longrope(8), type: undefined, rope_type: 'longrope', original_max_position_embeddings: 1024 },
  };
  for (const [name, raw] of Object.entries(families)) {
    for (const [kind, scaling] of Object.entries(scalings)) {
      if (name === 'phi3' && kind !== 'longrope') continue; // Phi3Config refuses other types (below)
      const v4 = parseConfig({ ...raw, rope_theta: 500000, rope_scaling: scaling, original_max_position_embeddings: name === 'phi3' ? 1024 : undefined }, 'config.json');
      const v5 = parseConfig({ ...raw, rope_parameters: { rope_theta: 500000, ...scaling }, original_max_position_embeddings: name === 'phi3' ? 1024 : undefined }, 'config.json');
      assert.deepEqual(v5.rotary, v4.rotary, `${name} ${kind}`);
      assert.equal(v5.rotary?.base, 500000, `${name} ${kind}`);
      assert.equal(v5.rotary?.scaling?.type, kind, `${name} ${kind}`);
    }
  }
  const n5 = parseConfig({ ...neox, rotary_pct: undefined, rope_parameters: { rope_type: 'default', rope_theta: 20000, partial_rotary_factor: 0.5 } }, 'config.json');
  assert.deepEqual([n5.rotary?.dims, n5.rotary?.base], [8, 20000], 'GPT-NeoX v5: partial_rotary_factor and rope_theta inside rope_parameters');
  const l3 = (extra: Record<string, unknown>) => { const s = parseConfig({ ...llama, max_position_embeddings: 131072, ...extra }, 'config.json').rotary?.scaling; return s?.type === 'llama3' ? s.originalMaxPositions : s; };
  const bare = { rope_type: 'llama3', factor: 32 };
  assert.equal(l3({ rope_scaling: bare }), 131072, 'llama3 without original_max_position_embeddings: max_position_embeddings (transformers v5)');
  assert.equal(l3({ rope_scaling: { ...bare, original_max_position_embeddings: 8192 } }), 8192);
  assert.equal(l3({ rope_scaling: { ...bare, original_max_position_embeddings: 8192 }, original_max_position_embeddings: 4096 }), 4096, 'a top-level value wins');
});

test('config drift: layer_types where Hugging Face reads it (Qwen2, Qwen3; not Mistral), Llama 3.2 and SmolLM2 shapes', () => {
  const qwen2 = { ...llama, num_hidden_layers: 3, model_type: 'qwen2', use_sliding_window: true, sliding_window: 4, max_window_layers: 28 };
  assert.deepEqual(parseConfig({ ...qwen2, layer_types: ['sliding_attention', 'full_attention', 'sliding_attention'] }, 'config.json').attnWindows, [4, null, 4], 'Qwen2 follows layer_types');
  assert.deepEqual(parseConfig(qwen2, 'config.json').attnWindows, [null, null, null], 'without layer_types: from max_window_layers (28) on');
  assert.deepEqual(parseConfig({ ...llama, model_type: 'mistral', sliding_window: 8, layer_types: ['full_attention', 'sliding_attention'] }, 'config.json').attnWindows, [8, 8], 'MistralConfig ignores layer_types');
  const qwen3 = { ...qwen2, model_type: 'qwen3', head_dim: 16 };
  assert.deepEqual(parseConfig({ ...qwen3, max_window_layers: 1 }, 'config.json').attnWindows, [null, 4, 4], 'Qwen3 slides from max_window_layers on');
  assert.deepEqual(parseConfig({ ...qwen3, layer_types: ['full_attention', 'full_attention', 'sliding_attention'] }, 'config.json').attnWindows, [null, null, 4], 'Qwen3 follows layer_types');
  const llama32 = { ...llama, hidden_size: 2048, num_attention_heads: 32, num_key_value_heads: 8, head_dim: 64, tie_word_embeddings: true, max_position_embeddings: 131072,
    rope_theta: 500000, rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } };
  const a = parseConfig(llama32, 'config.json');
  assert.deepEqual([a.dHead, a.nKvHeads, a.tieWordEmbeddings, a.rotary?.base, a.rotary?.scaling?.type], [64, 8, true, 500000, 'llama3']);
  const smol = { ...llama, hidden_size: 576, num_attention_heads: 9, num_key_value_heads: 3, intermediate_size: 1536, rope_theta: 100000, tie_word_embeddings: true, rope_scaling: null, max_position_embeddings: 8192 };
  const b = parseConfig(smol, 'config.json');
  assert.deepEqual([b.architecture, b.dHead, b.nHeads, b.nKvHeads, b.tieWordEmbeddings, b.rotary?.base, b.rotary?.dims, b.rotary?.scaling], ['llama', 64, 9, 3, true, 100000, 64, null], 'SmolLM2-135M');
});

test('EXPECTED FAILURE - family configs name the field at fault and the fix', () => {
  const bad = (raw: Record<string, unknown>, code: string, message: RegExp) => assert.throws(() => parseConfig(raw, 'config.json'),
    (e: unknown) => e instanceof EngineError && e.code === code && message.test(e.message), JSON.stringify(raw));
  bad({ ...llama, num_key_value_heads: 3 }, 'BAD_CONFIG', /num_key_value_heads: 3 does not divide num_attention_heads 4/);
  bad({ ...llama, rope_scaling: { rope_type: 'yarn', factor: 4 } }, 'UNSUPPORTED', /rope_scaling.rope_type: "yarn" is not supported. Supported rope_scaling types: 'linear', 'llama3'/);
  bad({ ...neox, rotary_pct: 0.1 }, 'UNSUPPORTED', /rotary_pct: gives 1 rotary dimensions per head/);
  bad({ ...neo, attention_types: [[['global', 'local'], 2]] }, 'BAD_CONFIG', /attention_types: describes 4 layers but num_layers is 2/);
  bad({ ...llama, hidden_act: 'mish' }, 'UNSUPPORTED', /hidden_act: "mish" is not supported/);
  bad({ ...llama, model_type: 'olmo2', clip_qkv: 8 }, 'UNSUPPORTED', /clip_qkv: is 8: clipping q, k and v is not supported for OLMo 2/);
  bad({ ...llama, model_type: 'olmo2', attention_bias: 'yes' }, 'BAD_CONFIG', /attention_bias: must be true or false/);
  bad({ ...llama, model_type: 'qwen3', attention_bias: 'yes' }, 'BAD_CONFIG', /attention_bias: must be true or false/);
  bad({ ...gemma2, layer_types: ['sliding_attention'] }, 'BAD_CONFIG', /^config\.json: layer_types: must list one entry per layer \(4\)/);
  bad({ ...gemma2, layer_types: ['sliding_attention', 'global', 'sliding_attention', 'full_attention'] }, 'BAD_CONFIG', /layer_types\[1\]: must be "sliding_attention" or "full_attention", got "global"/);
  bad({ ...gemma2, attn_logit_softcapping: -1 }, 'BAD_CONFIG', /attn_logit_softcapping: must be a number in \(0/);
  bad({ ...gemma2, query_pre_attn_scalar: 0 }, 'BAD_CONFIG', /query_pre_attn_scalar: must be a number in \(0/);
  bad({ ...gemma2, hidden_activation: 'geglu' }, 'UNSUPPORTED', /hidden_activation: "geglu" is not supported/);
  bad({ ...gemma3Text, sliding_window_pattern: 0 }, 'BAD_CONFIG', /sliding_window_pattern: must be a positive integer/);
  bad({ ...gemma3Text, use_bidirectional_attention: true }, 'UNSUPPORTED', /use_bidirectional_attention: is true: bidirectional attention \(EmbeddingGemma\) is not supported/);
  bad({ model_type: 'gemma3', text_config: 'gemma3_text' }, 'BAD_CONFIG', /^config\.json: text_config: must be an object/);
  bad({ model_type: 'gemma3', text_config: { ...gemma3Text, hidden_size: -1 } }, 'BAD_CONFIG', /^config\.json \(text_config\): hidden_size: must be a positive integer/);
  bad({ ...gemma3Text, rope_parameters: { full_attention: { rope_type: 'yarn', factor: 2 }, sliding_attention: { rope_type: 'default' } } }, 'UNSUPPORTED', /rope_parameters\.full_attention\).*rope_type: "yarn" is not supported/);
  bad({ ...llama, rope_parameters: { rope_type: 'yarn', rope_theta: 10000, factor: 4 } }, 'UNSUPPORTED', /config\.json: rope_parameters\.rope_type: "yarn" is not supported/);
  bad({ ...phi3, rope_scaling: { ...longrope(8), short_factor: [1, 2] } }, 'BAD_CONFIG', /rope_scaling\.short_factor: has 2 entries; the 16 rotary dimensions per head need 8/);
  bad({ ...phi3, rope_scaling: { ...longrope(8), long_factor: undefined } }, 'BAD_CONFIG', /rope_scaling\.long_factor: must be a list of positive numbers/);
  bad({ ...phi3, rope_parameters: { rope_type: 'longrope', short_factor: [1, 1, 1, 1, 1, 1, 1, 1], long_factor: [1, 1, 1, 1, 1, 1, 1, 'x'] } }, 'BAD_CONFIG', /rope_parameters\.long_factor: must be a list of positive numbers/);
  bad({ ...phi3, rope_scaling: { ...longrope(8), attention_factor: -1 } }, 'BAD_CONFIG', /rope_scaling\.attention_factor: must be a positive number/);
  bad({ ...phi3, rope_scaling: { type: 'linear', factor: 2 } }, 'UNSUPPORTED', /rope_scaling\.rope_type: "linear" is not a Phi-3 rope type/);
  bad({ ...phi3, partial_rotary_factor: 1.5 }, 'BAD_CONFIG', /partial_rotary_factor: must be a number in \(0, 1\]/);
  bad({ ...phi3, partial_rotary_factor: 0.7 }, 'UNSUPPORTED', /partial_rotary_factor: gives 11 rotary dimensions per head/);
  bad({ ...phi3, num_key_value_heads: 3 }, 'BAD_CONFIG', /num_key_value_heads: 3 does not divide num_attention_heads 4/);
  bad({ ...phi3, sliding_window: 0 }, 'BAD_CONFIG', /sliding_window: must be a positive integer/);
  bad({ ...neox, rotary_pct: undefined, rope_parameters: { partial_rotary_factor: 0 } }, 'BAD_CONFIG', /rope_parameters\.partial_rotary_factor: must be a number in \(0, 1\]/);
  bad({ ...llama, model_type: 'qwen2', use_sliding_window: true, sliding_window: 4, layer_types: ['sliding_attention', 'chunked_attention'] }, 'BAD_CONFIG', /layer_types: layer type "chunked_attention" is neither/);
});
