/**
 * How an AnalysisOutput is drawn, as plain data, shared by the panel (webview/analysis) and the CLI's
 * HTML report (src/cli/report), so both read an output the same way: which figures it makes (a heatmap,
 * horizontal bars, bars by series, the extreme neurons with a histogram of all, one heatmap per index
 * of a third axis), its colour scale (RdBu around 0, Blues from 0) and range, labels for display
 * ("12 ·of", "L1 N123"), thinned ticks, cell sizes and number formats. No DOM, nothing escaped: each
 * drawer escapes for its own renderer.
 */
import type { AnalysisOutput, Axis, TokenSequence, ValueScale } from './analysis';

export interface ColourScale {
  scale: ValueScale;
  /** [low, high]; symmetric around 0 for a diverging scale. */
  range: [number, number];
}

/** ColorBrewer RdBu (plotly express's "RdBu"): dark red at the low end, near-white at 0, dark blue at the high end. */
export const DIVERGING_STOPS = ['#67001f', '#b2182b', '#d6604d', '#f4a582', '#fddbc7', '#f7f7f7', '#d1e5f0', '#92c5de', '#4393c3', '#2166ac', '#053061'];
/** ColorBrewer Blues: near-white at 0 up to dark blue. */
export const SEQUENTIAL_STOPS = ['#f7fbff', '#deebf7', '#c6dbef', '#9ecae1', '#6baed6', '#4292c6', '#2171b5', '#08519c', '#08306b'];
/** Bars of signed values: blue positive, red negative (RdBu's strong ends). */
export const POSITIVE = '#2166ac';
export const NEGATIVE = '#b2182b';
/** Bars by series ("without", "with"): a neutral grey, then blue. */
export const SERIES_COLOURS = ['#8c8c8c', '#2166ac', '#d6604d', '#4d9221'];
/** Ticks are drawn at most once per this many pixels; the rest of the labels are in the hover. */
const MIN_TICK_PX = 14;
/** Heatmap cells: at most this many pixels on a side, rows at least MIN_ROW_PX tall. */
const MAX_CELL_PX = 56;
const MIN_ROW_PX = 12;
/** Neuron results: this many most positive and most negative neurons as bars. */
const EXTREME_NEURONS = 20;

/** The range that fits every list: symmetric ±max|v| when diverging, [min(0, lowest), highest] when sequential; never empty. */
export function sharedRange(lists: readonly ArrayLike<number>[], scale: ValueScale): [number, number] {
  let lo = 0;
  let hi = 0;
  for (const list of lists) {
    for (let i = 0; i < list.length; i++) {
      const v = list[i];
      if (!Number.isFinite(v)) continue;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  if (scale === 'diverging') {
    const max = Math.max(-lo, hi) || 1;
    return [-max, max];
  }
  return [lo, hi > lo ? hi : lo + 1];
}

/** The output's scale and range: as it states them, or read from its values. */
export function colourScale(o: AnalysisOutput): ColourScale {
  const scale = o.scale ?? (o.values.some((v) => v < 0) ? 'diverging' : 'sequential');
  return { scale, range: o.range ?? sharedRange([o.values], scale) };
}

export function scaleStops(scale: ValueScale): string[] {
  return scale === 'diverging' ? DIVERGING_STOPS : SEQUENTIAL_STOPS;
}

/** The colour scale as plotly takes it: [fraction of the range, colour]. */
export function plotlyColourscale(scale: ValueScale): [number, string][] {
  const stops = scaleStops(scale);
  return stops.map((c, i) => [i / (stops.length - 1), c]);
}

const rgbOf = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

/** The colour of a value ('rgb(r,g,b)'), clamped to the range; undefined for a missing value. */
export function colourAt(c: ColourScale, v: number): string | undefined {
  if (!Number.isFinite(v)) return undefined;
  const [lo, hi] = c.range;
  const stops = scaleStops(c.scale);
  const t = Math.min(1, Math.max(0, (v - lo) / (hi - lo))) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(t));
  const [a, b] = [rgbOf(stops[i]), rgbOf(stops[i + 1])];
  const mix = a.map((x, k) => Math.round(x + (b[k] - x) * (t - i)));
  return `rgb(${mix.join(',')})`;
}

/** Text colour that reads on a background colour ('rgb(r,g,b)' or '#rrggbb'): near-black or white. */
export function inkOn(background: string): string {
  const [r, g, b] = background.startsWith('#') ? rgbOf(background) : background.slice(4, -1).split(',').map(Number);
  return 0.299 * r + 0.587 * g + 0.114 * b > 140 ? '#1a1a1a' : '#ffffff';
}

/** A value in a hover, a header or a note: three decimals under 1, two up to 100, scientific when tiny. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return v.toFixed(2);
  if (a >= 0.001) return v.toFixed(3);
  return v.toExponential(1);
}

/** A value printed in a heatmap cell: at most four characters or so. */
export function cellText(v: number): string {
  if (!Number.isFinite(v)) return '';
  const a = Math.abs(v);
  const s = a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
  return /^-0(\.0+)?$/.test(s) ? s.slice(1) : s;
}

/** A probability: "23%", "1.5%", "0.15%", or "3.2e-5" when tiny. */
export function formatProbability(p: number): string {
  if (p >= 0.1) return `${(p * 100).toFixed(0)}%`;
  if (p >= 0.001) return `${(p * 100).toPrecision(2)}%`;
  return p === 0 ? '0%' : p.toExponential(1);
}

/** How values of this label are written: probabilities as percentages, the rest as numbers. */
export function formatterFor(valueLabel: string): (v: number) => string {
  return /probability/.test(valueLabel) ? formatProbability : formatValue;
}

/** A token's text with the whitespace that would be invisible made visible: space '·', newline '↵', tab '⇥', empty '∅'. */
export function visibleToken(text: string): string {
  if (text.length === 0) return '∅';
  return controlsVisible(text.replace(/ /g, '·').replace(/\r?\n/g, '↵').replace(/\t/g, '⇥'));
}

/** A token inside flowing text: spaces stay spaces (a border shows where it starts and ends) unless it is only whitespace. */
export function flowingToken(text: string): string {
  if (/^\s*$/.test(text)) return visibleToken(text);
  return controlsVisible(text.replace(/\r?\n/g, '↵').replace(/\t/g, '⇥'));
}

/** Other control characters (fonts draw them as boxes, or not at all) as their byte, <0x1B>, or code point, <U+0085>. */
function controlsVisible(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    const code = c.charCodeAt(0);
    const hex = code.toString(16).toUpperCase();
    return code < 0x80 ? `<0x${hex.padStart(2, '0')}>` : `<U+${hex.padStart(4, '0')}>`;
  });
}

