/**
 * Qwen3 config.json (Qwen3ForCausalLM): the Llama-style config (GQA, rotary over the whole head with
 * rope_theta / rope_parameters, SwiGLU, tied embeddings on small sizes) plus per-head q/k RMSNorms.
 * Differences from the Llama reader: `head_dim` defaults to 128 as in Hugging Face's Qwen3Config (it may
 * differ from hidden_size / num_attention_heads); `attention_bias` (false on the released models) puts
 * biases on q, k, v and o; `use_sliding_window` slides as Qwen2 does (layer_types, else from max_window_layers on).
 */
import type { ModelConfig } from '../../model-config';
import { parseLlamaConfig } from '../llama/config';

/** Hugging Face's Qwen3Config default when config.json has no head_dim. */
const DEFAULT_HEAD_DIM = 128;

export function parseQwen3Config(raw: Record<string, unknown>, path: string): ModelConfig {
  const c = parseLlamaConfig({ ...raw, head_dim: raw.head_dim ?? DEFAULT_HEAD_DIM }, path);
  return { ...c, architecture: 'qwen3', qkNorm: true };
}
