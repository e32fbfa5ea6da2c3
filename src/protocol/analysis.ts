import type { ClaimResult } from './circuit';
import type { FeaturesResult } from './features';

/**
 * The plain-data result of an analysis, shared by the CLI's JSON and HTML reports and the panels:
 * values on labelled axes (row-major), how to colour them, a line in words, notes, and token sequences.
 */
export interface Axis {
  name: string;
  /** One per index; a position axis labels each position `12 " of"` (index, then the token as JSON). */
  labels: string[];
}

/** Signed values: diverging around 0 (red negative, blue positive); unsigned: sequential from 0. */
export type ValueScale = 'diverging' | 'sequential';

/** Tokens in order, each drawn as its own span: the prompt's (no probability), then generated ones. */
export interface TokenSequence {
  /** "continuation", "without steering", "with steering (x1.5 at blocks.0.hook_resid_post)". */
  label: string;
  /** `prob`: the probability the model gave the token when it was picked (absent for prompt tokens); `value`: a signed per-token value (input attribution). */
  tokens: { text: string; prob?: number; value?: number }[];
  /** With token values: what they are (the legend), on a diverging scale over this range. */
  valueLabel?: string;
  range?: [number, number];
}

/** One cell of an attribution-patching check: its gradient estimate and the exact patching value. */
export interface VerifiedCell {
  /** "layer 3, pos 5 \" of\"" as the heatmap's axes label it. */
  label: string;
  layer: number;
  unit: string;
  estimate: number;
  exact: number;
  /** 'top': among the N largest estimates; 'sample': drawn at random from the others. */
  chosen: 'top' | 'sample';
  /** Exact patching finds the cell important and the estimate does not (AtpVerification.bar). */
  falseNegative: boolean;
}

/**
 * attributionPatching with `verify`: exact activation patching of the N cells with the largest estimated
 * effect |estimate - baseline| (baseline 0 denoising, 1 noising), and of N cells drawn (seeded) from the
 * rest. A checked cell is a false negative when exact patching finds it important (exact effect at least
 * `fraction` of the largest exact effect among the checked cells) and the estimate does not (estimated
 * effect under that same bar).
 */
export interface AtpVerification {
  cells: VerifiedCell[];
  /** Spearman rank correlation of estimate and exact value over the top-N cells (NaN under 2 cells or when one side is constant). */
  spearman: number;
  /** The false-negative bar: `fraction` x the largest exact effect among the checked cells. */
  bar: number;
  fraction: number;
  /** Cells drawn from the rest, and how many there were to draw from. */
  sampled: number;
  rest: number;
  /** False negatives among all checked cells, and among the drawn ones only (their share estimates the rate in the rest). */
  falseNegatives: number;
  sampledFalseNegatives: number;
  seed: number;
}

/**
 * An edge-attribution graph as its panel draws it: EAP-IG's nodes (the embeddings, each head, each MLP,
 * the logits) by layer, and the edges worth drawing (the circuit's and the largest others) with their
 * scores. An edge into a head names the input it reaches (q, k or v).
 */
export interface EdgeGraphView {
  nLayers: number;
  nHeads: number;
  /** `input`, `a{L}.h{H}`, `m{L}`, `logits`: row `layer` (-1 for input, nLayers for logits), column `head` (heads), none for MLPs. */
  nodes: { label: string; layer: number; head?: number }[];
  edges: { from: number; to: number; input?: 'q' | 'k' | 'v'; score: number; kept: boolean }[];
  /** All edges of the graph, and how many the circuit keeps. */
  edgeCount: number;
  keptCount: number;
  /** What a score is. */
  scoreLabel: string;
}

export interface AnalysisOutput {
  name: string;
  kind: string;
  /**
   * Zero (text only), one (bars), two (heatmap: rows, then columns; bars by series when `grouped`) or
   * three (one heatmap per index of the first) axes; a second axis named 'neuron' is drawn as its most
   * positive and most negative neurons and a histogram of all.
   */
  axes: Axis[];
  /** Row-major values over the axes. */
  values: number[];
  /**
   * Over a dataset: the standard deviation over its prompts of each value (row-major like `values`,
   * which are means or ratios of means then); hovers and reports show it as "± s".
   */
  spread?: number[];
  /** What a value is ("normalized logit difference", "previous-token score", ...): the colour bar's title. */
  valueLabel: string;
  /** One line in words: what was measured and its key numbers ("logit difference ' God' - ' Israel' ..."). */
  summary?: string;
  /** How values are coloured (default: diverging when any value is negative). */
  scale?: ValueScale;
  /** The colour (and bar) range, the same for every part it is comparable with (default: from the values). */
  range?: [number, number];
  /** Two axes drawn as horizontal bars of the first axis, one bar per label of the second (the series). */
  grouped?: boolean;
  /** Scalars worth stating next to the plot (baselines, sums), keyed in words. */
  notes?: Record<string, number | string>;
  /** Labelled texts (continuations, decoded as a whole). */
  texts?: { label: string; text: string }[];
  /** The same continuations token by token, with each generated token's probability. */
  sequences?: TokenSequence[];
  /** Further plots that belong to the same analysis (per-head heatmap, one per detector). */
  parts?: AnalysisOutput[];
  /** attributionPatching with `verify`: estimates against exact patching. */
  verification?: AtpVerification;
  /** A circuit analysis: each claim under each ablation, checked. */
  claims?: ClaimResult[];
  /** An edge-attribution analysis: the graph its panel draws. */
  edgeGraph?: EdgeGraphView;
  /** A features analysis: the top features per token, their logits and attribution (src/protocol/features.ts). */
  features?: FeaturesResult;
}
