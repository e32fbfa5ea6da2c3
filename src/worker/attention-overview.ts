/**
 * The attention panel's overview, computed next to the kept run: each head's [query, key] pattern
 * max-pooled into a size x size thumbnail (a one-token induction stripe stays visible in a 64 px tile of
 * a 1,000-token prompt) and scaled to the head's own maximum, as CircuitsVis normalises each head.
 */
import { THUMB_MASKED } from '../protocol/panels';

/** The thumbnail edge for `pos` tokens: one cell per token up to 64. */
export function thumbnailSize(pos: number): number {
  return Math.min(pos, 64);
}

/**
 * Writes the thumbnail of one head into `out` ([size, size] bytes) and returns the head's max.
 * `pattern` is [pos, pos] = [query, key]; keys after their query are masked and not read.
 */
export function poolHead(pattern: Float32Array, pos: number, size: number, out: Uint8Array, scratch: Float32Array): number {
  scratch.fill(-1); // [size, size]; -1: no visible cell in the block
  const cellOf = Array.from({ length: pos }, (_, i) => Math.floor((i * size) / pos));
  let max = 0;
  for (let q = 0; q < pos; q++) {
    const row = cellOf[q] * size;
    const base = q * pos;
    for (let k = 0; k <= q; k++) {
      const v = pattern[base + k];
      const c = row + cellOf[k];
      if (v > scratch[c]) scratch[c] = v;
      if (v > max) max = v;
    }
  }
  const scale = max > 0 ? (THUMB_MASKED - 1) / max : 0;
  for (let c = 0; c < size * size; c++) out[c] = scratch[c] < 0 ? THUMB_MASKED : Math.round(Math.max(0, scratch[c]) * scale);
  return max;
}

/** Thumbnails of every head of the given layers: [layers, head, size, size] bytes and [layers, head] maxima. */
export function attentionThumbnails(patternOf: (layer: number) => Float32Array, layers: readonly number[], nHeads: number, pos: number): { size: number; data: Uint8Array; headMax: Float32Array } {
  const size = thumbnailSize(pos);
  const data = new Uint8Array(layers.length * nHeads * size * size);
  const headMax = new Float32Array(layers.length * nHeads);
  const scratch = new Float32Array(size * size);
  layers.forEach((l, i) => {
    const all = patternOf(l); // [batch, head, q, k]: batch item 0 first
    for (let h = 0; h < nHeads; h++) {
      const at = i * nHeads + h;
      headMax[at] = poolHead(all.subarray(h * pos * pos, (h + 1) * pos * pos), pos, size, data.subarray(at * size * size, (at + 1) * size * size), scratch);
    }
  });
  return { size, data, headMax };
}
