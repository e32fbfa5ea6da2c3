/**
 * The engine's family-neutral model description, with TransformerLens' names (n_layers, d_model,
 * n_heads, d_head, d_mlp, n_ctx, d_vocab: the protocol's ModelDims) and what differs between families.
 * Types only, free of Node APIs; config.ts reads it from config.json.
 */
import type { ModelDims } from '../protocol/runner';

export type Architecture = 'gpt2' | 'neox' | 'llama' | 'qwen3' | 'olmo2' | 'phi3' | 'gptneo' | 'gemma2' | 'gemma3';
export type Activation = 'gelu_new' | 'gelu' | 'relu' | 'silu';
export type NormKind = 'layernorm' | 'rmsnorm';

/** Hugging Face `rope_scaling`, applied to the rotary inverse frequencies as transformers does. */
export type RopeScaling =
  | { type: 'linear'; factor: number }
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number }
  /**
   * LongRoPE (Phi-3's `longrope`, formerly `su`): each inverse frequency divided by its factor
   * (length dims / 2), the long factors when the run is longer than originalMaxPositions (transformers
   * decides per forward, from its sequence length), the short ones otherwise; cos and sin are then
   * multiplied by attentionFactor.
   */
  | { type: 'longrope'; shortFactor: number[]; longFactor: number[]; originalMaxPositions: number; attentionFactor: number };

export interface RotaryConfig {
  /** Rotated dimensions at the start of each head (GPT-NeoX: rotary_pct * d_head; Llama: d_head). */
  dims: number;
  base: number;
  scaling: RopeScaling | null;
}

export interface ModelConfig extends ModelDims {
  architecture: Architecture;
  normalization: NormKind;
  lnEps: number;
  act: Activation;
  /** 'learned': added position embeddings (hook_pos_embed); 'rotary': rotated q and k (hook_rot_q, hook_rot_k). */
  positional: 'learned' | 'rotary';
  rotary: RotaryConfig | null;
  /**
   * The rotary settings of sliding-window layers (those with a non-null attnWindows entry) where they differ from
   * `rotary`, which then serves the global layers (Gemma 3: rope_local_base_freq and no scaling on local layers,
   * rope_theta and rope_scaling on global ones). Absent: every layer uses `rotary`.
   */
  rotaryLocal?: RotaryConfig;
  /** hook_embed is the token embedding times this (Gemma: sqrt(d_model), as TransformerLens folds it into W_E). */
  embedScale?: number;
  /** Attention and MLP both read resid_pre and add to it (GPT-NeoX): no hook_resid_mid. */
  parallelAttnMlp: boolean;
  /** act(x W_gate) * (x W_in) (Llama's SwiGLU): mlp.hook_pre is the gate, mlp.hook_pre_linear the linear path. */
  gatedMlp: boolean;
  /** Divide attention scores by sqrt(d_head) (GPT-2 `scale_attn_weights`; GPT-Neo does not). */
  scaleAttnWeights: boolean;
  /** Also divide layer L's scores by L + 1 (GPT-2 `scale_attn_by_inverse_layer_idx`). */
  scaleAttnByInverseLayerIdx: boolean;
  /**
   * Scores are q.k times queryPreAttnScalar^-0.5 instead of d_head^-0.5 (Gemma's `query_pre_attn_scalar`;
   * TransformerLens' attn_scale is its square root). Takes the place of scaleAttnWeights when set.
   */
  queryPreAttnScalar?: number;
  /**
   * Attention scores become tanh(s / cap) * cap before the mask (Gemma 2's `attn_logit_softcapping`;
   * TransformerLens' attn_scores_soft_cap); hook_attn_scores is after the cap and the mask.
   */
  attnSoftcap?: number;
  /**
   * The `logits` output is tanh(z / cap) * cap of the unembedding z = ln_final(resid) W_U (Gemma 2's
   * `final_logit_softcapping`; TransformerLens' output_logits_soft_cap). Analyses that unembed residual
   * components themselves (logit lens, direct logit attribution) see the logits before this cap.
   */
  finalLogitSoftcap?: number;
  /**
   * Per layer: a query attends to keys at most `window - 1` positions back (GPT-Neo local layers, Mistral's
   * sliding window), or null for plain causal attention.
   */
  attnWindows: (number | null)[];
  /**
   * RMSNorm over each head of q and k (weight [d_head]) after the head split and before rotary (Qwen3;
   * TransformerLens' use_qk_norm): hooks attn.q_norm.* and attn.k_norm.*, between hook_q/hook_k and hook_rot_q/hook_rot_k.
   */
  qkNorm?: boolean;
  /**
   * With qkNorm: the q and k RMSNorms run over the whole projection (weights [n_heads * d_head] and
   * [n_kv_heads * d_head]) before the head split (OLMo 2); hooks attn.q_norm.hook_scale [batch, pos, 1] and
   * hook_normalized [batch, pos, n_heads * d_head] (k: n_kv_heads * d_head), still between hook_q/hook_k and hook_rot_q/hook_rot_k.
   */
  qkNormOverProjection?: boolean;
  /**
   * No norm before attention or the MLP; ln1 normalizes the attention output and ln2 the MLP output before
   * each is added to the residual stream (OLMo 2's post_attention_layernorm / post_feedforward_layernorm).
   * As in TransformerLens, hook_attn_out and hook_mlp_out are before these norms, so they are not what is
   * added to the residual stream.
   */
  postNorms?: boolean;
  /**
   * Sandwich norms (Gemma 2 and 3): ln1 / ln2 before attention and the MLP as usual, plus ln1_post
   * (post_attention_layernorm) on the attention output and ln2_post (post_feedforward_layernorm) on the MLP
   * output: x + ln1_post(attn(ln1(x))), then x + ln2_post(mlp(ln2(x))). As in TransformerLens, hook_attn_out and
   * hook_mlp_out are after the post norms (what is added to the residual stream); attn.hook_result, per head,
   * is before ln1_post. Not to be confused with postNorms (OLMo 2).
   */
  sandwichNorms?: boolean;
  /** Which linear maps have biases: q/k/v, the attention output, the MLP. */
  biases: { qkv: boolean; attnOut: boolean; mlp: boolean };
  tieWordEmbeddings: boolean;
  bosTokenId: number | null;
}
