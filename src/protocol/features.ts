/**
 * The `features` analysis as plain data (src/engine/analysis/features.ts computes it in the worker):
 * an attached SAE's top features at each prompt token, with activations, and for each feature shown its
 * top and bottom logits and, when the prompt has an answer, its direct logit attribution. The analysis
 * panel, the inline view and the feature hover read this one type; nothing in it is a typed array.
 *
 * Then the Features panel's and the hover's data: the token x feature table of a kept trace, a feature's
 * card (its activation over the prompt, its logit effects, its density and max-activating examples from a
 * feature index, its label), and the requests `circuit-lens features index` streams a corpus with.
 */
import type { PanelToken } from './panels';
import type { ModelRef, PromptInput, SaeRef } from './runner';

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
   * scale), as SAE-Vis and Neuronpedia rank them; for a cross-layer transcoder, W_dec[f] summed over every
   * layer it writes to. Empty when the dictionary does not write d_model vectors (an SAE on hook_z, say).
   */
  topLogits: TokenValue[];
  bottomLogits: TokenValue[];
}

/**
 * Direct logit attribution per active feature at one position: the feature's part of the reconstruction,
 * a_f x W_dec[f] (divided by ||W_dec[f]|| for TopK rescaled by decoder norm, times the input
 * normalisation's output scale; a cross-layer transcoder's W_dec[f] summed over its targets), centred (LayerNorm), divided by the run's ln_final.hook_scale at that
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

// ---------------------------------------------------------------- the Features panel, card and index

/** A feature's label and where it came from (a Neuronpedia export line, or a feature-labels.json file). */
export interface FeatureLabel {
  text: string;
  /** The file it was read from. */
  source: string;
}

/** Which dictionary of a kept run, and how much of the table to send. */
export interface FeaturesSliceRequest {
  /** The dictionary's input hook; default the first attached. */
  hook?: string;
  /** Features shown as columns: the ones with the largest activation anywhere in the prompt (default 24). */
  columns?: number;
  /** Top features kept per token (default 5). */
  k?: number;
  /** Label files (see FeaturesTopParams.labelFiles). */
  labelFiles?: string[];
}

/**
 * One dictionary's features over a traced prompt. `columns` are the features with the largest
 * activation over the prompt (largest first); `acts` their activations at each token; `topIds` /
 * `topValues` each token's own top k (active features only: fewer than k are padded with id -1).
 */
export interface FeaturesSlice {
  view: 'features';
  model: string;
  hook: string;
  dSae: number;
  /** Every dictionary attached to the run's model, by input hook (the panel's picker). */
  hooks: string[];
  tokens: PanelToken[];
  columns: number[];
  /** [pos, columns.length] */
  acts: Float32Array;
  k: number;
  /** [pos, k], -1 where a token has fewer than k active features. */
  topIds: Int32Array;
  /** [pos, k] */
  topValues: Float32Array;
  /** Labels of the features in `columns` and `topIds`, by feature id, where known. */
  labels: Record<number, FeatureLabel>;
}

/** A feature's logit effects, computed as FeatureInfo's topLogits and bottomLogits are. */
export interface FeatureLogits {
  feature: number;
  top: TokenValue[];
  bottom: TokenValue[];
}

/** An example window from the index: its tokens and the feature's activation at each. */
export interface FeatureExample {
  /** Window number in the corpus stream. */
  window: number;
  /** Where the feature is largest in the window. */
  pos: number;
  act: number;
  tokens: string[];
  /** [tokens.length] */
  acts: Float32Array;
}

/** What a feature index (src/engine/features/index-files.ts) says of one feature. */
export interface FeatureIndexEntry {
  /** The index folder. */
  dir: string;
  /** Fraction of the corpus's tokens (BOS left out) where the feature is above 0. */
  density: number;
  maxAct: number;
  tokens: number;
  /** Counts of log10(activation) over active tokens in equal bins from log10From to log10To (values outside go to the end bins). */
  histogram: { log10From: number; log10To: number; counts: Float32Array };
  /** Largest first. */
  top: FeatureExample[];
  /** A uniform sample of the windows where the feature is active, largest first; the card groups them in quantile bands of maxAct. */
  samples: FeatureExample[];
}

export interface FeatureCard {
  model: string;
  hook: string;
  feature: number;
  dSae: number;
  label?: FeatureLabel;
  /** The feature's activation over the run's prompt. */
  prompt: { tokens: PanelToken[]; acts: Float32Array };
  logits: FeatureLogits;
  index?: FeatureIndexEntry;
  /** Why the index is absent when one was asked for (a missing folder, another dictionary's index). */
  indexNote?: string;
}

export interface FeaturesTopParams {
  /** The model, or a spec whose model (and dictionaries) to use: `spec` with the editor's default model. */
  model?: ModelRef;
  spec?: { text: string; path: string };
  defaultModel?: string;
  input: PromptInput;
  /** Dictionaries to attach beyond model.saes (the editor's circuitLens.saes setting). */
  saes?: SaeRef[];
  slice?: FeaturesSliceRequest;
  /** Label files (Neuronpedia explanation exports .jsonl / .jsonl.gz, or feature-labels.json) beyond the dictionary folder's own feature-labels.json. */
  labelFiles?: string[];
}

export interface FeatureCardParams {
  /** A kept run from features/top (its prompt, model and dictionaries). */
  runId: number;
  hook: string;
  feature: number;
  /** A folder written by `circuit-lens features index`. */
  featureIndex?: string;
  labelFiles?: string[];
  /** Tokens in each of the top and bottom logit lists (default 10). */
  logits?: number;
}

export interface FeatureLogitsParams {
  runId: number;
  hook: string;
  features: number[];
  logits?: number;
}

/** A batch of equally long token windows run with one dictionary attached: its hook_sae_acts_post. */
export interface FeatureActsParams {
  model: ModelRef;
  hook: string;
  windows: number[][];
}
