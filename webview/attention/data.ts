/**
 * Attention payload -> what the attention view draws. Patterns are [layer, head, query_pos, key_pos]
 * (layer indexes the payload's `layers`), causal: key_pos > query_pos is masked.
 */
import type { AttentionPayload } from '../../src/protocol/panels';
import type { Heatmap } from '../heatmap';
import { percent, tokenAxisLabels, visibleToken } from '../text';

export interface HeadRef {
  /** Index into payload.layers. */
  layerIdx: number;
  head: number;
}

function offset(p: AttentionPayload, h: HeadRef): number {
  const [, nHeads, pos] = p.patterns.dims;
  return (h.layerIdx * nHeads + h.head) * pos * pos;
}

export function headName(p: AttentionPayload, h: HeadRef): string {
  return `L${p.layers[h.layerIdx]}H${h.head}`;
}

/** [query][key] weights of one head, null above the diagonal (masked by the causal mask). */
export function headMatrix(p: AttentionPayload, h: HeadRef): (number | null)[][] {
  const pos = p.patterns.dims[2];
  const base = offset(p, h);
  return Array.from({ length: pos }, (_, q) => Array.from({ length: pos }, (_, k) => (k <= q ? p.patterns.data[base + q * pos + k] : null)));
}

/** How much query `q` attends to each key (0 for masked keys). */
export function attendsTo(p: AttentionPayload, h: HeadRef, q: number): number[] {
  const pos = p.patterns.dims[2];
  const base = offset(p, h) + q * pos;
  return Array.from({ length: pos }, (_, k) => (k <= q ? p.patterns.data[base + k] : 0));
}

/** How much each query attends to key `k` (0 for queries before k, which cannot see it). */
export function attendedBy(p: AttentionPayload, h: HeadRef, k: number): number[] {
  const pos = p.patterns.dims[2];
  const base = offset(p, h);
  return Array.from({ length: pos }, (_, q) => (q >= k ? p.patterns.data[base + q * pos + k] : 0));
}

/** The large heatmap of one head, with the locked or hovered query row outlined. */
export function headHeatmap(p: AttentionPayload, h: HeadRef, colorscale: [number, string][], selected?: number): Heatmap {
  const pos = p.patterns.dims[2];
  const z = headMatrix(p, h);
  const labels = tokenAxisLabels(p.tokens);
  const hover = z.map((row, q) => row.map((w, k) => (w === null
    ? `${headName(p, h)}: ${labels[q]} cannot see ${labels[k]} (masked)`
    : `${headName(p, h)}<br>query ${labels[q]}<br>key ${labels[k]}<br>weight ${percent(w)}`)));
  const outlines = selected === undefined ? [] : Array.from({ length: selected + 1 }, (_, k) => ({ row: selected, col: k }));
  return { z, hover, xLabels: labels, yLabels: labels, zmin: 0, zmax: 1, colorscale, colorbarTitle: 'weight', yDown: true, outlines, height: Math.min(720, 140 + 22 * pos) };
}

/** Token strip entries: visible text and a 0..1 intensity for the current highlight. */
export function stripTokens(p: AttentionPayload, weights?: readonly number[]): { text: string; title: string; weight: number }[] {
  return p.tokens.map((t, i) => ({ text: visibleToken(t.text), title: `${i}: ${JSON.stringify(t.text)}${weights ? ` · ${percent(weights[i])}` : ''}`, weight: weights?.[i] ?? 0 }));
}