/** A label for display: a position label `12 " of"` as "12 ·of", a token axis's labels with visible whitespace. */
export function displayLabel(axis: string, label: string): string {
  if (axis === 'token') return visibleToken(label);
  const m = /^(\d+) (".*")$/.exec(label);
  if (!m) return label;
  try {
    const token: unknown = JSON.parse(m[2]);
    return typeof token === 'string' ? `${m[1]} ${visibleToken(token)}` : label;
  } catch {
    return label;
  }
}

function displayAxis(a: Axis): Axis {
  return { name: a.name, labels: a.labels.map((l) => displayLabel(a.name, l)) };
}

/** Labels are cut to this many characters (the whole label is in the hover). */
const MAX_LABEL_CHARS = 24;

/** A label cut to `max` characters (MAX_LABEL_CHARS by default) with an ellipsis. */
export function clipLabel(label: string, max = MAX_LABEL_CHARS): string {
  return label.length > max ? label.slice(0, max - 1) + '…' : label;
}

/** The length of the longest label once cut, in characters (for margins). */
export function longestLabel(labels: readonly string[]): number {
  return labels.reduce((m, l) => Math.max(m, Math.min(MAX_LABEL_CHARS, l.length)), 0);
}

/** Words on lines of at most `width` characters (a longer word gets a line of its own): colour bar titles. */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + 1 + word.length <= width) lines[last] += ` ${word}`;
    else lines.push(word);
  }
  return lines;
}

/**
 * Indices in [from, to) that get a tick label when each index is `cellPx` wide: at most one per
 * MIN_TICK_PX, every step-th with a round step (1, 2, 5, 10, 20, ...), so a zoomed or scrolled axis keeps
 * its labels on round positions.
 */
export function ticksBetween(from: number, to: number, cellPx: number): number[] {
  const need = Math.max(1, Math.ceil(MIN_TICK_PX / Math.max(cellPx, 1e-6)));
  const decade = 10 ** Math.floor(Math.log10(need));
  const step = [1, 2, 5, 10].map((m) => m * decade).find((s) => s >= need)!;
  const out: number[] = [];
  for (let i = Math.ceil(from / step) * step; i < to; i += step) out.push(i);
  return out;
}

/** Indices of [0, n) that get a tick label (ticksBetween). */
export function tickIndices(n: number, cellPx: number): number[] {
  return ticksBetween(0, n, cellPx);
}

/**
 * Cell size in pixels of a rows x columns heatmap drawn `width` pixels wide: square, at most MAX_CELL_PX;
 * when the columns are too many for square cells, rows stay MIN_ROW_PX tall; never over `maxHeight` in all.
 */
