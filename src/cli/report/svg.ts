/**
 * Figures (src/protocol/figures.ts, the panel's reading of an output) as inline SVG for the
 * self-contained HTML report: heatmaps with axis titles, thinned tick labels, values in the cells that
 * fit them and a colour bar titled with the value label; horizontal bars (signed ones coloured by sign,
 * bars by series with a legend, a log axis when asked); histograms. Every cell and bar has a <title>
 * tooltip. No scripts; all text escaped.
 */
import {
  BarsFigure, Figure, HeatmapFigure, HistogramFigure, NEGATIVE, POSITIVE, SEQUENTIAL_STOPS, SERIES_COLOURS,
  binColour, cellSize, cellText, clipLabel, colourAt, fitsCellText, formatValue, formatterFor, inkOn, longestLabel, niceTicks, scaleStops,
  tickIndices, tickText, withSpread, wrapWords,
} from '../../protocol/figures';
import { escapeXml } from '../../protocol/xml';

/** The widest a heatmap may be, in pixels. */
const PLOT_WIDTH = 900;
/** Approximate width of one label character at 11 px. */
const CHAR_PX = 6.5;
const AXIS = '#555555';
const r1 = (v: number) => Math.round(v * 10) / 10;

function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${r1(x)}" y="${r1(y)}"${attrs ? ` ${attrs}` : ''}>${escapeXml(content)}</text>`;
}

function svg(width: number, height: number, body: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.ceil(width)}" height="${Math.ceil(height)}" font-size="11" font-family="sans-serif">${body.join('')}</svg>`;
}

/** A vertical colour bar at (x, y), `length` tall: its title above, a few ticks to its right. */
function colourBar(f: HeatmapFigure, id: string, x: number, y: number, length: number): string[] {
  const stops = scaleStops(f.colour.scale);
  const [lo, hi] = f.colour.range;
  const out = [`<defs><linearGradient id="${id}" x1="0" y1="1" x2="0" y2="0">${stops.map((c, i) => `<stop offset="${r1((100 * i) / (stops.length - 1))}%" stop-color="${c}"/>`).join('')}</linearGradient></defs>`];
  wrapWords(f.valueLabel, 18).forEach((line, i, all) => out.push(text(x, y - 6 - 13 * (all.length - 1 - i), line, 'font-weight="bold"')));
  out.push(`<rect x="${r1(x)}" y="${r1(y)}" width="16" height="${r1(length)}" fill="url(#${id})" stroke="${AXIS}" stroke-width="0.5"/>`);
  for (const v of niceTicks(lo, hi, 5)) {
    const ty = y + length * (1 - (v - lo) / (hi - lo));
    out.push(`<line x1="${r1(x + 16)}" x2="${r1(x + 20)}" y1="${r1(ty)}" y2="${r1(ty)}" stroke="${AXIS}"/>`, text(x + 23, ty + 4, tickText(v)));
  }
  return out;
}

