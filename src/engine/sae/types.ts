/**
 * Sparse dictionaries (SAEs, transcoders, cross-layer transcoders) in family-neutral form: what a folder
 * in any public format means, as data. Readers (formats/*.ts) turn each format into this; everything
 * downstream (the CPU encoder here, the graph builder later) reads only this, never a format name, so
 * every difference between libraries is a field below rather than a check scattered elsewhere.
 */
import type { Linear, WeightRef } from '../params';
import type { WeightSource } from '../weight-reader';

export type DictionaryFormat = 'saelens' | 'gemma-scope' | 'gemma-scope-2' | 'llama-scope' | 'sparsify' | 'circuit-tracer' | 'circuit-tracer-clt';

/** An SAE reconstructs its input hook; a transcoder predicts another hook; a skip transcoder adds x W_skip. */
export type DictionaryKind = 'sae' | 'transcoder' | 'skip_transcoder';

/** The architecture as trained. 'batchtopk' runs as a threshold at inference (see `activation`). */
export type Architecture = 'standard' | 'jumprelu' | 'topk' | 'batchtopk' | 'gated';

/**
 * The feature activation applied to the pre-activations `pre` ([n, d_sae]). Where libraries disagree, the
 * `semantics` field says whose definition a file means:
 * - jumprelu 'saelens': relu(pre) * (pre > threshold) (SAELens, Gemma Scope, dictionary_learning's BatchTopK);
 *   'circuit-tracer': pre * (pre > threshold), so a negative threshold lets negative values through.
 * - topk 'saelens': the k largest of pre, each relu'd, the rest 0 (SAELens; sparsify's relu-then-topk gives
 *   the same values); 'circuit-tracer': the k largest kept as they are, negatives included.
 * - gated: (x' W_enc + b_gate > 0) * relu(x' (W_enc * exp(r_mag)) + b_mag) (SAELens); the encoder's bias is
 *   b_gate and `pre` is the magnitude path.
 */
export type Activation =
  | { kind: 'relu' }
  | { kind: 'jumprelu'; threshold: WeightRef; semantics: 'saelens' | 'circuit-tracer' }
  | { kind: 'topk'; k: number; semantics: 'saelens' | 'circuit-tracer' }
  | { kind: 'gated'; bMag: WeightRef; rMag: WeightRef };

/**
 * How the input is normalised before encoding, and the output restored after decoding (SAELens'
 * normalize_activations, Llama Scope's norm_activation):
 * - expected_average_only_in: x * scalingFactor in, / scalingFactor out. SAELens applies no factor inside
 *   the SAE (training folds it into the weights); `scalingFactor` is absent unless the folder names one.
 * - constant_norm_rescale: x * sqrt(d_in) / ||x|| per row in; the output divided by the same factor.
 * - layer_norm: (x - mean) / (std + eps) per row (std unbiased, as torch's), mean and std restored on output.
 * - dataset_wise (Llama Scope): x * sqrt(d_in) / normIn in, output * normOut / sqrt(d_out).
 */
export type InputNormalization =
  | { kind: 'none' }
  | { kind: 'expected_average_only_in'; scalingFactor?: number }
  | { kind: 'constant_norm_rescale' }
  | { kind: 'layer_norm'; eps: number }
  | { kind: 'dataset_wise'; normIn: number; normOut: number };

/**
 * A cross-layer transcoder's source layer: its features write to this layer and every later one. The
 * decoder weight is then [d_sae, n_targets, d_out] (target t is layer `layer + t`) and its bias is this
 * layer's own output bias; a layer's reconstruction sums the contributions of every source layer up to it.
 */
export interface CrossLayerDecoder {
  /** The output hook of each target, in order (hooksOut[0] is hookOut). */
  hooksOut: string[];
}

export interface SparseDictionary {
  format: DictionaryFormat;
  /** The folder (or, for per-layer sets, the file) it was read from. */
  dir: string;
  kind: DictionaryKind;
  architecture: Architecture;
  activation: Activation;
  dIn: number;
  dSae: number;
  dOut: number;
  /** TransformerLens hook the dictionary reads, e.g. blocks.2.hook_resid_post. */
  hookIn: string;
  /** The hook a transcoder predicts (absent for an SAE, which reconstructs hookIn). */
  hookOut?: string;
  /** Where hookIn came from: the config, the folder's place (repository and folder names), or the user. */
  hookSource: 'config' | 'folder' | 'user';
  /** The layer for per-layer sets (circuit-tracer), parsed from file names; otherwise from the hook. */
  layer?: number;
  /**
   * x' W_enc + b_enc with W_enc 'in-out' ([d_in, d_sae], SAELens, Gemma Scope) or 'out-in' ([d_sae, d_in],
   * circuit-tracer, Llama Scope, sparsify). For gated SAEs, b is b_gate.
   */
  encoder: Linear;
  /** acts W_dec + b_dec with W_dec 'in-out' ([d_sae, d_out]) or 'out-in' ([d_out, d_sae], Llama Scope). */
  decoder: Linear;
  /** Cross-layer transcoders only: the layers decoder.w writes to. */
  crossLayer?: CrossLayerDecoder;
  /** Skip transcoders: out += x W_skip on the raw input, 'out-in' ([d_out, d_in], applied as x @ W_skip.T) or 'in-out'. */
  skip?: Linear;
  /** Subtract b_dec from the (normalised) input before encoding. */
  applyBDecToInput: boolean;
  normalization: InputNormalization;
  /** SAELens TopK: pre multiplied by ||W_dec row|| before selection, acts divided by it before decoding. */
  rescaleActsByDecoderNorm: boolean;
  /** 'hook_z': the input [.., n_heads, d_head] is flattened to d_in = n_heads * d_head (and the output unflattened). */
  reshapeActivations: 'none' | 'hook_z';
  /** SAELens metadata: the TransformerLens from_pretrained options the SAE was trained with. */
  modelFromPretrainedKwargs?: Record<string, unknown>;
  /** Log10 feature density [d_sae] (SAELens sparsity.safetensors). */
  sparsity?: WeightRef;
  /** The model the config names, if any (informational). */
  modelName?: string;
  /** Facts a user should know (conventions assumed, fields ignored). */
  notes: string[];
  /** Where the tensors are: files under source.weights.dataDir, or in memory (npz members, constants) by location. */
  source: DictionarySource;
}

/**
 * File-backed tensors: WeightRef.location is a path relative to `weights.dataDir` (the real folder, links
 * resolved, as onnxruntime's external data needs). In-memory tensors: `memory` holds them as float32 by
 * location, and `isInMemory` tells a consumer which is which.
 */
export interface DictionarySource extends WeightSource {
  weights: { dataDir: string };
  memory: Map<string, Float32Array>;
}

/** Whether a dictionary tensor lives in memory (inflated npz member or a constant) rather than in a file. */
export function isInMemory(source: DictionarySource, ref: WeightRef): boolean {
  return source.memory.has(ref.location);
}
