/**
 * Experiment specs (`*.circuit.json`): a model, named prompts and a list of analyses. Every value keeps
 * the source range it came from, so diagnostics, CodeLenses and "Reveal in spec" point at exact text.
 */
import type { WeightProcessing } from '../../protocol/processing';

import type { CircuitAnalysis } from './circuit-kinds';
import type { DatasetSpec } from './datasets';
import type { SaeModeName } from './vocabulary';

/** A character range [offset, offset + length) in the spec's text. */
export interface SourceRange {
  offset: number;
  length: number;
}

export interface Located<T> {
  value: T;
  range: SourceRange;
}

export interface PromptSpec {
  name: Located<string>;
  /** The prompt text; `range` covers the JSON string literal, quotes included. */
  text: Located<string>;
  /** The expected next token (for example " Mary"), must be one token. */
  answer?: Located<string>;
  /** A contrasting next token (for example " John"), must be one token. */
  counterfactual?: Located<string>;
  /** The whole prompt object. */
  range: SourceRange;
}

/** The analysis kinds, declared in the vocabulary: the two views, then the circuit analyses. */
export { ANALYSIS_KINDS } from './vocabulary';
export type { AnalysisKind } from './vocabulary';

interface AnalysisBase {
  /** Position in the `analyses` array. */
  index: number;
  /** A display name: the `name` field, else `kind #index`. */
  title: string;
  /** The prompt this analysis runs on (a prompt name; default: the first prompt). */
  prompt?: Located<string>;
  /** The whole analysis object. */
  range: SourceRange;
}

export interface AttentionAnalysis extends AnalysisBase {
  kind: 'attention';
  /** Layers shown in the small multiples (default: all). */
  layers?: Located<number>[];
  /** The head shown large (default: layer 0, head 0). */
  focus?: { layer: Located<number>; head: Located<number> };
}

export interface LogitLensAnalysis extends AnalysisBase {
  kind: 'logitLens';
  /** Colour by this token's probability (a single-token string), else by the top token's. */
  target?: Located<string>;
  /** How many top tokens each cell's hover lists. */
  topK: number;
}

/** An entry of the spec's `saes`: a dictionary attached for every analysis. */
export interface SaeSpec {
  /** Position in the `saes` array. */
  index: number;
  /** A folder (relative to the spec's folder) or ORG/NAME/SUBFOLDER. */
  path: Located<string>;
  /** The hook it reads, when given. */
  hook?: Located<string>;
  mode: Located<SaeModeName>;
  /** The whole entry (a string or an object): where its diagnostics go. */
  range: SourceRange;
}

export type AnalysisSpec = AttentionAnalysis | LogitLensAnalysis | CircuitAnalysis;

export interface ExperimentSpec {
  model?: Located<string>;
  /** TransformerLens' weight processing for the model; absent: none. */
  processing?: Located<WeightProcessing>;
  prompts: PromptSpec[];
  /** Named prompt datasets (the `circuit` kind runs on one). */
  datasets: DatasetSpec[];
  analyses: AnalysisSpec[];
  /** Dictionaries attached to the model for every analysis (`saes`); absent when the spec has none. */
  saes?: SaeSpec[];
  /** Extra hook points (names or globs) to cache with every run of this spec. */
  cache: Located<string>[];
}

export type Severity = 'error' | 'warning';

export interface SpecProblem {
  severity: Severity;
  message: string;
  range: SourceRange;
  /** A replacement the editor can offer as a quick fix (for example the closest hook name). */
  suggestion?: string;
}
