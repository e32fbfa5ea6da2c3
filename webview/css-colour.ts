/** Any CSS colour (theme variables come as hex, rgb() or names) as RGB, resolved by a 1 x 1 canvas. */
import type { Rgb } from './colour';

export function parseColour(css: string): Rgb {
  const ctx = document.createElement('canvas').getContext('2d');
  if (!ctx) return [128, 128, 128];
  ctx.fillStyle = css;
  ctx.fillRect(0, 0, 1, 1);
  const [r, g, b] = ctx.getImageData(0, 0, 1, 1).data;
  return [r, g, b];
}
