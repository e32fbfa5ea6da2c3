/**
 * Gemma 3 text parameters: Gemma 2's (families/gemma2/weights.ts) plus each layer's per-head
 * `self_attn.q_norm.weight` / `k_norm.weight` ([head_dim], (1 + w)). Where the text model is:
 * - `model.` with `lm_head.weight`: Gemma3ForCausalLM (gemma-3-270m, gemma-3-1b);
 * - `language_model.model.` with `language_model.lm_head.weight`: Gemma3ForConditionalGeneration as released
 *   (gemma-3-4b and up, saved by transformers before 4.52);
 * - `model.language_model.` with `lm_head.weight`: the same class saved by transformers 4.52 and later.
 * The first prefix whose embedding is present is used.
 */
import type { ModelConfig } from '../../model-config';
import type { WeightIndex } from '../../checkpoint';
import type { ModelParams } from '../../params';
import type { LlamaTensorPlace } from '../llama/weights';
import { TensorLookup } from '../tensor-lookup';
import { findGemmaWeights, gemmaNorm } from '../gemma2/weights';

const PLACES: readonly LlamaTensorPlace[] = [
  { prefix: 'model.', lmHead: 'lm_head.weight' },
  { prefix: 'language_model.model.', lmHead: 'language_model.lm_head.weight' },
  { prefix: 'model.language_model.', lmHead: 'lm_head.weight' },
];

export function findGemma3Weights(c: ModelConfig, index: WeightIndex, configPath: string): ModelParams {
  const place = PLACES.find((p) => index.tensors.has(p.prefix + 'embed_tokens.weight')) ?? PLACES[0];
  const params = findGemmaWeights(c, index, configPath, place);
  const t = new TensorLookup(index, configPath, place.prefix, `${c.modelType} checkpoint`);
  const norm = (name: string) => gemmaNorm({ w: t.need(name, [c.dHead]) });
  const blocks = params.blocks.map((b, l) => ({ ...b, qNorm: norm(`layers.${l}.self_attn.q_norm.weight`), kNorm: norm(`layers.${l}.self_attn.k_norm.weight`) }));
  return { ...params, blocks };
}
