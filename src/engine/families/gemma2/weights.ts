/**
 * Gemma 2 parameters: the Llama-style tensors (`model.` prefix) with four RMSNorms per layer, all stored
 * zero-centred and applied as (1 + w) (weightOffset 1): ln1 `input_layernorm`, ln1Post
 * `post_attention_layernorm`, ln2 `pre_feedforward_layernorm`, ln2Post `post_feedforward_layernorm`; the
 * final `norm` likewise. Gemma 3 (families/gemma3) adds q/k norms and other prefixes.
 */
import type { ModelConfig } from '../../model-config';
import type { WeightIndex } from '../../checkpoint';
import type { ModelParams, Norm } from '../../params';
import { LlamaTensorPlace, findLlamaWeights } from '../llama/weights';
import { TensorLookup } from '../tensor-lookup';

/** A Gemma RMSNorm: x / rms * (1 + w). */
export const gemmaNorm = (n: Norm): Norm => ({ ...n, weightOffset: 1 });

export function findGemmaWeights(c: ModelConfig, index: WeightIndex, configPath: string, place?: LlamaTensorPlace): ModelParams {
  const params = findLlamaWeights(c, index, configPath, { ln1: 'input_layernorm', ln2: 'pre_feedforward_layernorm' }, place);
  const t = new TensorLookup(index, configPath, place?.prefix ?? 'model.', `${c.modelType} checkpoint`);
  const norm = (name: string) => gemmaNorm({ w: t.need(name + '.weight', [c.dModel]) });
  const blocks = params.blocks.map((b, l) => ({
    ...b,
    ln1: gemmaNorm(b.ln1),
    ln1Post: norm(`layers.${l}.post_attention_layernorm`),
    ln2: gemmaNorm(b.ln2),
    ln2Post: norm(`layers.${l}.post_feedforward_layernorm`),
  }));
  return { ...params, blocks, finalNorm: gemmaNorm(params.finalNorm) };
}

export function findGemma2Weights(c: ModelConfig, index: WeightIndex, configPath: string): ModelParams {
  return findGemmaWeights(c, index, configPath);
}