export function heatmapSvg(f: HeatmapFigure, id: string): string {
  const [nRows, nCols] = [f.rows.labels.length, f.cols.labels.length];
  const left = 34 + longestLabel(f.rows.labels) * CHAR_PX;
  const cell = cellSize(nRows, nCols, PLOT_WIDTH - left - 150, 700);
  const [gridW, gridH] = [nCols * cell.width, nRows * cell.height];
  const xTicks = tickIndices(nCols, cell.width);
  const yTicks = tickIndices(nRows, cell.height);
  const xLabelPx = longestLabel(xTicks.map((c) => f.cols.labels[c])) * CHAR_PX;
  const rotate = xLabelPx > cell.width * (xTicks[1] ?? 1) - 4;
  const titleLines = wrapWords(f.valueLabel, 18).length;
  const top = 8 + 13 * titleLines;
  const xLabelH = rotate ? xLabelPx * 0.87 + 10 : 16;
  const barLength = Math.max(100, Math.min(gridH, 240));
  const fmt = formatterFor(f.valueLabel);
  const withText = fitsCellText(cell);
  const gap = cell.width >= 4 && cell.height >= 4 ? 1 : 0;
  const body: string[] = [];
  for (let r = 0; r < nRows; r++) {
    for (let c = 0; c < nCols; c++) {
      const v = f.values[r * nCols + c];
      const fill = colourAt(f.colour, v) ?? '#cccccc';
      const [x, y] = [left + c * cell.width, top + r * cell.height];
      const tip = `${f.rows.name} ${f.rows.labels[r]}, ${f.cols.name} ${f.cols.labels[c]}: ${withSpread(fmt, v, f.spread?.[r * nCols + c])}`;
      body.push(`<rect x="${r1(x)}" y="${r1(y)}" width="${r1(cell.width - gap)}" height="${r1(cell.height - gap)}" fill="${fill}"><title>${escapeXml(tip)}</title></rect>`);
      if (withText) body.push(text(x + cell.width / 2, y + cell.height / 2 + 4, cellText(v), `text-anchor="middle" fill="${inkOn(fill)}" pointer-events="none"`));
    }
  }
  for (const r of yTicks) body.push(text(left - 5, top + (r + 0.5) * cell.height + 4, clipLabel(f.rows.labels[r]), 'text-anchor="end"'));
  for (const c of xTicks) {
    const [x, y] = [left + (c + 0.5) * cell.width, top + gridH + 12];
    body.push(rotate ? text(x + 3, y, clipLabel(f.cols.labels[c]), `text-anchor="end" transform="rotate(-60 ${r1(x + 3)} ${r1(y)})"`) : text(x, y, clipLabel(f.cols.labels[c]), 'text-anchor="middle"'));
  }
  const xTitleY = top + gridH + xLabelH + 14;
  body.push(text(left + gridW / 2, xTitleY, f.cols.name, 'text-anchor="middle" font-size="12"'));
  body.push(text(12, top + gridH / 2, f.rows.name, `text-anchor="middle" font-size="12" transform="rotate(-90 12 ${r1(top + gridH / 2)})"`));
  const barX = left + gridW + 24;
  body.push(...colourBar(f, id, barX, top, barLength));
  return svg(barX + 90, Math.max(xTitleY + 8, top + barLength + 10), body);
}

/** Where a value sits on a bar chart's value axis, from `x0` over `width` pixels. */
function valueAxis(f: BarsFigure, x0: number, width: number) {
  const finite = f.values.filter((v) => Number.isFinite(v));
  if (f.log) {
    const positive = finite.filter((v) => v > 0);
    const lo = 10 ** Math.floor(Math.log10(Math.min(...positive, 1)));
    const hi = 10 ** Math.ceil(Math.log10(Math.max(...positive, lo * 10)));
    const at = (v: number) => x0 + (width * (Math.log10(Math.max(v, lo)) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo));
    const ticks: number[] = [];
    for (let t = lo; t <= hi * 1.0001; t *= 10) ticks.push(t);
    return { at, base: x0, ticks };
  }
  const [lo, hi] = f.colour.range;
  const pad = 0.22 * (hi - lo);
  const [a, b] = [lo < 0 ? lo - pad : lo, hi > 0 ? hi + pad : hi];
  const at = (v: number) => x0 + (width * (v - a)) / (b - a);
  return { at, base: at(Math.min(Math.max(0, a), b)), ticks: niceTicks(lo, hi, 5) };
}