export function cellSize(nRows: number, nCols: number, width: number, maxHeight = 900): { width: number; height: number } {
  const w = Math.min(MAX_CELL_PX, width / Math.max(1, nCols));
  const cellW = w >= 1 ? Math.floor(w) : w;
  let h = Math.min(MAX_CELL_PX, Math.max(cellW, MIN_ROW_PX));
  if (h * nRows > maxHeight) h = Math.max(1, maxHeight / nRows);
  return { width: cellW, height: h };
}

/** Whether a heatmap cell is large enough to print its value in. */
export function fitsCellText(cell: { width: number; height: number }): boolean {
  return cell.width >= 36 && cell.height >= 16;
}

/** Indices of the `k` highest values then the `k` lowest, highest first (all of them, sorted, when there are at most 2k). */
export function extremes(values: readonly number[], k: number): number[] {
  const order = values.map((_, i) => i).filter((i) => Number.isFinite(values[i])).sort((a, b) => values[b] - values[a]);
  return order.length <= 2 * k ? order : [...order.slice(0, k), ...order.slice(-k)];
}

export interface Histogram {
  /** [bin + 1] bin edges, ascending. */
  edges: number[];
  /** [bin] how many values fall in each bin (the last bin includes its upper edge). */
  counts: number[];
}

/** Equal-width bins over the finite values' range (a single value gets a bin of width 1 around it). */
export function histogram(values: readonly number[], bins: number): Histogram {
  const finite = values.filter((v) => Number.isFinite(v));
  let [lo, hi] = finite.length ? [Infinity, -Infinity] : [0, 1];
  for (const v of finite) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  if (hi === lo) [lo, hi] = [lo - 0.5, hi + 0.5];
  const width = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const v of finite) counts[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
  return { edges: Array.from({ length: bins + 1 }, (_, i) => (i === bins ? hi : lo + i * width)), counts };
}

/** A histogram bin's colour: by the sign of its values on a diverging scale (grey across 0), else one blue. */
export function binColour(c: ColourScale, lo: number, hi: number): string {
  if (c.scale === 'sequential') return SEQUENTIAL_STOPS[5];
  return hi <= 0 ? NEGATIVE : lo >= 0 ? POSITIVE : SERIES_COLOURS[0];
}

/** A tick value: at most three significant digits, no trailing zeros ("0.5", "-2", "1e-4"). */
export function tickText(v: number): string {
  return String(Number(v.toPrecision(3)));
}

/** About n round values within [lo, hi] (steps of 1, 2 or 5 times a power of ten), at least 3 when the range allows. */
export function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const within = (step: number) => {
    const out: number[] = [];
    for (let i = Math.ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i++) out.push(Number((i * step).toPrecision(12)));
    return out;
  };
  const raw = (hi - lo) / Math.max(1, n - 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const steps = [10, 5, 2, 1, 0.5, 0.2, 0.1].map((m) => m * mag).filter((s) => s <= 10 * raw);
  let best = within(steps[steps.length - 1]);
  for (const step of steps) {
    const ticks = within(step);
    if (ticks.length >= Math.min(3, n) && ticks.length <= n + 1) return ticks;
    if (ticks.length > n + 1) break;
    best = ticks;
  }
  return best;
}

/** Bins for n values: about √n, between 10 and 50. */
function binCount(n: number): number {
  return Math.max(10, Math.min(50, Math.round(Math.sqrt(n))));
}

interface FigureBase {
  /** A title above the plot ("layer 3", "all 3072 neurons"), or ''. */
  title: string;
  valueLabel: string;
  colour: ColourScale;
}

export interface HeatmapFigure extends FigureBase {
  kind: 'heatmap';
  /** Axes with display labels. */
  rows: Axis;
  cols: Axis;
  /** [row, col] row-major. */
  values: number[];
  /** Over a dataset: [row, col] the standard deviation over its prompts. */
  spread?: number[];
  /** Cells are (layer, head): a click can open that head. */
  headGrid: boolean;
}

export interface BarsFigure extends FigureBase {
  kind: 'bars';
  /** One bar (or one group of bars) per label, top to bottom; display labels. */
  bars: Axis;
  /** Bars by series: one bar per label of this axis within each group. */
  series?: Axis;
  /** [bar] or, with series, [bar, series]. */
  values: number[];
  /** Over a dataset: the standard deviation over its prompts of each value. */
  spread?: number[];
  /** What the bars are out of, in words ("the 20 highest and 20 lowest of 3072"), or ''. */
  selection: string;
  /** The value axis on a log scale (positive values spanning more than two decades). */
  log: boolean;
}

export interface HistogramFigure extends FigureBase {
  kind: 'histogram';
  /** What is counted ("neurons"). */
  of: string;
  histogram: Histogram;
}

export type Figure = HeatmapFigure | BarsFigure | HistogramFigure;

function spansDecades(values: readonly number[]): boolean {
  const finite = values.filter((v) => Number.isFinite(v));
  return finite.length > 0 && finite.every((v) => v > 0) && Math.max(...finite) / Math.min(...finite) > 100;
}

