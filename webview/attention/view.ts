/**
 * The attention view: every head of every layer as small multiples (canvas thumbnails, click to show a
 * head large), one head as a large heatmap with the causal mask visibly masked, and the tokens as a
 * strip: hovering a token highlights what it attends to (and, in the other colour, what attends to it);
 * clicking locks that token, clicking again unlocks.
 */
import type { AttentionPayload } from '../../src/protocol/panels';
import { renderHeader } from '../header';
import { drawHeatmap } from '../plot';
import { Theme, readTheme, scaleTo } from '../theme';
import { notify } from '../host';
import { HeadRef, attendedBy, attendsTo, headHeatmap, headMatrix, headName, stripTokens } from './data';

const THUMB = 84;

function drawThumb(canvas: HTMLCanvasElement, m: (number | null)[][], theme: Theme): void {
  const n = m.length;
  canvas.width = THUMB;
  canvas.height = THUMB;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const cell = THUMB / n;
  ctx.fillStyle = theme.masked;
  ctx.fillRect(0, 0, THUMB, THUMB);
  for (let q = 0; q < n; q++) {
    for (let k = 0; k <= q; k++) {
      // visible cell: the background, then the weight as opacity of the positive colour
      ctx.globalAlpha = 1;
      ctx.fillStyle = theme.background;
      ctx.fillRect(k * cell, q * cell, Math.ceil(cell), Math.ceil(cell));
      ctx.fillStyle = theme.positive;
      ctx.globalAlpha = m[q][k] ?? 0;
      ctx.fillRect(k * cell, q * cell, Math.ceil(cell), Math.ceil(cell));
    }
  }
  ctx.globalAlpha = 1;
}

export function renderAttention(app: HTMLElement, p: AttentionPayload): void {
  const theme = readTheme();
  const [nLayers, nHeads, pos] = p.patterns.dims;
  app.replaceChildren();
  renderHeader(app, p.source, p.model, `${nLayers} layer${nLayers > 1 ? 's' : ''} × ${nHeads} heads · ${pos} tokens`);

  let focus: HeadRef = { layerIdx: Math.max(0, p.layers.indexOf(p.focus.layer)), head: Math.min(p.focus.head, nHeads - 1) };
  let locked: number | undefined;

  const strip = document.createElement('div');
  strip.className = 'token-strip';
  strip.id = 'tokens';
  const legend = document.createElement('div');
  legend.className = 'legend';
  legend.textContent = 'Hover a token: blue = what it attends to, red = what attends to it. Click to lock or unlock.';

  const grid = document.createElement('div');
  grid.className = 'heads-grid';
  grid.id = 'heads';
  grid.style.gridTemplateColumns = `max-content repeat(${nHeads}, ${THUMB + 6}px)`;
  const big = document.createElement('div');
  big.className = 'big-head';
  const bigTitle = document.createElement('h3');
  const plot = document.createElement('div');
  plot.id = 'head-plot';
  big.append(bigTitle, plot);

  const thumbs: HTMLElement[] = [];
  for (let l = 0; l < nLayers; l++) {
    const label = document.createElement('div');
    label.className = 'layer-label';
    label.textContent = `L${p.layers[l]}`;
    grid.append(label);
    for (let h = 0; h < nHeads; h++) {
      const ref = { layerIdx: l, head: h };
      const cell = document.createElement('button');
      cell.className = 'head-thumb';
      cell.title = `${headName(p, ref)}: click to show large`;
      const canvas = document.createElement('canvas');
      drawThumb(canvas, headMatrix(p, ref), theme);
      const cap = document.createElement('span');
      cap.textContent = headName(p, ref);
      cell.append(canvas, cap);
      // Hover previews a head in the large view; click makes it the shown head.
      cell.addEventListener('mouseenter', () => void update(ref));
      cell.addEventListener('mouseleave', () => void update());
      cell.addEventListener('click', () => {
        focus = ref;
        void update();
      });
      grid.append(cell);
      thumbs.push(cell);
    }
  }

  const spans: HTMLSpanElement[] = stripTokens(p).map((t, i) => {
    const s = document.createElement('span');
    s.className = 'token';
    s.textContent = t.text;
    s.title = t.title;
    s.dataset.pos = String(i);
    s.addEventListener('mouseenter', () => locked === undefined && highlight(i));
    s.addEventListener('mouseleave', () => locked === undefined && highlight(undefined));
    s.addEventListener('click', () => {
      locked = locked === i ? undefined : i;
      highlight(locked ?? i);
      void update();
    });
    strip.append(s);
    return s;
  });

  /** The head drawn large: a previewed (hovered) one, else the chosen one. */
  let shown: HeadRef = focus;

  function highlight(q: number | undefined): void {
    const to = q === undefined ? undefined : attendsTo(p, shown, q);
    const by = q === undefined ? undefined : attendedBy(p, shown, q);
    spans.forEach((s, i) => {
      s.classList.toggle('locked', locked === i);
      s.classList.toggle('current', q === i);
      const a = to?.[i] ?? 0;
      const b = by?.[i] ?? 0;
      s.style.backgroundColor = a >= b ? mix(theme.positive, a) : mix(theme.negative, b);
    });
  }

  async function update(preview?: HeadRef): Promise<void> {
    shown = preview ?? focus;
    thumbs.forEach((t, i) => t.classList.toggle('selected', i === focus.layerIdx * nHeads + focus.head));
    bigTitle.textContent = `${headName(p, shown)}${preview ? ' (preview: click to keep)' : ''} · rows: query token, columns: key token · grey: masked (a token cannot see later ones)`;
    highlight(locked);
    await drawHeatmap(plot, headHeatmap(p, shown, scaleTo(theme, theme.positive), locked), theme, {
      onClick: (q) => {
        locked = locked === q ? undefined : q;
        notify({ method: 'revealToken', params: { pos: q } });
        void update();
      },
      onHover: (q) => locked === undefined && highlight(q),
      onUnhover: () => locked === undefined && highlight(undefined),
    });
  }

  app.append(strip, legend, grid, big);
  void update();
}

/** A CSS colour with alpha `a` (0..1), via color-mix so theme colours in any syntax work. */
function mix(colour: string, a: number): string {
  return a <= 0.001 ? '' : `color-mix(in srgb, ${colour} ${Math.round(a * 100)}%, transparent)`;
}
