/**
 * OLMo 2 parameters: the Llama-style tensors with no input_layernorm; ln1 is `post_attention_layernorm`
 * and ln2 `post_feedforward_layernorm` (post norms on the sublayer outputs), plus each layer's
 * `self_attn.q_norm.weight` [n_heads * d_head] and `self_attn.k_norm.weight` [n_kv_heads * d_head].
 */
import type { ModelConfig } from '../../model-config';
import type { WeightIndex } from '../../checkpoint';
import type { ModelParams } from '../../params';
import { findLlamaWeights } from '../llama/weights';
import { TensorLookup } from '../tensor-lookup';

export function findOlmo2Weights(c: ModelConfig, index: WeightIndex, configPath: string): ModelParams {
  const params = findLlamaWeights(c, index, configPath, { ln1: 'post_attention_layernorm', ln2: 'post_feedforward_layernorm' });
  const t = new TensorLookup(index, configPath, 'model.', `${c.modelType} checkpoint`);
  const norm = (name: string, size: number) => ({ w: t.need(name, [size]) });
  const blocks = params.blocks.map((b, l) => ({
    ...b,
    qNorm: norm(`layers.${l}.self_attn.q_norm.weight`, c.nHeads * c.dHead),
    kNorm: norm(`layers.${l}.self_attn.k_norm.weight`, c.nKvHeads * c.dHead),
  }));
  return { ...params, blocks };
}
