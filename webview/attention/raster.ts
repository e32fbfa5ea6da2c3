/**
 * The attention canvases' pixels, computed without the DOM: a square window of one head pooled to the
 * canvas's resolution (max for patterns so thin stripes survive, the value of largest magnitude for
 * signed scores), and values painted through a colour lookup table into RGBA.
 */
import { THUMB_MASKED } from '../../src/protocol/panels';
import type { Rgb } from '../colour';

/** A square window of a head in local token indices: queries [q0, q0 + span), keys [k0, k0 + span). */
export interface HeadWindow {
  q0: number;
  k0: number;
  span: number;
}

/** The window clamped to [0, n) with at least `minSpan` tokens (whole tokens). */
export function clampWindow(w: HeadWindow, n: number, minSpan = Math.min(n, 4)): HeadWindow {
  const span = Math.round(Math.min(n, Math.max(minSpan, w.span)));
  const clampStart = (s: number) => Math.round(Math.min(n - span, Math.max(0, s)));
  return { q0: clampStart(w.q0), k0: clampStart(w.k0), span };
}

/**
 * [cells, cells] pooled values of `values` ([n, n] = [query, key], NaN masked) over window `w`, with
 * cells = min(w.span, maxCells): each cell covers a block of the window; NaN where the block is all masked.
 */
export function poolWindow(values: Float32Array, n: number, w: HeadWindow, maxCells: number, signed: boolean): { cells: number; data: Float32Array } {
  const cells = Math.max(1, Math.min(w.span, Math.floor(maxCells)));
  const data = new Float32Array(cells * cells).fill(NaN); // [cell_q, cell_k]
  const cellOf = new Int32Array(w.span);
  for (let i = 0; i < w.span; i++) cellOf[i] = Math.floor((i * cells) / w.span);
  for (let i = 0; i < w.span; i++) {
    const q = w.q0 + i;
    if (q >= n) break;
    const row = cellOf[i] * cells;
    const base = q * n + w.k0;
    const last = Math.min(w.span, n - w.k0, q - w.k0 + 1); // keys after the query are masked: not read
    for (let j = 0; j < last; j++) {
      const v = values[base + j];
      if (Number.isNaN(v)) continue;
      const c = row + cellOf[j];
      const cur = data[c];
      if (Number.isNaN(cur) || (signed ? Math.abs(v) > Math.abs(cur) : v > cur)) data[c] = v;
    }
  }
  return { cells, data };
}

/** The largest value (or magnitude, when signed) of the finite values. */
export function extent(values: Float32Array, signed: boolean): number {
  let m = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    const a = signed ? Math.abs(v) : v;
    if (a > m) m = a;
  }
  return m;
}

/** Paints values into `rgba` (4 bytes a value): v / max (signed: (v / max + 1) / 2) through `lut`, NaN as `masked`. */
export function paint(values: Float32Array, max: number, signed: boolean, lut: Uint8ClampedArray, masked: Rgb, rgba: Uint8ClampedArray): void {
  const inv = max > 0 ? 1 / max : 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const o = i * 4;
    if (Number.isNaN(v)) {
      rgba[o] = masked[0];
      rgba[o + 1] = masked[1];
      rgba[o + 2] = masked[2];
      rgba[o + 3] = 255;
      continue;
    }
    const t = signed ? (v * inv + 1) / 2 : v * inv;
    const li = Math.max(0, Math.min(255, Math.round(t * 255))) * 4;
    rgba[o] = lut[li];
    rgba[o + 1] = lut[li + 1];
    rgba[o + 2] = lut[li + 2];
    rgba[o + 3] = 255;
  }
}

/** Paints thumbnail bytes (0..254 of the head's max, THUMB_MASKED masked) into `rgba`. */
export function paintThumbnail(bytes: Uint8Array, lut: Uint8ClampedArray, masked: Rgb, rgba: Uint8ClampedArray): void {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    const o = i * 4;
    if (b === THUMB_MASKED) {
      rgba.set(masked, o);
    } else {
      const li = Math.round((b / (THUMB_MASKED - 1)) * 255) * 4;
      rgba[o] = lut[li];
      rgba[o + 1] = lut[li + 1];
      rgba[o + 2] = lut[li + 2];
    }
    rgba[o + 3] = 255;
  }
}

/** A thumbnail as head values in [0, headMax] ([size, size], NaN masked): the large view's preview until its data comes. */
export function thumbnailValues(bytes: Uint8Array, headMax: number): Float32Array {
  return Float32Array.from(bytes, (b) => (b === THUMB_MASKED ? NaN : (b / (THUMB_MASKED - 1)) * headMax));
}
