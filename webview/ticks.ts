/** Tick thinning: at most one label per `minGap` pixels; the labels left out are read on hover. */

/** Indices [from, to) to label when each item is `px` pixels wide: every step-th, the step a round number. */
export function thinTicks(from: number, to: number, px: number, minGap = 14): number[] {
  const need = Math.max(1, Math.ceil(minGap / Math.max(px, 1e-6)));
  const step = [1, 2, 5].map((m) => m * 10 ** Math.floor(Math.log10(need))).concat(10 ** Math.ceil(Math.log10(need))).find((s) => s >= need)!;
  const out: number[] = [];
  for (let i = Math.ceil(from / step) * step; i < to; i += step) out.push(i);
  return out;
}

/** A label cut to `max` characters with an ellipsis. */
export function clip(label: string, max: number): string {
  return label.length > max ? label.slice(0, max - 1) + '…' : label;
}
