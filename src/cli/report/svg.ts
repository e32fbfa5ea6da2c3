/**
 * Plots as inline SVG for the self-contained HTML report: heatmaps (rows x columns, a diverging scale
 * around 0 or a sequential one) and horizontal bars, each cell with a <title> tooltip. No scripts.
 */
import type { AnalysisOutput } from '../../protocol/analysis';

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Blue for positive, red for negative (as CircuitsVis), white at 0; or white to blue for sequential data. */
export function colour(v: number, max: number, diverging: boolean): string {
  if (!Number.isFinite(v)) return '#cccccc';
  const t = Math.min(1, Math.abs(v) / (max || 1));
  const mix = (a: number, b: number) => Math.round(a + (b - a) * t);
  const [r, g, b] = v >= 0 || !diverging ? [mix(255, 33), mix(255, 102), mix(255, 172)] : [mix(255, 178), mix(255, 24), mix(255, 43)];
  return `rgb(${r},${g},${b})`;
}

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3));

export function heatmapSvg(o: AnalysisOutput): string {
  const [rows, cols] = o.axes;
  const cell = Math.max(10, Math.min(36, Math.floor(900 / Math.max(1, cols.labels.length))));
  const left = 12 + 7 * Math.min(24, Math.max(...rows.labels.map((l) => l.length), rows.name.length));
  const top = 16 + 6 * Math.min(30, Math.max(...cols.labels.map((l) => l.length)));
  const max = Math.max(...o.values.map((v) => (Number.isFinite(v) ? Math.abs(v) : 0)));
  const diverging = o.values.some((v) => v < 0);
  const w = left + cell * cols.labels.length + 10;
  const h = top + cell * rows.labels.length + 10;
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-size="11" font-family="sans-serif">`];
  cols.labels.forEach((label, c) => {
    const x = left + c * cell + cell / 2;
    parts.push(`<text x="${x}" y="${top - 4}" transform="rotate(-60 ${x} ${top - 4})">${escapeXml(label.slice(0, 30))}</text>`);
  });
  rows.labels.forEach((label, r) => {
    parts.push(`<text x="${left - 4}" y="${top + r * cell + cell / 2 + 4}" text-anchor="end">${escapeXml(label.slice(0, 24))}</text>`);
    cols.labels.forEach((colLabel, c) => {
      const v = o.values[r * cols.labels.length + c];
      const tip = `${rows.name} ${label}, ${cols.name} ${colLabel}: ${fmt(v)}`;
      parts.push(`<rect x="${left + c * cell}" y="${top + r * cell}" width="${cell - 1}" height="${cell - 1}" fill="${colour(v, max, diverging)}"><title>${escapeXml(tip)}</title></rect>`);
    });
  });
  parts.push('</svg>');
  return parts.join('');
}

export function barsSvg(o: AnalysisOutput): string {
  const [axis] = o.axes;
  const rowH = 18;
  const left = 12 + 7 * Math.min(30, Math.max(...axis.labels.map((l) => l.length)));
  const width = 420;
  const max = Math.max(...o.values.map((v) => Math.abs(v))) || 1;
  const zero = left + width / 2;
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 70}" height="${axis.labels.length * rowH + 10}" font-size="11" font-family="sans-serif">`];
  parts.push(`<line x1="${zero}" x2="${zero}" y1="0" y2="${axis.labels.length * rowH}" stroke="#888"/>`);
  axis.labels.forEach((label, i) => {
    const v = o.values[i];
    const len = (Math.abs(v) / max) * (width / 2);
    const x = v >= 0 ? zero : zero - len;
    const y = i * rowH + 2;
    parts.push(`<text x="${left - 4}" y="${y + 12}" text-anchor="end">${escapeXml(label.slice(0, 30))}</text>`);
    parts.push(`<rect x="${x}" y="${y}" width="${Math.max(1, len)}" height="${rowH - 4}" fill="${colour(v, max, true)}" stroke="#666" stroke-width="0.5"><title>${escapeXml(`${label}: ${fmt(v)}`)}</title></rect>`);
    parts.push(`<text x="${left + width + 4}" y="${y + 12}">${escapeXml(fmt(v))}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}
