/**
 * The only file that imports plotly (its strict bundle, which never evaluates strings): heatmaps with
 * theme colours, cell text, custom hover text and click/hover callbacks.
 */
import Plotly, { PlotElement } from 'plotly.js-strict-dist-min';
import type { Heatmap } from './heatmap';
import type { Theme } from './theme';

export interface PlotEvents {
  onClick?: (row: number, col: number) => void;
  onHover?: (row: number, col: number) => void;
  onUnhover?: () => void;
}

const bound = new WeakSet<HTMLElement>();

export async function drawHeatmap(el: HTMLElement, h: Heatmap, theme: Theme, events: PlotEvents = {}): Promise<void> {
  const trace = {
    type: 'heatmap',
    z: h.z,
    text: h.hover,
    hoverinfo: 'text',
    hoverongaps: false,
    zmin: h.zmin,
    zmax: h.zmax,
    colorscale: h.colorscale,
    xgap: 1,
    ygap: 1,
    colorbar: {
      title: { text: h.colorbarTitle ?? '', font: { color: theme.foreground } },
      tickfont: { color: theme.foreground },
      thickness: 10,
      ...(h.colorbarTicks ? { tickvals: h.colorbarTicks.values, ticktext: h.colorbarTicks.labels } : {}),
    },
  };
  const cellText = h.text ? [{
    type: 'scatter',
    mode: 'text',
    x: h.text.flatMap((row) => row.map((_, c) => c)),
    y: h.text.flatMap((row, r) => row.map(() => r)),
    text: h.text.flat(),
    textfont: { color: theme.cellText, size: 11, family: theme.fontFamily },
    hoverinfo: 'skip',
  }] : [];
  const axis = { color: theme.foreground, gridcolor: 'rgba(0,0,0,0)', zeroline: false, tickfont: { family: theme.fontFamily, size: 11 } };
  const layout = {
    paper_bgcolor: theme.background,
    plot_bgcolor: theme.masked,
    font: { color: theme.foreground, family: theme.fontFamily },
    margin: { l: 120, r: 10, t: 10, b: 100 },
    height: h.height,
    xaxis: { ...axis, tickmode: 'array', tickvals: h.xLabels.map((_, i) => i), ticktext: h.xLabels, tickangle: -60, fixedrange: true },
    yaxis: { ...axis, tickmode: 'array', tickvals: h.yLabels.map((_, i) => i), ticktext: h.yLabels, autorange: h.yDown ? 'reversed' : true, fixedrange: true },
    shapes: (h.outlines ?? []).map(({ row, col }) => ({ type: 'rect', x0: col - 0.5, x1: col + 0.5, y0: row - 0.5, y1: row + 0.5, line: { color: theme.accent, width: 2 } })),
    hoverlabel: { bgcolor: theme.hoverBackground, font: { color: theme.foreground, family: theme.fontFamily } },
    showlegend: false,
  };
  const plot: PlotElement = await Plotly.react(el, [trace, ...cellText], layout, { displayModeBar: false, responsive: true, staticPlot: false });
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
