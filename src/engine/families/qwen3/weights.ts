/**
 * Qwen3 parameters: the Llama-style tensors plus each layer's `self_attn.q_norm.weight` and
 * `self_attn.k_norm.weight` ([head_dim], the per-head RMSNorms of q and k).
 */
import type { ModelConfig } from '../../model-config';
import type { WeightIndex } from '../../checkpoint';
import type { ModelParams } from '../../params';
import { findLlamaWeights } from '../llama/weights';
import { TensorLookup } from '../tensor-lookup';

export function findQwen3Weights(c: ModelConfig, index: WeightIndex, configPath: string): ModelParams {
  const params = findLlamaWeights(c, index, configPath);
  const t = new TensorLookup(index, configPath, 'model.', `${c.modelType} checkpoint`);
  const norm = (name: string) => ({ w: t.need(name, [c.dHead]) });
  const blocks = params.blocks.map((b, l) => ({ ...b, qNorm: norm(`layers.${l}.self_attn.q_norm.weight`), kNorm: norm(`layers.${l}.self_attn.k_norm.weight`) }));
  return { ...params, blocks };
}
