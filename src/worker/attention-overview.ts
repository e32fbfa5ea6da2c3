/**
 * What the attention panel reads of a kept run, computed next to it: any window of one head max-pooled
 * to the cells the panel draws (a one-token induction stripe survives pooling, as it would not averaging),
 * and every head as a small thumbnail scaled to its own maximum, as CircuitsVis normalises each head.
 */
import { THUMB_MASKED } from '../protocol/panels';

/** The thumbnail edge for `pos` tokens: one cell per token up to 40 (144 heads: 230 KB). */
export function thumbnailSize(pos: number): number {
  return Math.min(pos, 40);
}

/**
 * [rows, cols] cells over queries [q0, q1) x keys [k0, k1) of `pattern` ([pos, pos] = [query, key]):
 * the max of each block (signed: the value of largest magnitude); NaN where the block is all masked
 * (keys after their query, which are never read).
 */
export function poolBlock(pattern: Float32Array, pos: number, q: [number, number], k: [number, number], rows: number, cols: number, signed: boolean): Float32Array {
  const out = new Float32Array(rows * cols).fill(NaN); // [rows, cols]
  const nq = q[1] - q[0];
  const nk = k[1] - k[0];
  const colOf = new Int32Array(nk);
  for (let j = 0; j < nk; j++) colOf[j] = Math.floor((j * cols) / nk);
  for (let i = 0; i < nq; i++) {
    const query = q[0] + i;
    const row = Math.floor((i * rows) / nq) * cols;
    const base = query * pos + k[0];
    const last = Math.min(nk, query - k[0] + 1); // keys up to the query
    for (let j = 0; j < last; j++) {
      const v = pattern[base + j];
      const c = row + colOf[j];
      const cur = out[c];
      if (Number.isNaN(cur) || (signed ? Math.abs(v) > Math.abs(cur) : v > cur)) out[c] = v;
    }
  }
  return out;
}

/** The largest value (signed: magnitude) of the visible cells of a head. */
export function headExtent(pattern: Float32Array, pos: number, signed: boolean): number {
  let max = 0;
  for (let q = 0; q < pos; q++) {
    for (let k = 0; k <= q; k++) {
      const v = signed ? Math.abs(pattern[q * pos + k]) : pattern[q * pos + k];
      if (v > max) max = v;
    }
  }
  return max;
}

/** Thumbnails of every head of the given layers: [layers, head, size, size] bytes and [layers, head] maxima. */
export function attentionThumbnails(patternOf: (layer: number) => Float32Array, layers: readonly number[], nHeads: number, pos: number): { size: number; data: Uint8Array; headMax: Float32Array } {
  const size = thumbnailSize(pos);
  const data = new Uint8Array(layers.length * nHeads * size * size);
  const headMax = new Float32Array(layers.length * nHeads);
  layers.forEach((l, i) => {
    const all = patternOf(l); // [batch, head, q, k]: batch item 0 first
    for (let h = 0; h < nHeads; h++) {
      const at = i * nHeads + h;
      const cells = poolBlock(all.subarray(h * pos * pos, (h + 1) * pos * pos), pos, [0, pos], [0, pos], size, size, false);
      let max = 0;
      for (const v of cells) if (v > max) max = v; // the head's max is the max of its blocks' maxima
      headMax[at] = max;
      const scale = max > 0 ? (THUMB_MASKED - 1) / max : 0;
      const out = data.subarray(at * size * size, (at + 1) * size * size);
      for (let c = 0; c < cells.length; c++) out[c] = Number.isNaN(cells[c]) ? THUMB_MASKED : Math.round(Math.max(0, cells[c]) * scale);
    }
  });
  return { size, data, headMax };
}
