/**
 * Token sequences as text that flows and wraps: each token its own span with a thin border (so token
 * boundaries show), generated tokens coloured by their probability, the probability in the hover.
 * Model text goes in through textContent only.
 */
import type { SequenceView } from './analysis/data';

export function renderSequences(parent: HTMLElement, sequences: SequenceView[]): void {
  if (!sequences.length) return;
  const row = document.createElement('div');
  row.className = 'token-sequences';
  for (const s of sequences) {
    const box = document.createElement('div');
    box.className = 'token-sequence';
    const label = document.createElement('h4');
    label.textContent = s.label;
    const text = document.createElement('div');
    text.className = 'sequence-text';
    for (const t of s.tokens) {
      const span = document.createElement('span');
      span.className = t.background ? 'seq-token generated' : 'seq-token';
      span.textContent = t.text;
      span.title = t.title;
      if (t.background) {
        span.style.backgroundColor = t.background;
        span.style.color = t.ink ?? '';
      }
      text.append(span);
    }
    box.append(label, text);
    row.append(box);
  }
  const legend = document.createElement('p');
  legend.className = 'legend';
  legend.textContent = sequences.some((s) => s.valued)
    ? 'Tokens are coloured by their value (red negative, white 0, blue positive, on one scale; hover a token for its value).'
    : 'Generated tokens are coloured by the probability the model gave each (white 0% to dark blue 100%; hover a token for its value); prompt tokens are plain.';
  parent.append(row, legend);
}
