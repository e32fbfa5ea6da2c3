/**
 * Attention payload and head values -> what the attention view shows, without the DOM: head names,
 * token labels, the hover text of a cell, a query's row and a key's column (the text view), and the
 * shown head as plot data for the exports.
 */
import type { AttentionHook, AttentionPayload, HeadValues, PanelToken } from '../../src/protocol/panels';
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

export function formatValue(hook: AttentionHook, v: number): string {
  if (Number.isNaN(v)) return 'masked';
  return hook === 'pattern' ? percent(v) : v.toFixed(Math.abs(v) >= 100 ? 0 : 2);
}

/** The hover line of cell (q, k) in local indices of `hv`. */
export function cellText(tokens: readonly PanelToken[], hv: HeadValues, q: number, k: number): string {
  const n = hv.to - hv.from;
  const name = `${headName(hv)} ${hv.hook === 'pattern' ? 'weight' : 'score'}`;
  const query = tokenLabel(tokens, hv.from + q);
  const key = tokenLabel(tokens, hv.from + k);
  if (k > q) return `${name}: query ${query} cannot see key ${key} (masked)`;
  return `${name}: query ${query} → key ${key}: ${formatValue(hv.hook, hv.values[q * n + k])}`;
}

/** What query q (local) attends to: its row over keys, NaN after q. */
export function rowOf(hv: HeadValues, q: number): Float32Array {
  const n = hv.to - hv.from;
  return hv.values.subarray(q * n, (q + 1) * n);
}

/** What attends to key k (local): its column over queries, NaN before k. */
export function columnOf(hv: HeadValues, k: number): Float32Array {
  const n = hv.to - hv.from;
  return Float32Array.from({ length: n }, (_, q) => hv.values[q * n + k]);
}

/** The shown head as exportable data: [query, key] with token labels; masked cells NaN. */
export function headPlotData(tokens: readonly PanelToken[], hv: HeadValues): PlotData {
  const n = hv.to - hv.from;
  const labels = Array.from({ length: n }, (_, i) => tokenLabel(tokens, hv.from + i));
  return {
    dims: ['query', 'key'], shape: [n, n], values: hv.values, labels: { query: labels, key: labels },
    valueLabel: `${headName(hv)} attention ${hv.hook === 'pattern' ? 'weight' : 'score'}`, scale: hv.hook === 'pattern' ? 'sequential' : 'diverging',
  };
}
