/**
 * Gemma 3 text config.json: `gemma3_text` (Gemma3ForCausalLM: 270m, 1b), or `gemma3`
 * (Gemma3ForConditionalGeneration: 4b and up) whose text model is the nested `text_config` (the vision tower
 * is not read). Everything of Gemma 2 (families/gemma2/config.ts) with Gemma3TextConfig's defaults: no final
 * soft-cap unless set, and no attention soft-cap at all (Hugging Face's Gemma3Attention keeps
 * attn_logit_softcapping but never applies it); head_dim 256; context 131072; per-head q/k RMSNorm (1 + w)
 * before rotary; local:global layers from `layer_types`, else `sliding_window_pattern` (default 6: layer l is
 * global iff (l + 1) % 6 == 0),
 * sliding_window default 4096; two rotary settings: global layers rope_theta (default 1e6) with rope_scaling,
 * local layers rope_local_base_freq (default 10000) without scaling. transformers v5 writes both as
 * rope_parameters {full_attention: {rope_theta, rope_type, ...}, sliding_attention: {...}}; both shapes are read.
 * EmbeddingGemma's `use_bidirectional_attention` is refused.
 */
import type { ModelConfig, RotaryConfig } from '../../model-config';
import { fail } from '../../errors';
import { ConfigFields } from '../config-fields';
import { rotaryConfig } from '../rope';
import { GemmaDefaults, parseGemmaConfig } from '../gemma2/config';

/** The text model's fields: config.json itself, or its text_config (with the top level's token ids and tying where the text config has none). */
function textConfig(raw: Record<string, unknown>, path: string): { text: Record<string, unknown>; path: string } {
  if (raw.model_type !== 'gemma3') return { text: raw, path };
  const t = raw.text_config;
  if (typeof t !== 'object' || t === null || Array.isArray(t)) {
    fail('BAD_CONFIG', { file: path, field: 'text_config' }, `must be an object (the text model of a gemma3 checkpoint), got ${JSON.stringify(t)}.`);
  }
  const text = t as Record<string, unknown>;
  const inherited = Object.fromEntries(['bos_token_id', 'tie_word_embeddings'].filter((k) => text[k] === undefined && raw[k] !== undefined).map((k) => [k, raw[k]]));
  return { text: { ...text, ...inherited, model_type: 'gemma3' }, path: `${path} (text_config)` };
}

/** Without layer_types: layer l is global iff (l + 1) % sliding_window_pattern == 0. */
function slidingPattern(f: ConfigFields): (l: number) => boolean {
  const pattern = f.int('sliding_window_pattern', 1 << 20, 6);
  return (l) => (l + 1) % pattern !== 0;
}

/** A rotary setting from one entry of transformers v5's per-layer-type rope_parameters. */
function perTypeRotary(f: ConfigFields, type: 'full_attention' | 'sliding_attention', dims: number, fallbackTheta: number): RotaryConfig {
  const entry = (f.raw.rope_parameters as Record<string, unknown>)[type];
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    fail('BAD_CONFIG', { file: f.path, field: `rope_parameters.${type}` }, `must be an object, got ${JSON.stringify(entry)}.`);
  }
  const o = entry as Record<string, unknown>;
  return rotaryConfig(new ConfigFields({ rope_parameters: { rope_theta: fallbackTheta, ...o } }, `${f.path} (rope_parameters.${type})`), dims, 'head_dim');
}

/** transformers v5's rope_parameters keyed by layer type ({full_attention: ..., sliding_attention: ...}). */
function perLayerType(raw: Record<string, unknown>): boolean {
  const p = raw.rope_parameters;
  return typeof p === 'object' && p !== null && ('full_attention' in p || 'sliding_attention' in p);
}

/** Global and local rotary settings, from rope_theta / rope_scaling / rope_local_base_freq or v5's rope_parameters. */
function rotaries(f: ConfigFields, global: RotaryConfig): { rotary: RotaryConfig; rotaryLocal: RotaryConfig } {
  if (perLayerType(f.raw)) {
    return { rotary: perTypeRotary(f, 'full_attention', global.dims, 1e6), rotaryLocal: perTypeRotary(f, 'sliding_attention', global.dims, 10000) };
  }
  return { rotary: global, rotaryLocal: { dims: global.dims, base: f.positive('rope_local_base_freq', 1e12, 10000), scaling: null } };
}

export function parseGemma3Config(raw: Record<string, unknown>, path: string): ModelConfig {
  const { text, path: textPath } = textConfig(raw, path);
  const f = new ConfigFields(text, textPath);
  if (f.bool('use_bidirectional_attention', false)) {
    fail('UNSUPPORTED', { file: textPath, field: 'use_bidirectional_attention' }, 'is true: bidirectional attention (EmbeddingGemma) is not supported.', 'Circuit Lens reads causal language models.');
  }
  const defaults: GemmaDefaults = {
    headDim: 256,
    contextLength: 131072,
    ropeTheta: 1e6,
    attnSoftcap: null,
    finalLogitSoftcap: null,
    slidingWindow: 4096,
    sliding: slidingPattern(f),
  };
  // The shared reader reads one rotary setting; the per-layer-type form is read here instead.
  const c = parseGemmaConfig(perLayerType(text) ? { ...text, rope_parameters: undefined } : text, textPath, defaults);
  return { ...c, architecture: 'gemma3', modelType: raw.model_type as string, qkNorm: true, attnSoftcap: undefined, ...rotaries(f, c.rotary!) };
}
