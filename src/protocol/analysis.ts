/**
 * The plain-data result of an analysis, shared by the CLI's JSON and HTML reports and the panels:
 * values on one or two labelled axes (row-major), plus notes and text.
 */
export interface Axis {
  name: string;
  labels: string[];
}

export interface AnalysisOutput {
  name: string;
  kind: string;
  /** Zero (text only), one (bars) or two (heatmap: rows, then columns) axes. */
  axes: Axis[];
  /** Row-major values over the axes. */
  values: number[];
  /** What a value is ("normalized logit difference", "score", ...). */
  valueLabel: string;
  /** Scalars worth stating next to the plot (baselines, sums). */
  notes?: Record<string, number | string>;
  /** Labelled texts (continuations). */
  texts?: { label: string; text: string }[];
  /** Further plots that belong to the same analysis (per-head heatmap, one per detector). */
  parts?: AnalysisOutput[];
}
