/**
 * The `features` analysis as plain data (src/engine/analysis/features.ts computes it in the worker):
 * an attached SAE's top features at each prompt token, with activations, and for each feature shown its
 * top and bottom logits and, when the prompt has an answer, its direct logit attribution. The analysis
 * panel, the inline view and the feature hover read this one type; nothing in it is a typed array.
 */
import type { PanelToken } from './panels';

/** One vocabulary token and a value (a logit, or a logit effect). */
export interface TokenValue {
  id: number;
  text: string;
  value: number;
}

/** A feature's activation at one token. */
export interface FeatureActivation {
  id: number;
  act: number;
}

export interface FeatureTokenRow extends PanelToken {
  pos: number;
  /** The token's top features by activation, largest first; only active ones (activation > 0), at most `k`. */
  features: FeatureActivation[];
}

/** A feature shown in the result, once, by id. */
export interface FeatureInfo {
  id: number;
  /** Its largest activation over the prompt's tokens, and where. */
  maxAct: number;
  maxPos: number;
  /**
   * Its logit effects, largest and smallest first: W_dec[f] (centred where the final norm is a LayerNorm),
   * times the final norm's weight, through the unembedding W_U (no bias, no soft-cap, no per-token
   * scale), as SAE-Vis and Neuronpedia rank them. Empty when the dictionary does not write d_model
   * vectors (an SAE on hook_z, say).
   */
  topLogits: TokenValue[];
  bottomLogits: TokenValue[];
}

/**
 * Direct logit attribution per active feature at one position: the feature's part of the reconstruction,
 * a_f x W_dec[f] (divided by ||W_dec[f]|| for TopK rescaled by decoder norm, times the input
 * normalisation's output scale), centred (LayerNorm), divided by the run's ln_final.hook_scale at that
 * position, dotted with the final norm's weight times W_U[answer] - W_U[counterfactual] (or W_U[answer]).
 * That is TransformerLens' DLA (decompose_resid with apply_ln) applied to each feature's vector.
 */
export interface FeatureAttribution {
  /** "logit difference ' Mary' - ' John'", or "logit of ' Mary'". */
  metric: string;
  position: number;
  /** The run's metric at that position (before any soft-cap), for scale. */
  metricValue: number;
  /** Every active feature at that position, by |value|, largest first. */
  features: (FeatureActivation & { value: number })[];
  /** The sum over all active features. */
  total: number;
}

export interface FeaturesResult {
  /** The dictionary: its index among the attached ones, the hook it reads, its width and mode. */
  sae: { index: number; hook: string; dSae: number; mode: 'observe' | 'splice' };
  k: number;
  tokens: FeatureTokenRow[];
  /** Every feature some token lists, by id (ascending). */
  features: FeatureInfo[];
  attribution?: FeatureAttribution;
  /** Why logits or the attribution are absent, when they are. */
  notes: string[];
}
