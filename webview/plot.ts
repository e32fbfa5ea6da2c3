/**
 * The only file that imports plotly (its strict bundle, which never evaluates strings): heatmaps with
 * theme colours, cell text, axis titles, thinned ticks, custom hover text and click/hover callbacks;
 * bar charts (horizontal with labels, by series, histograms); plots as PNG or SVG images.
 */
import Plotly, { PlotElement } from 'plotly.js-strict-dist-min';
import type { BarChart } from './bars';
import type { Heatmap } from './heatmap';
import type { Theme } from './theme';

export interface PlotEvents {
  onClick?: (row: number, col: number) => void;
  onHover?: (row: number, col: number) => void;
  onUnhover?: () => void;
}

const bound = new WeakSet<HTMLElement>();

function axisTitle(text: string | undefined, theme: Theme): object {
  return text ? { title: { text, font: { color: theme.foreground, family: theme.fontFamily, size: 12 }, standoff: 6 } } : {};
}

/** Cells narrower (or lower) than this many pixels are drawn without the 1-pixel gap between them, which would hide them. */
const MIN_GAP_CELL_PX = 4;

export async function drawHeatmap(el: HTMLElement, h: Heatmap, theme: Theme, events: PlotEvents = {}): Promise<void> {
  const cols = h.z[0]?.length ?? 0;
  const gap = (extentPx: number, cells: number) => (cells > 0 && extentPx / cells < MIN_GAP_CELL_PX ? 0 : 1);
  const trace = {
    type: 'heatmap',
    z: h.z,
    text: h.hover,
    hoverinfo: 'text',
    hoverongaps: false,
    zmin: h.zmin,
    zmax: h.zmax,
    colorscale: h.colorscale,
    xgap: h.xGap ?? gap((h.width ?? el.clientWidth) - (h.margin?.l ?? 120) - (h.margin?.r ?? 10), cols),
    ygap: h.yGap ?? gap(h.height - (h.margin?.t ?? 10) - (h.margin?.b ?? 100), h.z.length),
    colorbar: {
      title: { text: h.colorbarTitle ?? '', font: { color: theme.foreground }, ...(h.colorbarStyle ? { side: 'top' } : {}) },
      tickfont: { color: theme.foreground },
      thickness: 10,
      ...(h.colorbarTicks ? { tickvals: h.colorbarTicks.values, ticktext: h.colorbarTicks.labels } : {}),
      // A title on top takes its lines out of the bar's length: added back, so the bar itself is `length` long.
      ...(h.colorbarStyle ? { thickness: h.colorbarStyle.thickness, len: h.colorbarStyle.length + 16 * (1 + (h.colorbarTitle?.split('<br>').length ?? 0)), lenmode: 'pixels', nticks: h.colorbarStyle.nticks, y: 1, yanchor: 'top', outlinewidth: 0 } : {}),
    },
  };
  const cellText = h.text ? [{
    type: 'scatter',
    mode: 'text',
    x: h.text.flatMap((row) => row.map((_, c) => c)),
    y: h.text.flatMap((row, r) => row.map(() => r)),
    text: h.text.flat(),
    textfont: { color: h.textColours ? h.textColours.flat() : theme.cellText, size: 11, family: theme.fontFamily },
    hoverinfo: 'skip',
  }] : [];
  const axis = { color: theme.foreground, gridcolor: 'rgba(0,0,0,0)', zeroline: false, tickfont: { family: theme.fontFamily, size: 11 } };
  const ticks = (labels: string[], shown?: number[]) => {
    const at = shown ?? labels.map((_, i) => i);
    return { tickmode: 'array', tickvals: at, ticktext: at.map((i) => labels[i]) };
  };
  const layout = {
    paper_bgcolor: theme.background,
    plot_bgcolor: theme.masked,
    font: { color: theme.foreground, family: theme.fontFamily },
    margin: h.margin ?? { l: 120, r: 10, t: 10, b: 100 },
    height: h.height,
    ...(h.width ? { width: h.width, autosize: false } : {}),
    xaxis: { ...axis, ...ticks(h.xLabels, h.xTicks), tickangle: h.xTickAngle ?? -60, fixedrange: true, ...axisTitle(h.xTitle, theme), ...(h.width ? { range: [-0.5, h.xLabels.length - 0.5] } : {}) },
    yaxis: {
      ...axis, ...ticks(h.yLabels, h.yTicks), fixedrange: true, ...axisTitle(h.yTitle, theme),
      // A fixed-size figure spans exactly its cells (the cell-text trace would pad an automatic range).
      ...(h.width ? { range: h.yDown ? [h.yLabels.length - 0.5, -0.5] : [-0.5, h.yLabels.length - 0.5] } : { autorange: h.yDown ? 'reversed' : true }),
    },
    shapes: (h.outlines ?? []).map(({ row, col }) => ({ type: 'rect', x0: col - 0.5, x1: col + 0.5, y0: row - 0.5, y1: row + 0.5, line: { color: theme.accent, width: 2 } })),
    hoverlabel: { bgcolor: theme.hoverBackground, font: { color: theme.foreground, family: theme.fontFamily } },
    showlegend: false,
  };
  const plot: PlotElement = await Plotly.react(el, [trace, ...cellText], layout, { displayModeBar: false, responsive: !h.width, staticPlot: false });
  if (bound.has(el)) return;
  bound.add(el);
  const cell = (e: { points: { x: number; y: number }[] }) => e.points[0] ? [Math.round(e.points[0].y), Math.round(e.points[0].x)] as const : undefined;
  plot.on('plotly_click', (e) => {
    const c = cell(e);
    if (c) events.onClick?.(c[0], c[1]);
  });
  plot.on('plotly_hover', (e) => {
    const c = cell(e);
    if (c) events.onHover?.(c[0], c[1]);
  });
  plot.on('plotly_unhover', () => events.onUnhover?.());
}

