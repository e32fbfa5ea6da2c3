/**
 * Colour scales as lookup tables (256 RGBA entries) for canvas drawing: a sequential scale from the theme
 * background to a theme colour, and RdBu (red negative, blue positive, near-white at 0), the diverging
 * scale of the TransformerLens notebooks.
 */
export type Rgb = [number, number, number];

/** RdBu's stops (ColorBrewer, as plotly's `RdBu`), from -1 to +1. */
const RDBU: Rgb[] = [[103, 0, 31], [178, 24, 43], [214, 96, 77], [244, 165, 130], [253, 219, 199], [247, 247, 247], [209, 229, 240], [146, 197, 222], [67, 147, 195], [33, 102, 172], [5, 48, 97]];

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
