/**
 * Sparse-dictionary features in the editor: the token x feature table of a traced prompt (the Features
 * panel and the spec hover read it), a feature's card (its activation over the prompt, its logit effects
 * W_dec[f] @ W_U, its density and max-activating examples from a feature index, its label), and the
 * requests `circuit-lens features index` streams a corpus with. Plain data; tensors as typed arrays.
 */
import type { PanelToken } from './panels';
import type { ModelRef, PromptInput, SaeRef } from './runner';

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

export interface FeatureLogit {
  id: number;
  text: string;
  value: number;
}

/** W_dec[f] @ W_U: the tokens whose logits the feature's decoder direction raises most and lowers most. */
export interface FeatureLogits {
  feature: number;
  top: FeatureLogit[];
  bottom: FeatureLogit[];
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
