/**
 * Attention payload and head windows -> what the attention view shows, without the DOM: head names,
 * token labels, the block of a window a (query, key) falls in and its hover text, the thumbnail as a
 * coarse window (the preview), whether a window covers what is shown, and a window as plot data for the
 * exports.
 */
import type { AttentionHook, AttentionPayload, HeadWindow, PanelToken } from '../../src/protocol/panels';
import { THUMB_MASKED } from '../../src/protocol/panels';
import type { PlotData } from '../plot-data';
import { percent, visibleToken } from '../text';

export interface HeadRef {
  layer: number;
  head: number;
}

export const headName = (h: HeadRef) => `L${h.layer}H${h.head}`;

export const HOOK_LABELS: Record<AttentionHook, string> = { pattern: 'pattern (after softmax)', attn_scores: 'scores (before softmax)' };

/** "12 ·of": position and visible token, unique per position. */
export function tokenLabel(tokens: readonly PanelToken[], pos: number): string {
  return `${pos} ${visibleToken(tokens[pos]?.text ?? '')}`;
}

/** The thumbnail of a head: [size, size] bytes of the payload. */
export function thumbnailOf(p: AttentionPayload, h: HeadRef): Uint8Array {
  const s = p.thumbnails.size;
  const at = (p.layers.indexOf(h.layer) * p.nHeads + h.head) * s * s;
  return p.thumbnails.data.subarray(at, at + s * s);
}

export function headMaxOf(p: AttentionPayload, h: HeadRef): number {
  return p.headMax[p.layers.indexOf(h.layer) * p.nHeads + h.head];
}

/** A head's thumbnail as a coarse window over the whole prompt (in the head's units), shown until its data comes. */
export function thumbnailWindow(p: AttentionPayload, h: HeadRef): HeadWindow {
  const max = headMaxOf(p, h);
  const pos = p.tokens.length;
  const size = p.thumbnails.size;
  const values = Float32Array.from(thumbnailOf(p, h), (b) => (b === THUMB_MASKED ? NaN : (b / (THUMB_MASKED - 1)) * max));
  return { ...h, hook: 'pattern', q: [0, pos], k: [0, pos], rows: size, cols: size, values, max };
}

export function formatValue(hook: AttentionHook, v: number): string {
  if (Number.isNaN(v)) return 'masked';
  return hook === 'pattern' ? percent(v) : v.toFixed(Math.abs(v) >= 100 ? 0 : 2);
}

export const isExact = (w: HeadWindow) => w.rows === w.q[1] - w.q[0] && w.cols === w.k[1] - w.k[0];

/** The positions [from, to) of cell `i` of `n` cells over [a, b) (cell of position p: floor((p - a) * n / (b - a))). */
function cellSpan([a, b]: [number, number], n: number, i: number): [number, number] {
  return [a + Math.ceil((i * (b - a)) / n), a + Math.ceil(((i + 1) * (b - a)) / n)];
}

/** The cell of `w` holding (query q, key k), with the positions it covers; undefined outside the window. */
export function blockOf(w: HeadWindow, q: number, k: number): { value: number; q: [number, number]; k: [number, number] } | undefined {
  if (q < w.q[0] || q >= w.q[1] || k < w.k[0] || k >= w.k[1]) return undefined;
  const r = Math.floor(((q - w.q[0]) * w.rows) / (w.q[1] - w.q[0]));
  const c = Math.floor(((k - w.k[0]) * w.cols) / (w.k[1] - w.k[0]));
  return { value: w.values[r * w.cols + c], q: cellSpan(w.q, w.rows, r), k: cellSpan(w.k, w.cols, c) };
}

/** The hover line of (query q, key k), prompt positions: the exact value, or its block's when the window is pooled. */
export function cellText(tokens: readonly PanelToken[], w: HeadWindow, q: number, k: number): string {
  const name = `${headName(w)} ${w.hook === 'pattern' ? 'weight' : 'score'}`;
  if (k > q) return `${name}: query ${tokenLabel(tokens, q)} cannot see key ${tokenLabel(tokens, k)} (masked)`;
  const b = blockOf(w, q, k);
  if (!b) return `${name}: loading…`;
  const one = b.q[1] - b.q[0] === 1 && b.k[1] - b.k[0] === 1;
  if (one) return `${name}: query ${tokenLabel(tokens, q)} → key ${tokenLabel(tokens, k)}: ${formatValue(w.hook, b.value)}`;
  const span = ([a, z]: [number, number]) => (z - a === 1 ? tokenLabel(tokens, a) : `${a}–${z - 1}`);
  return `${name}: queries ${span(b.q)} → keys ${span(b.k)}: ${w.hook === 'pattern' ? 'max' : 'largest'} ${formatValue(w.hook, b.value)} (zoom in for single tokens)`;
}

/** Whether `w` shows queries q x keys k at `cells` cells a side or finer. */
export function covers(w: HeadWindow | undefined, q: [number, number], k: [number, number], cells: number): boolean {
  if (!w || w.q[0] > q[0] || w.q[1] < q[1] || w.k[0] > k[0] || w.k[1] < k[1]) return false;
  const perToken = Math.min(w.rows / (w.q[1] - w.q[0]), w.cols / (w.k[1] - w.k[0]));
  return isExact(w) || perToken * (q[1] - q[0]) >= Math.min(cells, q[1] - q[0]);
}

/** An exact window as exportable data: [query, key] with token labels; masked cells NaN. */
export function headPlotData(tokens: readonly PanelToken[], w: HeadWindow): PlotData {
  const labels = (r: [number, number]) => Array.from({ length: r[1] - r[0] }, (_, i) => tokenLabel(tokens, r[0] + i));
  return {
    dims: ['query', 'key'], shape: [w.rows, w.cols], values: w.values, labels: { query: labels(w.q), key: labels(w.k) },
    valueLabel: `${headName(w)} attention ${w.hook === 'pattern' ? 'weight' : 'score'}`, scale: w.hook === 'pattern' ? 'sequential' : 'diverging',
  };
}