/** A value in words, with its spread over a dataset's prompts when it has one: "0.42 ± 0.05". */
export function withSpread(fmt: (v: number) => string, v: number, spread: number | undefined): string {
  return spread === undefined ? fmt(v) : `${fmt(v)} ± ${fmt(spread)}`;
}

/** [layer, neuron] values as the extreme neurons ("L1 N123") and a histogram of all. */
function neuronFigures(o: AnalysisOutput, layers: Axis, neurons: Axis, colour: ColourScale): Figure[] {
  const n = o.values.length;
  const label = (i: number) => `L${layers.labels[Math.floor(i / neurons.labels.length)]} ${neurons.labels[i % neurons.labels.length]}`;
  const shown = extremes(o.values, EXTREME_NEURONS);
  const selection = shown.length < n ? `the ${EXTREME_NEURONS} highest and ${EXTREME_NEURONS} lowest of ${n}` : '';
  return [
    {
      kind: 'bars', title: selection ? `${selection} neurons` : `${n} neurons, highest first`, valueLabel: o.valueLabel, colour, bars: { name: 'neuron', labels: shown.map(label) },
      values: shown.map((i) => o.values[i]), ...(o.spread ? { spread: shown.map((i) => o.spread![i]) } : {}), selection, log: false,
    },
    { kind: 'histogram', title: `all ${n} neurons`, valueLabel: o.valueLabel, colour, of: 'neurons', histogram: histogram(o.values, binCount(n)) },
  ];
}

/** The figures of one output (not its parts), in order; none for text-only or four-axis outputs. */
export function figuresOf(o: AnalysisOutput): Figure[] {
  const colour = colourScale(o);
  const axes = o.axes.map(displayAxis);
  const heatmap = (title: string, rows: Axis, cols: Axis, from = 0): HeatmapFigure => {
    const to = from + rows.labels.length * cols.labels.length;
    return {
      kind: 'heatmap', title, valueLabel: o.valueLabel, colour, rows, cols, values: o.values.slice(from, to), ...(o.spread ? { spread: o.spread.slice(from, to) } : {}),
      headGrid: rows.name === 'layer' && cols.name === 'head',
    };
  };
  const spread = o.spread ? { spread: o.spread } : {};
  switch (axes.length) {
    case 1:
      return [{ kind: 'bars', title: '', valueLabel: o.valueLabel, colour, bars: axes[0], values: o.values, ...spread, selection: '', log: false }];
    case 2:
      if (o.grouped) return [{ kind: 'bars', title: '', valueLabel: o.valueLabel, colour, bars: axes[0], series: axes[1], values: o.values, ...spread, selection: '', log: spansDecades(o.values) }];
      if (axes[1].name === 'neuron') return neuronFigures(o, o.axes[0], o.axes[1], colour);
      return [heatmap('', axes[0], axes[1])];
    case 3: {
      const [outer, rows, cols] = axes;
      const size = rows.labels.length * cols.labels.length;
      return outer.labels.map((l, i) => heatmap(`${outer.name} ${l}`, rows, cols, i * size));
    }
    default:
      return [];
  }
}

/** The notes as one line: "clean logit difference 3.05 · direction denoise". */
export function notesLine(o: AnalysisOutput): string {
  return Object.entries(o.notes ?? {}).map(([k, v]) => `${k} ${typeof v === 'number' ? formatValue(v) : v}`).join(' · ');
}

export interface TokenSpan {
  /** The token as shown (newlines and tabs visible). */
  text: string;
  /** Hover text: the token as JSON, and its probability. */
  title: string;
  /** Generated tokens: coloured by their probability (Blues, 0 to 1), with a text colour that reads on it. */
  background?: string;
  ink?: string;
}

/** A sequence's tokens as spans: the prompt's plain, generated ones coloured by their probability; tokens with a value (attributions) on RdBu over the sequence's range. */
export function sequenceSpans(s: TokenSequence): TokenSpan[] {
  const valued: ColourScale = { scale: 'diverging', range: s.range ?? sharedRange([s.tokens.map((t) => t.value ?? 0)], 'diverging') };
  return s.tokens.map((t) => {
    const text = flowingToken(t.text);
    if (t.value !== undefined) {
      const background = colourAt(valued, t.value)!;
      return { text, title: `${JSON.stringify(t.text)}: ${s.valueLabel ?? 'value'} ${formatValue(t.value)}`, background, ink: inkOn(background) };
    }
    if (t.prob === undefined) return { text, title: `${JSON.stringify(t.text)} (prompt)` };
    const background = colourAt({ scale: 'sequential', range: [0, 1] }, t.prob)!;
    return { text, title: `${JSON.stringify(t.text)}: probability ${formatProbability(t.prob)}`, background, ink: inkOn(background) };
  });
}
