/**
 * The attention canvases' pixels, computed without the DOM: values painted through a colour lookup
 * table into RGBA, thumbnails painted from their bytes, and the large head's view window kept inside
 * the token range.
 */
import { THUMB_MASKED } from '../../src/protocol/panels';
import type { Rgb } from '../colour';

/** A square view of a head in prompt positions: queries [q0, q0 + span), keys [k0, k0 + span). */
export interface ViewWindow {
  q0: number;
  k0: number;
  span: number;
}

/** The window moved and sized to lie in [from, to), at least `minSpan` tokens, on whole tokens. */
export function clampWindow(w: ViewWindow, from: number, to: number, minSpan = Math.min(to - from, 4)): ViewWindow {
  const span = Math.round(Math.min(to - from, Math.max(minSpan, w.span)));
  const start = (s: number) => Math.round(Math.min(to - span, Math.max(from, s)));
  return { q0: start(w.q0), k0: start(w.k0), span };
}

/** The window grown by `margin` of its span on each side, within [from, to): what is fetched, so small pans need nothing new. */
export function paddedWindow(w: ViewWindow, from: number, to: number, margin: number): { q: [number, number]; k: [number, number] } {
  const pad = Math.round(w.span * margin);
  const grow = (s: number): [number, number] => [Math.max(from, s - pad), Math.min(to, s + w.span + pad)];
  return { q: grow(w.q0), k: grow(w.k0) };
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
    } else {
      const t = signed ? (v * inv + 1) / 2 : v * inv;
      const li = Math.max(0, Math.min(255, Math.round(t * 255))) * 4;
      rgba[o] = lut[li];
      rgba[o + 1] = lut[li + 1];
      rgba[o + 2] = lut[li + 2];
    }
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
