/**
 * Colour scales as lookup tables (256 RGBA entries) for canvas drawing: a sequential scale from the theme
 * background to a theme colour, and RdBu (red negative, blue positive, near-white at 0), the diverging
 * scale of the TransformerLens notebooks.
 */
import { DIVERGING_STOPS } from '../src/protocol/figures';

export type Rgb = [number, number, number];

const hexRgb = (h: string): Rgb => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)) as Rgb;
/** RdBu's stops from -1 to +1: the circuit panels' and the report's diverging scale. */
const RDBU: Rgb[] = DIVERGING_STOPS.map(hexRgb);

function lerp(a: Rgb, b: Rgb, t: number): Rgb {
  return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t)) as Rgb;
}

function lutFrom(at: (t: number) => Rgb): Uint8ClampedArray {
  const lut = new Uint8ClampedArray(256 * 4);
  for (let i = 0; i < 256; i++) {
    const [r, g, b] = at(i / 255);
    lut.set([r, g, b, 255], i * 4);
  }
  return lut;
}

/** t in [0, 1] -> from `low` to `high`. */
export function sequentialLut(low: Rgb, high: Rgb): Uint8ClampedArray {
  return lutFrom((t) => lerp(low, high, t));
}

/** t in [0, 1] = value in [-1, 1] mapped as (v + 1) / 2. */
export function divergingLut(): Uint8ClampedArray {
  return lutFrom((t) => {
    const x = t * (RDBU.length - 1);
    const i = Math.min(RDBU.length - 2, Math.floor(x));
    return lerp(RDBU[i], RDBU[i + 1], x - i);
  });
}

/** An RGB triple as a CSS colour. */
export function rgbCss([r, g, b]: Rgb, alpha = 1): string {
  return alpha >= 1 ? `rgb(${r}, ${g}, ${b})` : `rgba(${r}, ${g}, ${b}, ${alpha})`;
}