/** Bars: horizontal with a label per bar (grouped when there are several series), or a histogram's touching bins. */
export async function drawBars(el: HTMLElement, b: BarChart, theme: Theme): Promise<void> {
  const h = b.orientation === 'h';
  const traces = b.series.map((s) => ({
    type: 'bar',
    orientation: b.orientation,
    name: s.name,
    [h ? 'x' : 'y']: s.values,
    [h ? 'y' : 'x']: b.positions,
    ...(b.barWidth ? { width: b.barWidth } : {}),
    marker: { color: s.colours, line: { width: 0 } },
    text: s.text,
    textposition: s.text ? 'outside' : 'none',
    cliponaxis: false,
    textfont: { color: theme.foreground, family: theme.fontFamily, size: 11 },
    hovertext: s.hover,
    hoverinfo: 'text',
  }));
  const axis = { color: theme.foreground, gridcolor: 'rgba(128,128,128,0.2)', tickfont: { family: theme.fontFamily, size: 11 }, fixedrange: true };
  const valueAxis = {
    ...axis,
    zeroline: true,
    zerolinecolor: theme.foreground,
    ...(b.log ? { type: 'log', dtick: 1, exponentformat: 'power' } : b.valueRange ? { range: b.valueRange } : {}),
    ...axisTitle(b.valueTitle, theme),
  };
  const shown = b.ticks ?? b.positions;
  const positionAxis = {
    ...axis,
    showgrid: false,
    zeroline: false,
    ...(b.labels ? { tickmode: 'array', tickvals: shown, ticktext: shown.map((i) => b.labels![i]), autorange: 'reversed' } : {}),
    ...axisTitle(b.positionTitle, theme),
  };
  const layout = {
    paper_bgcolor: theme.background,
    plot_bgcolor: theme.background,
    font: { color: theme.foreground, family: theme.fontFamily },
    margin: b.margin,
    height: b.height,
    barmode: 'group',
    bargap: b.barWidth ? 0 : 0.25,
    showlegend: b.series.length > 1,
    legend: { orientation: 'h', x: 0, y: 1, yanchor: 'bottom', font: { color: theme.foreground } },
    hoverlabel: { bgcolor: theme.hoverBackground, font: { color: theme.foreground, family: theme.fontFamily } },
    xaxis: h ? valueAxis : positionAxis,
    yaxis: h ? positionAxis : valueAxis,
  };
  await Plotly.react(el, traces, layout, { displayModeBar: false, responsive: true, staticPlot: false });
}

/** A drawn plot as an image: SVG text, or a PNG as a data: URL (at twice the size on screen, for print). */
export async function plotImage(el: HTMLElement, format: 'png' | 'svg'): Promise<string> {
  const { width, height } = el.getBoundingClientRect();
  const size = { width: Math.round(width) || 800, height: Math.round(height) || 400 };
  if (format === 'svg') return Plotly.toImage(el, { format, ...size, imageDataOnly: true });
  return Plotly.toImage(el, { format, ...size, scale: 2 });
}
