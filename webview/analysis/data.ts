/**
 * A circuit analysis's output as what its panel draws, without the DOM: one section per output and
 * part (its name, a line in words, its plots, its token sequences). The figures come from the protocol's
 * shared reading (src/protocol/figures.ts: heatmap, bars, bars by series, extreme neurons + histogram,
 * facets) and become plotly-ready data here: square cells up to a size, axis titles, ticks thinned to
 * one per ~14 px, the analysis's one colour scale and range, a readable colour bar titled with the
 * value label, values in the hover and printed in cells that fit them; plus the PlotData each plot's
 * export toolbar saves. Text for plotly is escaped with plotText.
 */
import type { AnalysisOutput } from '../../src/protocol/analysis';
import {
  BarsFigure, Figure, HeatmapFigure, HistogramFigure, NEGATIVE, POSITIVE, SEQUENTIAL_STOPS, SERIES_COLOURS, TokenSpan,
  binColour, cellSize, cellText, clipLabel, colourAt, figuresOf, fitsCellText, formatValue, formatterFor, inkOn, longestLabel, notesLine,
  plotlyColourscale, sequenceSpans, tickIndices, withSpread, wrapWords,
} from '../../src/protocol/figures';
import type { BarChart } from '../bars';
import type { Heatmap } from '../heatmap';
import type { PlotData } from '../plot-data';
import { plotText } from '../text';

export type AnalysisPlot = {
  /** Names the export files. */
  name: string;
  /** Shown above the plot ("layer 3", "all 3072 neurons"), or ''. */
  title: string;
  data: PlotData;
  /** Cells are (layer, head): clicking one opens that head in the attention panel. */
  headGrid: boolean;
} & ({ kind: 'heatmap'; heatmap: Heatmap } | { kind: 'bars'; bars: BarChart });

export interface SequenceView {
  label: string;
  tokens: TokenSpan[];
  /** Tokens coloured by a signed value (input attribution), not by probability. */
  valued?: boolean;
}

export interface AnalysisSection {
  title: string;
  /** The output's line in words (its notes when it has none). */
  summary: string;
  plots: AnalysisPlot[];
  sequences: SequenceView[];
  /** Texts shown as they are, when the output has no token sequences. */
  texts: { label: string; text: string }[];
}

/** Approximate width of one label character at 11 px. */
const CHAR_PX = 7;
const COLORBAR_PX = 130;

function heatmapPlot(f: HeatmapFigure, width: number): Heatmap {
  const [nRows, nCols] = [f.rows.labels.length, f.cols.labels.length];
  const left = 30 + longestLabel(f.rows.labels) * CHAR_PX;
  const cell = cellSize(nRows, nCols, width - left - COLORBAR_PX);
  const xTicks = tickIndices(nCols, cell.width);
  const yTicks = tickIndices(nRows, cell.height);
  const step = xTicks.length > 1 ? xTicks[1] : 1;
  const xLabelPx = longestLabel(xTicks.map((i) => f.cols.labels[i])) * CHAR_PX;
  const rotate = xLabelPx > cell.width * step - 4;
  const titleLines = wrapWords(f.valueLabel, 18);
  const cellsHeight = nRows * cell.height;
  const barLength = Math.max(100, Math.min(cellsHeight, 240));
  const top = 10; // the colour bar's title sits beside the cells, within the bar's length
  const bottom = Math.max(36 + (rotate ? Math.ceil(xLabelPx * 0.87) : 14), barLength - cellsHeight + 16);
  const withText = fitsCellText(cell);
  const z = f.rows.labels.map((_, r) => f.cols.labels.map((__, c) => f.values[r * nCols + c])); // [row][col]
  const fmt = formatterFor(f.valueLabel);
  return {
    z,
    text: withText ? z.map((row) => row.map(cellText)) : undefined,
    textColours: withText ? z.map((row) => row.map((v) => inkOn(colourAt(f.colour, v) ?? '#808080'))) : undefined,
    hover: z.map((row, r) => row.map((v, c) => [
      `${plotText(f.rows.name)} ${plotText(f.rows.labels[r])}`,
      `${plotText(f.cols.name)} ${plotText(f.cols.labels[c])}`,
      `${plotText(f.valueLabel)}: ${plotText(withSpread(fmt, v, f.spread?.[r * nCols + c]))}`,
    ].join('<br>'))),
    xLabels: f.cols.labels.map((l) => plotText(clipLabel(l))),
    yLabels: f.rows.labels.map((l) => plotText(clipLabel(l))),
    xTicks,
    yTicks,
    xTickAngle: rotate ? -60 : 0,
    xTitle: plotText(f.cols.name),
    yTitle: plotText(f.rows.name),
    zmin: f.colour.range[0],
    zmax: f.colour.range[1],
    colorscale: plotlyColourscale(f.colour.scale),
    colorbarTitle: titleLines.map(plotText).join('<br>'),
    colorbarStyle: { thickness: 16, length: barLength, nticks: 5 },
    yDown: true,
    width: Math.round(left + nCols * cell.width + COLORBAR_PX),
    height: Math.round(top + cellsHeight + bottom),
    margin: { l: left, r: COLORBAR_PX, t: top, b: bottom },
  };
}

