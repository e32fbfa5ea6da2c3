/**
 * Logit-lens payload -> heatmap: rows are residual components ('0_pre' ... 'final_post'), columns are
 * positions; each cell shows the top token, coloured by its probability, or by the probability or rank
 * of a chosen target token. Arrays are [component, pos, k] / [component, pos].
 */
import type { LogitLensPayload } from '../../src/protocol/panels';
import type { Heatmap } from '../heatmap';
import { percent, plotText, tokenAxisLabels, visibleToken } from '../text';

export type LensColouring = 'topProb' | 'targetProb' | 'targetRank';

/** The colourings a payload allows, the default first (the target's probability when there is one). */
export function colourings(p: LogitLensPayload): LensColouring[] {
  return p.target ? ['targetProb', 'targetRank', 'topProb'] : ['topProb'];
}

export function colouringLabel(c: LensColouring, p: LogitLensPayload): string {
  const t = p.target ? JSON.stringify(p.target.text) : '';
  switch (c) {
    case 'topProb':
      return 'Top token probability';
    case 'targetProb':
      return `Probability of ${t}`;
    case 'targetRank':
      return `Rank of ${t}`;
  }
}

const MAX_CELL_CHARS = 8;

function cellText(s: string): string {
  const v = visibleToken(s);
  return plotText(v.length > MAX_CELL_CHARS ? v.slice(0, MAX_CELL_CHARS - 1) + '…' : v);
}

export function lensHeatmap(p: LogitLensPayload, colouring: LensColouring, colorscale: [number, string][], selected?: { row: number; col: number }): Heatmap {
  const nComp = p.labels.length;
  const pos = p.tokens.length;
  const at = (c: number, q: number, i: number) => (c * pos + q) * p.k + i; // [component, pos, k]
  const z: number[][] = [];
  const text: string[][] = [];
  const hover: string[][] = [];
  const posLabels = tokenAxisLabels(p.tokens);
  const target = colouring === 'topProb' ? undefined : p.target;
  for (let c = 0; c < nComp; c++) {
    const zr: number[] = [];
    const tr: string[] = [];
    const hr: string[] = [];
    for (let q = 0; q < pos; q++) {
      tr.push(cellText(p.topTexts[at(c, q, 0)]));
      if (target && colouring === 'targetRank') zr.push(Math.log10(target.ranks[c * pos + q] + 1));
      else if (target) zr.push(target.probs[c * pos + q]);
      else zr.push(p.topProbs[at(c, q, 0)]);
      const lines = [`${plotText(p.labels[c])} · after ${posLabels[q]}`];
      for (let i = 0; i < p.k; i++) lines.push(`${i + 1}. ${plotText(JSON.stringify(p.topTexts[at(c, q, i)]))} ${percent(p.topProbs[at(c, q, i)])}`);
      if (p.target) lines.push(`target ${plotText(JSON.stringify(p.target.text))}: ${percent(p.target.probs[c * pos + q])}, rank ${p.target.ranks[c * pos + q] + 1}`);
      hr.push(lines.join('<br>'));
    }
    z.push(zr);
    text.push(tr);
    hover.push(hr);
  }
  const maxRankLog = target ? Math.max(1, ...z.flat()) : 1;
  const rankTicks = [1, 10, 100, 1000, 10000, 100000].filter((r) => Math.log10(r) <= maxRankLog);
  return {
    z,
    text,
    hover,
    xLabels: posLabels,
    yLabels: p.labels.map(plotText),
    zmin: 0,
    zmax: colouring === 'targetRank' ? maxRankLog : 1,
    // Rank: low is good, so the scale runs from the strong colour (rank 1) to the background.
    colorscale: colouring === 'targetRank' ? colorscale.map(([v], i, all) => [v, all[all.length - 1 - i][1]]) : colorscale,
    colorbarTitle: colouring === 'targetRank' ? 'rank' : 'prob',
    colorbarTicks: colouring === 'targetRank' ? { values: rankTicks.map(Math.log10), labels: rankTicks.map(String) } : undefined,
    yDown: false,
    outlines: selected ? [selected] : [],
    height: Math.min(760, 150 + 30 * nComp),
  };
}
