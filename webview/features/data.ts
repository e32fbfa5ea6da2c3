/**
 * What the Features view draws, as plain data (tested in plain Node): the token x feature heatmap (each
 * column scaled to its feature's largest activation over the prompt, so weak features stay visible; the
 * hover gives the raw value), the histogram of a feature's log10 activations, example snippets cut around
 * their largest token, and the sample grouped in quantile bands of the feature's largest activation.
 */
import type { FeatureExample, FeatureIndexEntry, FeaturesSlice } from '../../src/protocol/features';
import type { BarChart } from '../bars';
import type { Heatmap } from '../heatmap';
import { plotText, visibleToken } from '../text';

/** Rows of the heatmap per tick label at most: one tick per ~14 px. */
const ROW_PX = 14;

export function featureLabel(s: Pick<FeaturesSlice, 'labels'>, f: number): string {
  const l = s.labels[f];
  return l ? `#${f} ${l.text}` : `#${f}`;
}

export function tableHeatmap(s: FeaturesSlice, colorscale: [number, string][]): Heatmap {
  const pos = s.tokens.length;
  const cols = s.columns.length;
  const colMax = s.columns.map((_, j) => {
    let m = 0;
    for (let p = 0; p < pos; p++) m = Math.max(m, s.acts[p * cols + j]);
    return m || 1;
  });
  const z = Array.from({ length: pos }, (_, p) => s.columns.map((_, j) => s.acts[p * cols + j] / colMax[j]));
  const hover = Array.from({ length: pos }, (_, p) => s.columns.map((f, j) => plotText(`token ${p} ${visibleToken(s.tokens[p].text)} · ${featureLabel(s, f)} · ${s.acts[p * cols + j].toFixed(3)}`)));
  const height = Math.min(640, Math.max(160, pos * 10 + 90));
  const every = Math.max(1, Math.ceil(pos / Math.max(1, (height - 90) / ROW_PX)));
  return {
    z, hover, zmin: 0, zmax: 1, colorscale, yDown: true, height,
    xLabels: s.columns.map((f) => `#${f}`), yLabels: s.tokens.map((t, p) => plotText(`${p} ${visibleToken(t.text)}`)),
    yTicks: Array.from({ length: Math.ceil(pos / every) }, (_, i) => i * every),
    xTitle: 'feature (each column scaled to its largest activation)', yTitle: 'token',
    colorbarTitle: 'act / max', margin: { l: 120, r: 10, t: 10, b: 70 }, xTickAngle: -45, xGap: 1, yGap: pos > 100 ? 0 : 1,
  };
}

export function histogramBars(h: FeatureIndexEntry['histogram'], colour: string): BarChart {
  const bins = h.counts.length;
  const width = (h.log10To - h.log10From) / bins;
  const centres = Array.from({ length: bins }, (_, i) => h.log10From + (i + 0.5) * width);
  return {
    orientation: 'v', positions: centres, barWidth: width, log: false, height: 200, margin: { l: 50, r: 10, t: 10, b: 40 },
    valueTitle: 'tokens', positionTitle: 'log10 activation',
    series: [{ name: 'tokens', values: Array.from(h.counts), colours: centres.map(() => colour), hover: centres.map((c, i) => `10^${(c - width / 2).toFixed(1)} to 10^${(c + width / 2).toFixed(1)}: ${h.counts[i]} tokens`) }],
  };
}

/** Token index range [from, to) of a snippet: `before` tokens before the largest, `after` after it; never the window's BOS (position 0). */
export function snippetRange(e: FeatureExample, before = 16, after = 6): [number, number] {
  return [Math.max(1, e.pos - before), Math.min(e.tokens.length, e.pos + after + 1)];
}

/** The sample in bands of the feature's largest activation (80-100%, 60-80%, ...), empty bands left out. */
export function quantileBands(samples: readonly FeatureExample[], maxAct: number, bands = 5): { title: string; examples: FeatureExample[] }[] {
  const out = Array.from({ length: bands }, (_, i) => ({ lo: (bands - 1 - i) / bands, hi: (bands - i) / bands, examples: [] as FeatureExample[] }));
  for (const e of samples) {
    const q = maxAct > 0 ? e.act / maxAct : 0;
    const i = Math.min(bands - 1, Math.max(0, bands - 1 - Math.floor(q * bands)));
    out[q >= 1 ? 0 : i].examples.push(e);
  }
  return out.filter((b) => b.examples.length).map((b) => ({ title: `${Math.round(b.lo * 100)}-${Math.round(b.hi * 100)}% of the largest activation`, examples: b.examples }));
}

/** A density as text: 1.2% or 3.4e-5. */
export function densityText(d: number): string {
  return d >= 1e-3 ? `${(d * 100).toFixed(d >= 0.1 ? 0 : 2)}%` : d > 0 ? d.toExponential(1) : '0';
}
