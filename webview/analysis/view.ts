/**
 * The circuit-analysis view: the spec header, one heatmap per plot of the output (click a layer x head
 * cell to open that head in the attention panel), and texts (continuations) as plain text.
 */
import type { AnalysisPayload } from '../../src/protocol/panels';
import { renderHeader } from '../header';
import { drawHeatmap } from '../plot';
import { readTheme } from '../theme';
import { notify } from '../host';
import { analysisPlots } from './data';

export function renderAnalysis(app: HTMLElement, p: AnalysisPayload): void {
  const theme = readTheme();
  app.replaceChildren();
  renderHeader(app, p.source, p.model, p.output.kind);
  for (const plot of analysisPlots(p.output, theme)) {
    const title = document.createElement('h3');
    title.textContent = plot.title;
    const note = document.createElement('p');
    note.className = 'meta';
    note.textContent = plot.note + (plot.headGrid ? ' — click a head to open it in the attention panel' : '');
    const el = document.createElement('div');
    el.className = 'analysis-plot';
    app.append(title, note, el);
    const layerOf = (row: number) => {
      const layer = Number(plot.heatmap.yLabels[row]);
      return Number.isInteger(layer) ? layer : row;
    };
    void drawHeatmap(el, plot.heatmap, theme, plot.headGrid ? { onClick: (row, col) => notify({ method: 'openHead', params: { layer: layerOf(row), head: col } }) } : {});
  }
  for (const t of p.output.texts ?? []) {
    const label = document.createElement('h3');
    label.textContent = t.label;
    const pre = document.createElement('pre');
    pre.textContent = t.text;
    app.append(label, pre);
  }
}
