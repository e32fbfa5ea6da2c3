/**
 * Logit-lens payload -> heatmap: rows are components (residual stream points, or in the decomposed view
 * the embeddings and each attention and MLP output), columns are positions; each cell is coloured by the
 * top token's value, or the target's value or rank, and shows the top token where the cell is wide
 * enough. Long prompts are drawn a window of positions at a time, with thinned tick labels; hover
 * always has the top-k and the target. Arrays are [component, pos, k] / [component, pos].
 */
import type { LogitLensPayload } from '../../src/protocol/panels';
import type { Heatmap } from '../heatmap';
import type { PlotData } from '../plot-data';
import { percent, plotText, tokenAxisLabels, visibleToken } from '../text';
import { clipLabel, ticksBetween } from '../../src/protocol/figures';

export type LensColouring = 'top' | 'target' | 'targetRank';

/** The colourings a payload allows, the default first (the target's value when there is one). */
export function colourings(p: LogitLensPayload): LensColouring[] {
  return p.target ? ['target', 'targetRank', 'top'] : ['top'];
}

export function colouringLabel(c: LensColouring, p: LogitLensPayload): string {
  const t = p.target ? JSON.stringify(p.target.text) : '';
  const resid = p.mode === 'resid';
  switch (c) {
    case 'top':
      return resid ? 'Top token probability' : 'Top token direct logit';
    case 'target':
      return resid ? `Probability of ${t}` : `Direct logit of ${t}`;
    case 'targetRank':
      return `Rank of ${t}`;
  }
}

/** What the rows are and how they were normalised, for the legend under the plot. */
export function lensLegend(p: LogitLensPayload): string {
  const cells = 'Cells show the top token where they are wide enough; hover for the top-k and the target.';
  if (p.mode === 'resid') {
    const mid = p.labels.some((l) => l.endsWith('_mid'));
    return `Rows: the residual stream before each layer${mid ? ', after its attention (_mid)' : ''} and after the last, each given the final norm afresh (its own scale) and unembedded; values are probabilities. ${cells}`;
  }
  return 'Rows: what the embeddings and each attention and MLP output write to the residual stream (TransformerLens decompose_resid), '
    + 'centred and divided by the final norm scale of the final residual at that position (apply_ln_to_stack), times the norm weight and unembedded: '
    + `each component's direct logits. Without the final norm's bias they add up to the model's logits. ${cells}`;
}

/** Narrowest cell drawn before the plot shows a window of positions instead of all of them. */
export const MIN_CELL_PX = 8;
/** Width of one character of cell text (11 px monospace) and the padding it needs. */
const CHAR_PX = 6.6;
const CELL_PAD_PX = 4;
const MAX_CELL_CHARS = 8;
/** Rows lower than this get no text. */
const MIN_TEXT_ROW_PX = 14;
/** Columns narrower than this are drawn without a gap between them (a gap would leave no colour). */
const MIN_GAP_CELL_PX = 4;

/** Margins around the cells (the colour bar adds its own, about COLOURBAR_PX, on the right). */
const LENS_MARGIN = { l: 100, r: 10, t: 10, b: 100 };
const COLOURBAR_PX = 70;

/** Pixels left for the cells in a figure `width` wide. */
export function cellAreaPx(width: number): number {
  return Math.max(1, width - LENS_MARGIN.l - LENS_MARGIN.r - COLOURBAR_PX);
}

/** Figure height for `rows` components. */
function lensHeight(rows: number): number {
  return Math.min(760, 150 + 30 * rows);
}

/**
 * Positions [from, to) drawn in `px` pixels: all of them when they fit at MIN_CELL_PX each or `all` is
 * asked for, else as many as fit, from `start` (moved back so the window stays full).
 */
export function positionWindow(pos: number, px: number, start: number, all: boolean): { from: number; to: number } {
  const fit = Math.max(1, Math.floor(px / MIN_CELL_PX));
  if (all || fit >= pos) return { from: 0, to: pos };
  const from = Math.max(0, Math.min(Math.floor(start), pos - fit));
  return { from, to: from + fit };
}

/** Characters of cell text that fit a cell `cellPx` wide and `rowPx` high; 0: colour only. */
export function cellChars(cellPx: number, rowPx: number): number {
  if (rowPx < MIN_TEXT_ROW_PX) return 0;
  const n = Math.min(MAX_CELL_CHARS, Math.floor((cellPx - CELL_PAD_PX) / CHAR_PX));
  return n >= 2 ? n : 0;
}

/** The value a colouring shows per [component, pos] cell. */
function cellValue(p: LogitLensPayload, colouring: LensColouring): (cell: number) => number {
  const target = p.target;
  if (colouring === 'top' || !target) return (cell) => p.topValues[cell * p.k];
  if (colouring === 'targetRank') return (cell) => Math.log10(target.ranks[cell] + 1);
  return (cell) => target.values[cell];
}

function valueText(p: LogitLensPayload, v: number): string {
  return p.mode === 'resid' ? percent(v) : `${v >= 0 ? '+' : ''}${v.toFixed(2)}`;
}

