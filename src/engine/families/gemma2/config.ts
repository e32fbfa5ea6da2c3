/**
 * Gemma 2 config.json (Gemma2ForCausalLM), read through the Llama-style reader (GQA, rotary over the whole
 * head, gated MLP, head_dim) with Gemma's defaults and differences: `hidden_activation` (older configs
 * `hidden_act`, default gelu_pytorch_tanh: GeGLU with tanh GELU); head_dim 256; tied embeddings unless
 * tie_word_embeddings is false; embedding times sqrt(hidden_size); RMSNorm with (1 + w) (the weights' offset
 * is set by families/gemma2/weights.ts); sandwich norms; scores scaled by query_pre_attn_scalar^-0.5 (default
 * 256); `attn_logit_softcapping` (default 50) and `final_logit_softcapping` (default 30), null for none;
 * `sliding_window` (default 4096) on the layers `layer_types` marks "sliding_attention", else on even layers
 * (layer 0 slides), as Hugging Face's Gemma2Config. Gemma 3 (families/gemma3) builds on this.
 */
import type { ModelConfig } from '../../model-config';
import { fail } from '../../errors';
import { ConfigFields } from '../config-fields';
import { parseLlamaConfig } from '../llama/config';

/** What differs between Gemma 2 and Gemma 3 in the shared reader. */
export interface GemmaDefaults {
  headDim: number;
  contextLength: number;
  ropeTheta: number;
  attnSoftcap: number | null;
  finalLogitSoftcap: number | null;
  slidingWindow: number;
  /** Without layer_types: whether layer l slides. */
  sliding(l: number): boolean;
}

const GEMMA2: GemmaDefaults = {
  headDim: 256,
  contextLength: 8192,
  ropeTheta: 10000,
  attnSoftcap: 50,
  finalLogitSoftcap: 30,
  slidingWindow: 4096,
  sliding: (l) => l % 2 === 0,
};

/** A soft-cap field: the default when absent, none when null. */
function softcap(f: ConfigFields, field: string, fallback: number | null): number | undefined {
  const v = f.raw[field] === undefined ? fallback : f.raw[field];
  return v === null ? undefined : f.positive(field, 1e9, v as number);
}

/** Per-layer windows: `sliding_window` where layer_types (or, without it, the family's pattern) says sliding_attention. */
function windows(f: ConfigFields, nLayers: number, d: GemmaDefaults): (number | null)[] {
  const w = f.int('sliding_window', 1 << 24, d.slidingWindow);
  const types = f.raw.layer_types;
  if (types == null) return Array.from({ length: nLayers }, (_, l) => (d.sliding(l) ? w : null));
  if (!Array.isArray(types) || types.length !== nLayers) {
    fail('BAD_CONFIG', { file: f.path, field: 'layer_types' }, `must list one entry per layer (${nLayers}), got ${JSON.stringify(types)}.`);
  }
  return types.map((t, l) => {
    if (t !== 'sliding_attention' && t !== 'full_attention') {
      fail('BAD_CONFIG', { file: f.path, field: `layer_types[${l}]` }, `must be "sliding_attention" or "full_attention", got ${JSON.stringify(t)}.`);
    }
    return t === 'sliding_attention' ? w : null;
  });
}

/** The Gemma 2 / Gemma 3 text config: `defaults` for the fields a config may leave out. */
export function parseGemmaConfig(raw: Record<string, unknown>, path: string, d: GemmaDefaults): ModelConfig {
  const f = new ConfigFields(raw, path);
  const actField = raw.hidden_activation != null ? 'hidden_activation' : 'hidden_act';
  f.activation(actField, 'gelu_pytorch_tanh');
  const c = parseLlamaConfig({
    ...raw,
    hidden_act: raw[actField] ?? 'gelu_pytorch_tanh',
    head_dim: raw.head_dim ?? d.headDim,
    max_position_embeddings: raw.max_position_embeddings ?? d.contextLength,
    rope_theta: raw.rope_theta ?? (raw.rope_parameters == null ? d.ropeTheta : undefined),
    tie_word_embeddings: raw.tie_word_embeddings ?? true,
  }, path);
  const bias = f.bool('attention_bias', false);
  return {
    ...c,
    architecture: 'gemma2',
    embedScale: Math.sqrt(c.dModel),
    sandwichNorms: true,
    queryPreAttnScalar: f.positive('query_pre_attn_scalar', 1 << 20, 256),
    attnSoftcap: softcap(f, 'attn_logit_softcapping', d.attnSoftcap),
    finalLogitSoftcap: softcap(f, 'final_logit_softcapping', d.finalLogitSoftcap),
    attnWindows: windows(f, c.nLayers, d),
    biases: { qkv: bias, attnOut: bias, mlp: false },
  };
}

export function parseGemma2Config(raw: Record<string, unknown>, path: string): ModelConfig {
  return parseGemmaConfig(raw, path, GEMMA2);
}
