/**
 * A model's parameters in family-neutral form: references to tensors in the checkpoint's safetensors
 * files (never their values), grouped the way the graph builder uses them. Each family maps its own
 * Hugging Face tensor names onto this (src/engine/families/<family>/weights.ts).
 */
import type { FloatDtype } from './dtype';

export interface WeightRef {
  /** The Hugging Face tensor name. */
  name: string;
  dtype: FloatDtype;
  shape: number[];
  /** File name inside the weight index's data folder, and the byte range. */
  location: string;
  offset: number;
  length: number;
}

/**
 * A linear map y = x W (+ b). 'in-out': W is [in, out] (GPT-2's Conv1D); 'out-in': W is [out, in]
 * (torch.nn.Linear), applied without materializing its transpose.
 */
export interface Linear {
  w: WeightRef;
  b?: WeightRef;
  layout: 'in-out' | 'out-in';
}

/**
 * LayerNorm (weight and bias) or RMSNorm (weight only); the kind is the config's `normalization`. No
 * weight: the weight (and bias) were folded into the layers that read the norm (weight processing's
 * foldLn), leaving TransformerLens' LNPre / RMSPre: centre (LayerNorm) and divide by the scale.
 */
export interface Norm {
  w?: WeightRef;
  b?: WeightRef;
  /**
   * The norm multiplies by `w + weightOffset` (absent: 0, by `w`). Gemma stores its RMSNorm weights
   * zero-centred and computes x / rms * (1 + w): weightOffset 1.
   */
  weightOffset?: number;
}

/**
 * Query, key and value projections: three matrices, or one fused matrix whose outputs are
 * [q | k | v] ('blocks', GPT-2) or [q | k | v] within each head ('per-head', GPT-NeoX).
 */
export type Qkv =
  | { kind: 'separate'; q: Linear; k: Linear; v: Linear }
  | { kind: 'fused'; proj: Linear; order: 'blocks' | 'per-head' };

export interface BlockParams {
  ln1: Norm;
  ln2: Norm;
  /** Sandwich norms (config sandwichNorms, Gemma): the norm of the attention output (post_attention_layernorm). */
  ln1Post?: Norm;
  /** Sandwich norms: the norm of the MLP output (post_feedforward_layernorm). */
  ln2Post?: Norm;
  qkv: Qkv;
  /**
   * RMSNorms of q and k (config qkNorm): per head, weights [d_head] (Qwen3's self_attn.q_norm / k_norm), or over
   * the whole projection, weights [n_heads * d_head] / [n_kv_heads * d_head] (qkNormOverProjection: OLMo 2).
   */
  qNorm?: Norm;
  kNorm?: Norm;
  /** [n_heads * d_head -> d_model] */
  out: Linear;
  /** [d_model -> d_mlp]: the MLP input, or the linear path of a gated MLP (W_in, hook_pre_linear). */
  mlpIn: Linear;
  /** [d_model -> d_mlp]: the gate of a gated MLP (W_gate, hook_pre). */
  mlpGate?: Linear;
  /** [d_mlp -> d_model] */
  mlpOut: Linear;
}

export interface ModelParams {
  /** [d_vocab, d_model] */
  embed: WeightRef;
  /** [n_ctx, d_model], for learned absolute positions. */
  posEmbed?: WeightRef;
  blocks: BlockParams[];
  /** The final norm (TransformerLens' ln_final); its kind is the config's `normalization`. */
  finalNorm: Norm;
  /** The unembedding as [d_vocab, d_model] (W_U transposed): lm_head / embed_out, or the embedding when tied. */
  unembed: WeightRef;
  /** [d_vocab]: TransformerLens' b_U, which folding the final LayerNorm's bias creates. */
  unembedBias?: WeightRef;
  tied: boolean;
}
