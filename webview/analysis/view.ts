/**
 * The circuit-analysis view: the spec header, then per output and part a line in words, its plots
 * (heatmaps and bar charts, each with an export toolbar; click a layer x head cell to open that head in
 * the attention panel), an edge-attribution graph when the output has one, and its token sequences side by side. Resolves when every plot is drawn; each
 * drawn plot's container gets data-drawn="true".
 */
import type { AnalysisPayload } from '../../src/protocol/panels';
import { exportBar } from '../export';
import { renderHeader } from '../header';
import { notify } from '../host';
import { drawBars, drawHeatmap, plotImage } from '../plot';
import { Theme, readTheme } from '../theme';
import { renderSequences } from '../tokens';
import { AnalysisPlot, analysisSections } from './data';
import { renderEdgeGraph } from './edge-graph-view';

function draw(el: HTMLElement, plot: AnalysisPlot, theme: Theme): Promise<void> {
  if (plot.kind === 'bars') return drawBars(el, plot.bars, theme);
  const layerOf = (row: number) => {
    const layer = Number(plot.data.labels.layer?.[row]);
    return Number.isInteger(layer) ? layer : row;
  };
  return drawHeatmap(el, plot.heatmap, theme, plot.headGrid ? { onClick: (row, col) => notify({ method: 'openHead', params: { layer: layerOf(row), head: col } }) } : {});
}

function text(tag: string, className: string, content: string): HTMLElement {
  const el = document.createElement(tag);
  el.className = className;
  el.textContent = content;
  return el;
}

export async function renderAnalysis(app: HTMLElement, p: AnalysisPayload): Promise<void> {
  const theme = readTheme();
  app.replaceChildren();
  renderHeader(app, p.source, p.model, p.output.kind);
  const width = Math.max(360, app.clientWidth - 16);
  const drawn: Promise<void>[] = [];
  analysisSections(p.output, width).forEach((s, i) => {
    const section = document.createElement('section');
    section.className = 'analysis-section';
    // The first section is the analysis itself, already named by the header.
    if (i > 0) section.append(text('h3', '', s.title));
    if (s.summary) section.append(text('p', 'analysis-summary', s.summary));
    if (i === 0 && p.output.edgeGraph) {
      const figure = document.createElement('div');
      figure.className = 'analysis-figure';
      figure.append(text('h4', '', 'Edge graph'));
      renderEdgeGraph(figure, p.output.edgeGraph, theme, width).dataset.drawn = 'true';
      section.append(figure);
    }
    for (const plot of s.plots) {
      const el = document.createElement('div');
      el.className = 'analysis-plot';
      const figure = document.createElement('div');
      figure.className = 'analysis-figure';
      if (plot.title) figure.append(text('h4', '', plot.title));
      figure.append(exportBar({ name: plot.name, data: () => plot.data, image: (format) => plotImage(el, format) }), el);
      if (plot.headGrid) figure.append(text('p', 'meta', 'Click a head to open it in the attention panel.'));
      section.append(figure);
      drawn.push(draw(el, plot, theme).then(() => {
        el.dataset.drawn = 'true';
      }));
    }
    renderSequences(section, s.sequences);
    for (const t of s.texts) section.append(text('h4', '', t.label), text('pre', '', t.text));
    app.append(section);
  });
  await Promise.all(drawn);
}
