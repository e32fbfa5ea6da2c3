/**
 * The prompt as flowing text coloured by attention (as CircuitsVis's colored_tokens), which stays
 * readable at 1,000 tokens: choose a query to colour what it attends to, or a key to colour what attends
 * to it. Hover a token to look, click to lock it. Scores are coloured red (negative) and blue (positive).
 * The view asks for the chosen token's row or column (`onChoose`) and colours with what it gets.
 */
import type { AttentionHook, PanelToken } from '../../src/protocol/panels';
import { Rgb, rgbCss } from '../colour';
import { parseColour } from '../css-colour';
import type { Theme } from '../theme';
import { visibleToken } from '../text';
import { formatValue, tokenLabel } from './data';

export type TextMode = 'query' | 'key';

export interface TextViewEvents {
  /** The token to colour by changed (hover or lock): the view fetches its row or column. */
  onChoose(pos: number): void;
  onLock(pos: number | undefined): void;
}

/** The largest magnitude of the finite values. */
function magnitude(values: Float32Array): number {
  let m = 0;
  for (const v of values) if (Number.isFinite(v) && Math.abs(v) > m) m = Math.abs(v);
  return m;
}

export class TextView {
  readonly element = document.createElement('div');
  private readonly caption = document.createElement('div');
  private readonly text = document.createElement('div');
  private spans: HTMLSpanElement[] = [];
  private range: [number, number] = [0, 0];
  private head = '';
  mode: TextMode = 'query';
  private locked: number | undefined;
  private hovered: number | undefined;
  private readonly positive: Rgb;
  private readonly negative: Rgb;

  constructor(theme: Theme, private readonly tokens: readonly PanelToken[], private readonly events: TextViewEvents) {
    this.element.className = 'attention-text';
    this.caption.className = 'legend';
    this.caption.id = 'text-caption';
    this.text.id = 'attention-text';
    this.text.className = 'coloured-text';
    this.element.append(this.caption, this.text);
    this.positive = parseColour(theme.positive);
    this.negative = parseColour(theme.negative);
    this.text.addEventListener('mouseover', (e) => {
      const pos = this.posOf(e.target);
      if (pos === undefined || pos === this.hovered) return;
      this.hovered = pos;
      if (this.locked === undefined) this.events.onChoose(pos);
    });
    this.text.addEventListener('mouseleave', () => {
      this.hovered = undefined;
      if (this.locked === undefined) this.events.onChoose(this.chosen);
    });
    this.text.addEventListener('click', (e) => {
      const pos = this.posOf(e.target);
      if (pos === undefined) return;
      this.locked = this.locked === pos ? undefined : pos;
      this.events.onLock(this.locked);
      this.events.onChoose(this.chosen);
    });
  }

  private posOf(t: EventTarget | null): number | undefined {
    const s = (t as HTMLElement | null)?.dataset?.pos;
    return s === undefined ? undefined : Number(s);
  }

  /** The token coloured by: locked, else hovered, else the range's last query (or first key). */
  get chosen(): number {
    return this.locked ?? this.hovered ?? (this.mode === 'query' ? this.range[1] - 1 : this.range[0]);
  }

  /** Shows the tokens [from, to) of the prompt as text (spans made once per range). */
  setRange(from: number, to: number): void {
    if (from === this.range[0] && to === this.range[1]) return;
    this.range = [from, to];
    const frag = document.createDocumentFragment();
    this.spans = [];
    for (let p = from; p < to; p++) {
      const s = document.createElement('span');
      s.className = 'ctoken';
      s.dataset.pos = String(p);
      s.textContent = visibleToken(this.tokens[p].text);
      frag.append(s);
      this.spans.push(s);
      if (this.tokens[p].text.includes('\n')) frag.append(document.createElement('br'));
    }
    this.text.replaceChildren(frag);
    if (this.locked !== undefined && (this.locked < from || this.locked >= to)) this.locked = undefined;
    this.hovered = undefined;
  }

  lock(pos: number | undefined): void {
    this.locked = pos;
  }

  /** Colours every token by `weights` ([to - from]: the chosen token's row or column; NaN masked). */
  colour(head: string, hook: AttentionHook, pos: number, weights: Float32Array): void {
    this.head = head;
    const max = magnitude(weights);
    const what = this.mode === 'query' ? `what query ${tokenLabel(this.tokens, pos)} attends to` : `what attends to key ${tokenLabel(this.tokens, pos)}`;
    this.caption.textContent = `${this.head}: ${what}${this.locked === undefined ? ' (hover a token to look, click to lock)' : ' (locked: click it again to unlock)'} · colour scaled to the largest ${hook === 'pattern' ? 'weight' : 'magnitude'}, ${formatValue(hook, max)}`;
    this.spans.forEach((s, i) => {
      const v = weights[i];
      const visible = Number.isFinite(v);
      const a = visible && max > 0 ? Math.abs(v) / max : 0;
      s.style.backgroundColor = a > 0.005 ? rgbCss(v < 0 ? this.negative : this.positive, 0.85 * a) : '';
      s.classList.toggle('masked', !visible);
      s.classList.toggle('chosen', this.range[0] + i === pos);
      s.title = `${tokenLabel(this.tokens, this.range[0] + i)}: ${visible ? formatValue(hook, v) : 'masked'}`;
    });
  }
}
