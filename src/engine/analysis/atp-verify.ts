/**
 * Checks attribution-patching estimates by exact activation patching (patching.ts, restricted to the
 * chosen cells): the N cells with the largest estimated effect, and N cells drawn (seeded) from the
 * others. The effect of a cell is |value - baseline|, baseline 0 when denoising and 1 when noising (the
 * value of an unpatched receiving run). Reports the Spearman rank correlation of estimate and exact value
 * over the top N, and as false negatives the checked cells (top or drawn) that exact patching finds
 * important, an exact effect of at least FN_FRACTION of the largest exact effect checked, while their
 * estimated effect is under that bar: what a screen by the estimate would have dropped. The share of
 * false negatives among the drawn cells estimates the rate among the cells not checked.
 */
import { seededRandom } from '../math';
import type { Tracer } from '../tracer';
import type { Token } from '../tokenizer';
import type { AtpVerification, VerifiedCell } from '../../protocol/analysis';
import type { AtpResult } from './attribution-patching';
import type { MetricSpec } from './metrics';
import { activationPatching } from './patching';

/** Ranks 1..n, ties sharing their mean rank. */
function ranks(xs: readonly number[]): number[] {
  const order = xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b]);
  const out = new Array<number>(xs.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && xs[order[j + 1]] === xs[order[i]]) j++;
    for (let k = i; k <= j; k++) out[order[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return out;
}

/** Spearman's rho: Pearson correlation of the ranks (NaN for fewer than two values or a constant list). */
export function spearman(a: readonly number[], b: readonly number[]): number {
  if (a.length < 2) return NaN;
  const [ra, rb] = [ranks(a), ranks(b)];
  const mean = (r: number[]) => r.reduce((x, y) => x + y, 0) / r.length;
  const [ma, mb] = [mean(ra), mean(rb)];
  let [sab, saa, sbb] = [0, 0, 0];
  ra.forEach((x, i) => {
    sab += (x - ma) * (rb[i] - mb);
    saa += (x - ma) ** 2;
    sbb += (rb[i] - mb) ** 2;
  });
  return saa === 0 || sbb === 0 ? NaN : sab / Math.sqrt(saa * sbb);
}

/** k distinct items of xs drawn with a seeded Fisher-Yates shuffle (all of them when k >= xs.length). */
function draw<T>(xs: readonly T[], k: number, seed: number): T[] {
  const rand = seededRandom(seed);
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, k);
}

/** A cell is important when its exact effect is at least this fraction of the largest one checked. */
export const FN_FRACTION = 0.1;

export interface VerifyOptions {
  /** How many of the largest estimates to patch exactly (and how many others to draw). */
  n: number;
  seed: number;
  metric: MetricSpec;
  positions?: number[];
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export async function verifyEstimates(tracer: Tracer, clean: Token[], corrupted: Token[], r: AtpResult, opts: VerifyOptions): Promise<AtpVerification> {
  const base = r.direction === 'denoise' ? 0 : 1;
  const nUnits = r.units.length;
  const effect = (v: number) => Math.abs(v - base);
  const order = Array.from(r.values.keys()).sort((a, b) => effect(r.values[b]) - effect(r.values[a]));
  const top = order.slice(0, opts.n);
  const rest = order.slice(opts.n);
  const sample = draw(rest, opts.n, opts.seed).sort((a, b) => a - b);
  const chosen = new Set([...top, ...sample]);
  const exact = await activationPatching(tracer, clean, corrupted, {
    target: r.target, metric: opts.metric, direction: r.direction, layers: r.layers, positions: opts.positions,
    cells: (li, ui) => chosen.has(li * nUnits + ui), signal: opts.signal, onProgress: opts.onProgress,
  });
  const checked = [...top, ...sample];
  const bar = FN_FRACTION * Math.max(0, ...checked.map((i) => effect(exact.values[i])));
  const cell = (i: number, kind: 'top' | 'sample'): VerifiedCell => {
    const [layer, unit] = [r.layers[Math.floor(i / nUnits)], r.units[i % nUnits]];
    return {
      label: `layer ${layer}, ${unit}`, layer, unit, estimate: r.values[i], exact: exact.values[i], chosen: kind,
      falseNegative: bar > 0 && effect(exact.values[i]) >= bar && effect(r.values[i]) < bar,
    };
  };
  const cells = [...top.map((i) => cell(i, 'top')), ...sample.map((i) => cell(i, 'sample'))];
  const topCells = cells.filter((c) => c.chosen === 'top');
  return {
    cells,
    spearman: spearman(topCells.map((c) => c.estimate), topCells.map((c) => c.exact)),
    bar, fraction: FN_FRACTION, sampled: sample.length, rest: rest.length,
    falseNegatives: cells.filter((c) => c.falseNegative).length,
    sampledFalseNegatives: cells.filter((c) => c.falseNegative && c.chosen === 'sample').length,
    seed: opts.seed,
  };
}
