/**
 * OLMo 2 config.json (Olmo2ForCausalLM): the Llama-style config (GQA, rotary over the whole head with
 * rope_theta / rope_parameters, SwiGLU, usually untied embeddings) with post norms instead of input norms
 * (post_attention_layernorm on the attention output, post_feedforward_layernorm on the MLP output) and q/k
 * RMSNorms over the whole projection before the head split. Differences from the Llama reader:
 * `rms_norm_eps` defaults to 1e-5 as in Hugging Face's Olmo2Config; `attention_bias` puts biases on q, k, v
 * and o; OLMo 1's `clip_qkv` is refused.
 */
import type { ModelConfig } from '../../model-config';
import { fail } from '../../errors';
import { parseLlamaConfig } from '../llama/config';

/** Hugging Face's Olmo2Config default when config.json has no rms_norm_eps (the released models set 1e-6). */
const DEFAULT_RMS_NORM_EPS = 1e-5;

export function parseOlmo2Config(raw: Record<string, unknown>, path: string): ModelConfig {
  if (raw.clip_qkv != null) {
    fail('UNSUPPORTED', { file: path, field: 'clip_qkv' }, `is ${JSON.stringify(raw.clip_qkv)}: clipping q, k and v is not supported for OLMo 2.`,
      'Hugging Face\'s Olmo2 does not clip either; set clip_qkv to null to run the model as transformers does.');
  }
  const c = parseLlamaConfig({ ...raw, rms_norm_eps: raw.rms_norm_eps ?? DEFAULT_RMS_NORM_EPS }, path);
  return { ...c, architecture: 'olmo2', qkNorm: true, qkNormOverProjection: true, postNorms: true };
}