/** The colour range over every position (so scrolling the window keeps the colours). */
function colourRange(p: LogitLensPayload, colouring: LensColouring, value: (cell: number) => number): { zmin: number; zmax: number } {
  if (colouring === 'targetRank') {
    let max = 1;
    for (let i = 0; i < p.labels.length * p.tokens.length; i++) max = Math.max(max, value(i));
    return { zmin: 0, zmax: max };
  }
  if (p.mode === 'resid') return { zmin: 0, zmax: 1 };
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < p.labels.length * p.tokens.length; i++) {
    const v = value(i);
    if (Number.isFinite(v)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  }
  if (colouring === 'target') {
    const m = Math.max(Math.abs(lo), Math.abs(hi), 1e-6); // diverging: centred at 0
    return { zmin: -m, zmax: m };
  }
  return { zmin: lo, zmax: Math.max(hi, lo + 1e-6) };
}

export interface LensScales {
  /** From the background (low) to the strong colour (high). */
  sequential: [number, string][];
  /** Negative, background at 0, positive. */
  diverging: [number, string][];
}

export interface LensView {
  /** Positions [from, to) drawn. */
  from: number;
  to: number;
  /** Pixels across that the cells take. */
  cellAreaPx: number;
  /** The selected cell: row and absolute position. */
  selected?: { row: number; pos: number };
}

export function lensHeatmap(p: LogitLensPayload, colouring: LensColouring, scales: LensScales, v: LensView): Heatmap {
  const nComp = p.labels.length;
  const pos = p.tokens.length;
  const cols = v.to - v.from;
  const at = (c: number, q: number, i: number) => (c * pos + q) * p.k + i; // [component, pos, k]
  const value = cellValue(p, colouring);
  const height = lensHeight(nComp);
  const cellPx = v.cellAreaPx / cols;
  const chars = cellChars(cellPx, (height - LENS_MARGIN.t - LENS_MARGIN.b) / nComp);
  const posLabels = tokenAxisLabels(p.tokens);
  const z: number[][] = [];
  const text: string[][] = [];
  const hover: string[][] = [];
  for (let c = 0; c < nComp; c++) {
    const zr: number[] = [];
    const tr: string[] = [];
    const hr: string[] = [];
    for (let q = v.from; q < v.to; q++) {
      zr.push(value(c * pos + q));
      if (chars > 0) tr.push(plotText(clipLabel(visibleToken(p.topTexts[at(c, q, 0)]), chars)));
      const lines = [`${plotText(p.labels[c])} · after ${posLabels[q]}`];
      for (let i = 0; i < p.k; i++) lines.push(`${i + 1}. ${plotText(JSON.stringify(p.topTexts[at(c, q, i)]))} ${valueText(p, p.topValues[at(c, q, i)])}`);
      if (p.target) lines.push(`target ${plotText(JSON.stringify(p.target.text))}: ${valueText(p, p.target.values[c * pos + q])}, rank ${p.target.ranks[c * pos + q] + 1}`);
      hr.push(lines.join('<br>'));
    }
    z.push(zr);
    if (chars > 0) text.push(tr);
    hover.push(hr);
  }
  const { zmin, zmax } = colourRange(p, colouring, value);
  const rankTicks = [1, 10, 100, 1000, 10000, 100000, 1000000].filter((r) => Math.log10(r) <= zmax);
  const diverging = colouring === 'target' && p.mode === 'decomposed';
  const sel = v.selected && v.selected.pos >= v.from && v.selected.pos < v.to ? [{ row: v.selected.row, col: v.selected.pos - v.from }] : [];
  return {
    z,
    ...(chars > 0 ? { text } : {}),
    hover,
    xLabels: posLabels.slice(v.from, v.to),
    xTicks: ticksBetween(v.from, v.to, cellPx).map((q) => q - v.from),
    yLabels: p.labels.map(plotText),
    xTitle: 'position',
    yTitle: p.mode === 'resid' ? 'residual stream' : 'component',
    zmin,
    zmax,
    // Rank: low is good, so the scale runs from the strong colour (rank 1) to the background.
    colorscale: diverging ? scales.diverging : colouring === 'targetRank' ? scales.sequential.map(([x], i, all) => [x, all[all.length - 1 - i][1]]) : scales.sequential,
    colorbarTitle: colouring === 'targetRank' ? 'rank' : p.mode === 'resid' ? 'prob' : 'logit',
    colorbarTicks: colouring === 'targetRank' ? { values: rankTicks.map(Math.log10), labels: rankTicks.map(String) } : undefined,
    yDown: false,
    outlines: sel,
    height,
    margin: LENS_MARGIN,
    xGap: cellPx < MIN_GAP_CELL_PX ? 0 : 1,
  };
}

/** The whole lens as the exports see it: the coloured value of every component and position. */
export function lensPlotData(p: LogitLensPayload, colouring: LensColouring): PlotData {
  const n = p.labels.length * p.tokens.length;
  const target = p.target;
  const values = new Float32Array(n); // [component, pos]
  for (let i = 0; i < n; i++) {
    values[i] = colouring === 'top' || !target ? p.topValues[i * p.k] : colouring === 'targetRank' ? target.ranks[i] + 1 : target.values[i];
  }
  return {
    dims: ['component', 'position'],
    shape: [p.labels.length, p.tokens.length],
    values,
    labels: { component: p.labels, position: p.tokens.map((t, i) => `${i} ${visibleToken(t.text)}`) },
    valueLabel: colouringLabel(colouring, p) + (colouring === 'targetRank' ? ' (1 = top)' : ''),
    scale: colouring === 'target' && p.mode === 'decomposed' ? 'diverging' : 'sequential',
  };
}