/** The value axis's range with room for the value printed at the end of each bar. */
function padded([lo, hi]: [number, number]): [number, number] {
  const pad = 0.22 * (hi - lo);
  return [lo < 0 ? lo - pad : lo, hi > 0 ? hi + pad : hi];
}

function barsPlot(f: BarsFigure): BarChart {
  const n = f.bars.labels.length;
  const series = f.series?.labels ?? [''];
  const k = series.length;
  const rowPx = k > 1 ? 12 * k + 8 : 20;
  const fmt = formatterFor(f.valueLabel);
  const colour = (v: number, s: number) => (k > 1 ? SERIES_COLOURS[s % SERIES_COLOURS.length] : f.colour.scale === 'diverging' ? (v < 0 ? NEGATIVE : POSITIVE) : SEQUENTIAL_STOPS[5]);
  const legend = k > 1 ? 28 : 0;
  return {
    orientation: 'h',
    positions: f.bars.labels.map((_, i) => i),
    labels: f.bars.labels.map((l) => plotText(clipLabel(l))),
    ticks: tickIndices(n, rowPx),
    series: series.map((name, s) => {
      const values = Array.from({ length: n }, (_, i) => f.values[i * k + s]); // [bar] of [bar, series]
      return {
        name: plotText(name),
        values,
        colours: values.map((v) => colour(v, s)),
        text: values.map((v) => plotText(fmt(v))),
        hover: values.map((v, i) => `${plotText(f.bars.labels[i])}${k > 1 ? ` · ${plotText(name)}` : ''}<br>${plotText(f.valueLabel)}: ${plotText(withSpread(fmt, v, f.spread?.[i * k + s]))}`),
      };
    }),
    valueTitle: plotText(f.valueLabel),
    positionTitle: plotText(f.bars.name),
    valueRange: f.log ? undefined : padded(f.colour.range),
    log: f.log,
    height: 60 + legend + n * rowPx,
    margin: { l: 40 + longestLabel(f.bars.labels) * CHAR_PX, r: 60, t: 10 + legend, b: 46 },
  };
}

function histogramPlot(f: HistogramFigure): BarChart {
  const { edges, counts } = f.histogram;
  const centres = counts.map((_, i) => (edges[i] + edges[i + 1]) / 2);
  return {
    orientation: 'v',
    positions: centres,
    barWidth: edges[1] - edges[0],
    series: [{
      name: plotText(f.of),
      values: counts,
      colours: counts.map((_, i) => binColour(f.colour, edges[i], edges[i + 1])),
      hover: counts.map((n, i) => `${plotText(f.valueLabel)} ${formatValue(edges[i])} to ${formatValue(edges[i + 1])}<br>${n} ${plotText(f.of)}`),
    }],
    valueTitle: plotText(f.of),
    positionTitle: plotText(f.valueLabel),
    log: false,
    height: 240,
    margin: { l: 60, r: 30, t: 10, b: 50 },
  };
}

/** What the export toolbar saves: the values the plot shows, with their dimensions and labels. */
function plotData(f: Figure): PlotData {
  const scale = f.colour.scale;
  switch (f.kind) {
    case 'heatmap':
      return {
        dims: [f.rows.name, f.cols.name], shape: [f.rows.labels.length, f.cols.labels.length], values: Float32Array.from(f.values),
        labels: { [f.rows.name]: f.rows.labels, [f.cols.name]: f.cols.labels }, valueLabel: f.valueLabel, scale,
      };
    case 'bars': {
      const dims = f.series ? [f.bars.name, f.series.name] : [f.bars.name];
      const shape = f.series ? [f.bars.labels.length, f.series.labels.length] : [f.bars.labels.length];
      const labels = { [f.bars.name]: f.bars.labels, ...(f.series ? { [f.series.name]: f.series.labels } : {}) };
      return { dims, shape, values: Float32Array.from(f.values), labels, valueLabel: f.valueLabel, scale };
    }
    case 'histogram': {
      const { edges, counts } = f.histogram;
      const bins = counts.map((_, i) => `${formatValue(edges[i])} to ${formatValue(edges[i + 1])}`);
      return { dims: ['bin'], shape: [counts.length], values: Float32Array.from(counts), labels: { bin: bins }, valueLabel: f.of, scale: 'sequential' };
    }
  }
}

function plotOf(o: AnalysisOutput, f: Figure, width: number): AnalysisPlot {
  const common = { name: f.title ? `${o.name} ${f.title}` : o.name, title: f.title, data: plotData(f) };
  if (f.kind === 'heatmap') return { ...common, kind: 'heatmap', heatmap: heatmapPlot(f, width), headGrid: f.headGrid };
  return { ...common, kind: 'bars', bars: f.kind === 'bars' ? barsPlot(f) : histogramPlot(f), headGrid: false };
}

/** The output and its parts, in order, as sections; `width` is the pixels a plot may take. */
export function analysisSections(o: AnalysisOutput, width: number): AnalysisSection[] {
  return [o, ...(o.parts ?? [])].map((x) => ({
    title: x.name,
    summary: x.summary ?? notesLine(x),
    plots: figuresOf(x).map((f) => plotOf(x, f, width)),
    sequences: (x.sequences ?? []).map((q) => ({ label: q.label, tokens: sequenceSpans(q), valued: q.tokens.some((t) => t.value !== undefined) })),
    texts: x.sequences?.length ? [] : x.texts ?? [],
  }));
}
