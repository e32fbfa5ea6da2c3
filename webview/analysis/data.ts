/**
 * A circuit analysis's plain-data output as heatmaps: two axes as a rows x columns heatmap, one axis as a
 * single column with the values written in the cells; signed data on a diverging scale (negative red,
 * positive blue), unsigned from the background. Parts (per-head attribution, one detector each) follow.
 */
import type { AnalysisOutput } from '../../src/protocol/analysis';
import type { Heatmap } from '../heatmap';
import { plotText } from '../text';

export interface Colours {
  background: string;
  positive: string;
  negative: string;
}

export interface AnalysisPlot {
  title: string;
  note: string;
  heatmap: Heatmap;
  /** Cells are (layer, head): a click can open that head in the attention panel. */
  headGrid: boolean;
}

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3));

function notesText(o: AnalysisOutput): string {
  return Object.entries(o.notes ?? {}).map(([k, v]) => `${k}: ${typeof v === 'number' ? fmt(v) : v}`).join(' · ');
}

export function analysisPlot(o: AnalysisOutput, c: Colours): AnalysisPlot | undefined {
  if (o.axes.length === 0 || o.axes.length > 2) return undefined;
  const finite = o.values.filter((v) => Number.isFinite(v));
  const max = Math.max(1e-9, ...finite.map((v) => Math.abs(v)));
  const signed = finite.some((v) => v < 0);
  const colorscale: [number, string][] = signed ? [[0, c.negative], [0.5, c.background], [1, c.positive]] : [[0, c.background], [1, c.positive]];
  const [rows, cols] = o.axes;
  const colLabels = cols ? cols.labels : [o.valueLabel];
  const z = rows.labels.map((_, r) => colLabels.map((__, k) => o.values[r * colLabels.length + k]));
  const hover = z.map((row, r) => row.map((v, k) => `${plotText(rows.name)} ${plotText(rows.labels[r])}${cols ? `<br>${plotText(cols.name)} ${plotText(colLabels[k])}` : ''}<br>${plotText(o.valueLabel)}: ${fmt(v)}`));
  return {
    title: o.name,
    note: [o.valueLabel, notesText(o)].filter(Boolean).join(' — '),
    headGrid: rows.name === 'layer' && cols?.name === 'head',
    heatmap: {
      z,
      text: cols ? undefined : z.map((row) => row.map(fmt)),
      hover,
      xLabels: colLabels.map(plotText),
      yLabels: rows.labels.map(plotText),
      zmin: signed ? -max : 0,
      zmax: max,
      colorscale,
      colorbarTitle: '',
      yDown: true,
      height: Math.min(900, 120 + 24 * rows.labels.length),
    },
  };
}

/** The output and its parts, in order, as plots (text-only outputs give none). */
export function analysisPlots(o: AnalysisOutput, c: Colours): AnalysisPlot[] {
  return [o, ...(o.parts ?? [])].map((x) => analysisPlot(x, c)).filter((p): p is AnalysisPlot => !!p);
}
