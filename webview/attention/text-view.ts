/**
 * The prompt as flowing text coloured by attention (as CircuitsVis's colored_tokens), which stays
 * readable at 1,000 tokens: pick a query to colour what it attends to, or a key to colour what attends to
 * it. Hover a token to look, click to lock it. Scores are coloured red (negative) and blue (positive).
 */
import type { HeadValues, PanelToken } from '../../src/protocol/panels';
import { Rgb, rgbCss } from '../colour';
import { parseColour } from '../css-colour';
import type { Theme } from '../theme';
import { visibleToken } from '../text';
import { columnOf, formatValue, headName, rowOf, tokenLabel } from './data';
import { extent } from './raster';

export type TextMode = 'query' | 'key';

export interface TextViewEvents {
  onLock(pos: number | undefined): void;
}

export class TextView {
  readonly element = document.createElement('div');
  private readonly caption = document.createElement('div');
  private readonly text = document.createElement('div');
  private spans: HTMLSpanElement[] = [];
  private hv: HeadValues | undefined;
  private mode: TextMode = 'query';
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
      if (this.locked === undefined) this.colour();
    });
    this.text.addEventListener('mouseleave', () => {
      this.hovered = undefined;
      if (this.locked === undefined) this.colour();
    });
    this.text.addEventListener('click', (e) => {
      const pos = this.posOf(e.target);
      if (pos === undefined) return;
      this.locked = this.locked === pos ? undefined : pos;
      this.colour();
      this.events.onLock(this.locked);
    });
  }

  private posOf(t: EventTarget | null): number | undefined {
    const s = (t as HTMLElement | null)?.dataset?.pos;
    return s === undefined ? undefined : Number(s);
  }

  show(hv: HeadValues): void {
    const rebuild = !this.hv || this.hv.from !== hv.from || this.hv.to !== hv.to;
    this.hv = hv;
    if (rebuild) {
      const frag = document.createDocumentFragment();
      this.spans = [];
      for (let p = hv.from; p < hv.to; p++) {
        const s = document.createElement('span');
        s.className = 'ctoken';
        s.dataset.pos = String(p);
        s.textContent = visibleToken(this.tokens[p].text);
        frag.append(s);
        this.spans.push(s);
        if (this.tokens[p].text.includes('\n')) frag.append(document.createElement('br'));
      }
      this.text.replaceChildren(frag);
      if (this.locked !== undefined && (this.locked < hv.from || this.locked >= hv.to)) this.locked = undefined;
    }
    this.colour();
  }

  setMode(mode: TextMode): void {
    this.mode = mode;
    this.colour();
  }

  lock(pos: number | undefined): void {
    this.locked = pos;
    this.colour();
  }

  /** Colours every token by the chosen token's row (query mode) or column (key mode). */
  private colour(): void {
    const hv = this.hv;
    if (!hv) return;
    const chosen = this.locked ?? this.hovered ?? (this.mode === 'query' ? hv.to - 1 : hv.from);
    const local = chosen - hv.from;
    const weights = this.mode === 'query' ? rowOf(hv, local) : columnOf(hv, local);
    const signed = hv.hook !== 'pattern';
    const max = extent(weights, signed);
    const what = this.mode === 'query' ? `what query ${tokenLabel(this.tokens, chosen)} attends to` : `what attends to key ${tokenLabel(this.tokens, chosen)}`;
    this.caption.textContent = `${headName(hv)}: ${what}${this.locked === undefined ? ' (hover a token to look, click to lock)' : ' (locked: click it again to unlock)'} · colour scaled to the largest ${signed ? 'magnitude' : 'weight'}, ${formatValue(hv.hook, max)}`;
    this.spans.forEach((s, i) => {
      const v = weights[i];
      const visible = Number.isFinite(v);
      const a = visible && max > 0 ? Math.abs(v) / max : 0;
      s.style.backgroundColor = a > 0.005 ? rgbCss(v < 0 ? this.negative : this.positive, 0.85 * a) : '';
      s.classList.toggle('masked', !visible);
      s.classList.toggle('chosen', hv.from + i === chosen);
      s.title = `${tokenLabel(this.tokens, hv.from + i)}: ${visible ? formatValue(hv.hook, v) : 'masked'}`;
    });
  }
}