export function barsSvg(f: BarsFigure): string {
  const n = f.bars.labels.length;
  const series = f.series?.labels ?? [''];
  const k = series.length;
  const barH = k > 1 ? 12 : 14;
  const rowPx = k * barH + 6;
  const left = 40 + longestLabel(f.bars.labels) * CHAR_PX;
  const plotW = 420;
  const top = k > 1 ? 26 : 6;
  const axis = valueAxis(f, left, plotW);
  const fmt = formatterFor(f.valueLabel);
  const colour = (v: number, s: number) => (k > 1 ? SERIES_COLOURS[s % SERIES_COLOURS.length] : f.colour.scale === 'diverging' ? (v < 0 ? NEGATIVE : POSITIVE) : SEQUENTIAL_STOPS[5]);
  const bottom = top + n * rowPx;
  const body: string[] = [];
  if (k > 1) series.forEach((name, s) => body.push(`<rect x="${left + s * 110}" y="6" width="12" height="12" fill="${colour(0, s)}"/>`, text(left + s * 110 + 16, 16, name)));
  for (const t of axis.ticks) {
    const x = axis.at(t);
    body.push(`<line x1="${r1(x)}" x2="${r1(x)}" y1="${top}" y2="${bottom}" stroke="#dddddd"/>`, text(x, bottom + 14, tickText(t), 'text-anchor="middle"'));
  }
  for (let i = 0; i < n; i++) {
    const y0 = top + i * rowPx + 3;
    body.push(text(left - 6, y0 + (k * barH) / 2 + 4, clipLabel(f.bars.labels[i]), 'text-anchor="end"'));
    for (let s = 0; s < k; s++) {
      const v = f.values[i * k + s];
      const x = axis.at(v);
      const [from, to] = [Math.min(x, axis.base), Math.max(x, axis.base)];
      const y = y0 + s * barH;
      const tip = `${f.bars.labels[i]}${k > 1 ? ` · ${series[s]}` : ''}: ${withSpread(fmt, v, f.spread?.[i * k + s])}`;
      body.push(`<rect x="${r1(from)}" y="${y}" width="${r1(Math.max(1, to - from))}" height="${barH - 2}" fill="${colour(v, s)}"><title>${escapeXml(tip)}</title></rect>`);
      body.push(text(v < 0 ? from - 3 : to + 3, y + barH - 4, fmt(v), v < 0 ? 'text-anchor="end"' : ''));
    }
  }
  body.push(`<line x1="${r1(axis.base)}" x2="${r1(axis.base)}" y1="${top}" y2="${bottom}" stroke="${AXIS}"/>`);
  body.push(text(left + plotW / 2, bottom + 32, f.valueLabel, 'text-anchor="middle" font-size="12"'));
  body.push(text(12, (top + bottom) / 2, f.bars.name, `text-anchor="middle" font-size="12" transform="rotate(-90 12 ${r1((top + bottom) / 2)})"`));
  return svg(left + plotW + 70, bottom + 40, body);
}

export function histogramSvg(f: HistogramFigure): string {
  const { edges, counts } = f.histogram;
  const [left, top, plotW, plotH] = [60, 10, 560, 160];
  const [lo, hi] = [edges[0], edges[edges.length - 1]];
  const most = Math.max(1, ...counts);
  const x = (v: number) => left + (plotW * (v - lo)) / (hi - lo);
  const y = (c: number) => top + plotH * (1 - c / most);
  const body: string[] = [];
  counts.forEach((c, i) => {
    const fill = binColour(f.colour, edges[i], edges[i + 1]);
    const tip = `${formatValue(edges[i])} to ${formatValue(edges[i + 1])}: ${c} ${f.of}`;
    body.push(`<rect x="${r1(x(edges[i]))}" y="${r1(y(c))}" width="${r1(x(edges[i + 1]) - x(edges[i]))}" height="${r1(top + plotH - y(c))}" fill="${fill}" stroke="#999999" stroke-width="0.5"><title>${escapeXml(tip)}</title></rect>`);
  });
  body.push(`<line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}" stroke="${AXIS}"/>`, `<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="${AXIS}"/>`);
  for (const t of niceTicks(lo, hi, 6)) body.push(text(x(t), top + plotH + 14, tickText(t), 'text-anchor="middle"'));
  for (const t of niceTicks(0, most, 4).filter(Number.isInteger)) body.push(text(left - 5, y(t) + 4, String(t), 'text-anchor="end"'));
  body.push(text(left + plotW / 2, top + plotH + 32, f.valueLabel, 'text-anchor="middle" font-size="12"'));
  body.push(text(14, top + plotH / 2, f.of, `text-anchor="middle" font-size="12" transform="rotate(-90 14 ${r1(top + plotH / 2)})"`));
  return svg(left + plotW + 20, top + plotH + 40, body);
}

/** A figure as SVG; `id` names its colour gradient, unique in the page. */
export function figureSvg(f: Figure, id: string): string {
  switch (f.kind) {
    case 'heatmap':
      return heatmapSvg(f, id);
    case 'bars':
      return barsSvg(f);
    case 'histogram':
      return histogramSvg(f);
  }
}
