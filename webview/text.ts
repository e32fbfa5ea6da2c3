/** Token text for display: whitespace made visible, and escaped for plotly's tag-aware text renderer. */

import { visibleToken } from '../src/protocol/figures';

export { visibleToken };

/** Text for plotly labels and hovers: plotly parses a few tags (<b>, <a>, ...); entities keep it plain text. */
export function plotText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Unique axis labels: "3 ·Mary" (position, then token), so repeated tokens stay distinct. */
export function tokenAxisLabels(tokens: readonly { text: string }[]): string[] {
  return tokens.map((t, i) => plotText(`${i} ${visibleToken(t.text)}`));
}

export function percent(p: number): string {
  return `${(p * 100).toFixed(p >= 0.1 ? 0 : 1)}%`;
}
