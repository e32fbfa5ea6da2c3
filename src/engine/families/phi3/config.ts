/**
 * Phi-3 config.json (Phi3ForCausalLM: Phi-3, Phi-3.5, Phi-4-mini), read as Hugging Face's Phi3Config and
 * modeling_phi3 do: Llama-style RMSNorm, SwiGLU and grouped-query attention with no biases; rotary on the
 * first int(head_dim * partial_rotary_factor) dimensions of each head; `rope_scaling` / `rope_parameters` of
 * type longrope (the old names `su` and `yarn` mean longrope here, as Phi3Config renames them), with
 * `original_max_position_embeddings` at the top level (default 4096) and max_position_embeddings (default
 * 4096) giving the default attention factor (other rope types are refused, as Phi3Config refuses them);
 * `sliding_window` (default none) on every layer.
 */
import type { ModelConfig } from '../../model-config';
import { fail } from '../../errors';
import { ConfigFields } from '../config-fields';
import { partialRotaryFactor, rotaryConfig } from '../rope';
import { llamaDims } from '../llama/config';

/** Phi3Config's defaults for the context lengths LongRoPE reads. */
const DEFAULT_MAX_POSITIONS = 4096;

export function parsePhi3Config(raw: Record<string, unknown>, path: string): ModelConfig {
  const f = new ConfigFields({
    ...raw,
    max_position_embeddings: raw.max_position_embeddings ?? DEFAULT_MAX_POSITIONS,
    original_max_position_embeddings: raw.original_max_position_embeddings ?? DEFAULT_MAX_POSITIONS,
  }, path);
  const { nLayers, dModel, nHeads, nKvHeads, dHead, dVocab } = llamaDims(f);
  // Hugging Face truncates: dim = int(head_dim * partial_rotary_factor).
  const partial = partialRotaryFactor(f, 1);
  const window = raw.sliding_window == null ? null : f.int('sliding_window', 1 << 24);
  const rotary = rotaryConfig(f, Math.floor(dHead * partial.factor), partial.field, { longropeAliases: ['su', 'yarn'] });
  if (rotary.scaling && rotary.scaling.type !== 'longrope') {
    const field = raw.rope_scaling != null ? 'rope_scaling' : 'rope_parameters';
    fail('UNSUPPORTED', { file: path, field: `${field}.rope_type` }, `${JSON.stringify(rotary.scaling.type)} is not a Phi-3 rope type.`, "Phi3Config accepts 'longrope' (or 'su', 'yarn') or none.");
  }
  return {
    architecture: 'phi3',
    modelType: 'phi3',
    nLayers,
    dModel,
    nHeads,
    nKvHeads,
    dHead,
    dMlp: f.int('intermediate_size', 1 << 20),
    nCtx: f.int('max_position_embeddings', 1 << 24),
    dVocab,
    normalization: 'rmsnorm',
    lnEps: f.positive('rms_norm_eps', 1, 1e-5),
    act: f.activation('hidden_act', 'silu'),
    positional: 'rotary',
    rotary,
    parallelAttnMlp: false,
    gatedMlp: true,
    scaleAttnWeights: true,
    scaleAttnByInverseLayerIdx: false,
    attnWindows: Array(nLayers).fill(window),
    biases: { qkv: false, attnOut: false, mlp: false },
    tieWordEmbeddings: f.bool('tie_word_embeddings', false),
    bosTokenId: f.bosTokenId(dVocab),
  };
}
