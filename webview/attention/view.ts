/**
 * The attention view at research scale: every head as thumbnails on one canvas (from the worker's
 * downsampled overview), the chosen head large on a canvas with zoom and pan (the worker sends the window
 * shown, pooled to the canvas's resolution, exact once zoomed in), and the prompt as text coloured by
 * the chosen token's row or column of that head. The pattern and, when the run cached them, the scores
 * (a signed view) can be shown; a token range limits the large head and the text.
 */
import { AttentionHook, AttentionPayload, HeadWindow, MAX_WINDOW_CELLS } from '../../src/protocol/panels';
import { exportBar } from '../export';
import { renderHeader } from '../header';
import { host, notify } from '../host';
import { readTheme } from '../theme';
import { HOOK_LABELS, HeadRef, headName, headPlotData, thumbnailWindow } from './data';
import { HeadCanvas } from './head-canvas';
import { TextView } from './text-view';
import { ThumbGrid } from './thumb-grid';

/** A hovered thumbnail is fetched at full resolution after the pointer rests this long. */
const PREVIEW_FETCH_MS = 150;
/** Heads whose last window is kept (at most 256 KB each). */
const RECENT_HEADS = 8;
/** Rows and columns kept for the text view (1,000 tokens: 4 KB each). */
const CACHED_LINES = 64;

function dropdown(id: string, options: [string, string][], onChange: (v: string) => void): HTMLElement {
  const d = document.createElement('vscode-dropdown') as HTMLElement & { value: string };
  d.id = id;
  for (const [value, label] of options) {
    const o = document.createElement('vscode-option') as HTMLElement & { value: string };
    o.value = value;
    o.textContent = label;
    d.append(o);
  }
  d.addEventListener('change', () => onChange(d.value));
  return d;
}

function numberField(id: string, label: string, value: number, max: number): { el: HTMLElement; input: HTMLInputElement } {
  const el = document.createElement('label');
  el.textContent = label;
  const input = document.createElement('input');
  input.type = 'number';
  input.id = id;
  input.min = '0';
  input.max = String(max);
  input.value = String(value);
  input.className = 'number-field';
  el.append(input);
  return { el, input };
}

const sameHead = (a: HeadRef, b: HeadRef) => a.layer === b.layer && a.head === b.head;

/** Renders the view; resolves once the first head is drawn from its own data. */
export async function renderAttention(app: HTMLElement, p: AttentionPayload): Promise<void> {
  const theme = readTheme();
  const pos = p.tokens.length;
  app.replaceChildren();
  renderHeader(app, p.source, p.model, `${p.layers.length} layer${p.layers.length > 1 ? 's' : ''} × ${p.nHeads} heads · ${pos} tokens`);

  let selected: HeadRef = p.focus;
  /** The head the large view shows now (the hovered thumbnail, else the selected head). */
  let wanted: HeadRef = selected;
  let hook: AttentionHook = 'pattern';
  let range: [number, number] = [0, pos];
  let firstDrawn: () => void = () => undefined;
  const drawn = new Promise<void>((r) => (firstDrawn = r));

  const status = document.createElement('p');
  status.className = 'attention-error';
  status.id = 'attention-status';
  status.setAttribute('role', 'alert');
  const failed = (h: HeadRef) => (e: unknown) => {
    if (sameHead(wanted, h)) status.textContent = `Could not read ${headName(h)}: ${(e as Error).message}`;
  };
  const read = (h: HeadRef, q: [number, number], k: [number, number], cells: number): Promise<HeadWindow> =>
    host.request('panel/head', { layer: h.layer, head: h.head, hook, q, k, maxCells: Math.max(1, Math.min(cells, MAX_WINDOW_CELLS)) });

  const lockPos = (at: number | undefined) => {
    canvas.lock(at);
    text.lock(at);
    if (at !== undefined) notify({ method: 'revealToken', params: { pos: at } });
  };
  // The last window of a few heads, so going back to a head (leaving a hovered thumbnail) redraws it at once.
  const recent = new Map<string, HeadWindow>();
  const recentKey = (h: HeadRef) => `${h.layer}.${h.head}|${hook}`;
  const canvas = new HeadCanvas(theme, p.tokens, {
    onLock: (at) => {
      lockPos(at);
      colourText(text.chosen);
    },
    onNeed: (q, k, cells) => {
      const h = wanted;
      const asked = hook;
      read(h, q, k, cells).then((w) => {
        if (!sameHead(wanted, h) || hook !== asked) return;
        status.textContent = '';
        canvas.setData(w);
        recent.delete(recentKey(h));
        recent.set(recentKey(h), w);
        if (recent.size > RECENT_HEADS) recent.delete(recent.keys().next().value!);
        firstDrawn();
      }, failed(h));
    },
  });

  // The text view's rows (query mode) or columns (key mode), kept for a while: hovering back is instant.
  const lines = new Map<string, Promise<Float32Array>>();
  function colourText(at: number): void {
    const h = wanted;
    const mode = text.mode;
    const key = `${h.layer}.${h.head}|${hook}|${mode}|${range.join('-')}|${at}`;
    let line = lines.get(key);
    if (!line) {
      const n = range[1] - range[0];
      line = (mode === 'query' ? read(h, [at, at + 1], range, n) : read(h, range, [at, at + 1], n)).then((w) => w.values);
      lines.set(key, line);
      line.catch(() => lines.delete(key));
      if (lines.size > CACHED_LINES) lines.delete(lines.keys().next().value!);
    }
    const asked = hook;
    line.then((values) => {
      if (sameHead(wanted, h) && hook === asked && text.mode === mode && text.chosen === at) text.colour(headName(h), hook, at, values);
    }, failed(h));
  }
  const text = new TextView(theme, p.tokens, { onLock: lockPos, onChoose: colourText });

  const title = document.createElement('h3');
  title.id = 'head-title';
  /** Shows `h` large: its thumbnail at once (when it stands for what is shown), its data when it comes. */
  async function showHead(h: HeadRef, fetchDelay = 0): Promise<void> {
    wanted = h;
    const preview = !sameHead(h, selected);
    title.textContent = `${headName(h)} ${HOOK_LABELS[hook]}${preview ? ' (preview: click the thumbnail to keep it)' : ''} · tokens ${range[0]}-${range[1] - 1}`;
    const known = recent.get(recentKey(h));
    if (known) canvas.setData(known);
    else if (hook === 'pattern' && range[0] === 0 && range[1] === pos) canvas.setData(thumbnailWindow(p, h), true);
    else canvas.clear();
    if (fetchDelay) {
      await new Promise((r) => setTimeout(r, fetchDelay));
      if (!sameHead(wanted, h)) return;
    }
    canvas.refetch();
    colourText(text.chosen);
  }

  const grid = new ThumbGrid(p, theme, selected, {
    onPreview: (h) => void showHead(h ?? selected, h ? PREVIEW_FETCH_MS : 0),
    onSelect: (h) => {
      selected = h;
      void showHead(h);
    },
  });

  const controls = document.createElement('div');
  controls.className = 'controls attention-controls';
  if (p.hooks.length > 1) {
    const label = document.createElement('label');
    label.textContent = 'Show ';
    label.append(dropdown('attention-hook', p.hooks.map((h) => [h, HOOK_LABELS[h]]), (v) => {
      hook = v === 'attn_scores' ? 'attn_scores' : 'pattern';
      void showHead(selected);
    }));
    controls.append(label);
  }
  const from = numberField('range-from', 'tokens ', 0, pos - 1);
  const to = numberField('range-to', ' to ', pos - 1, pos - 1);
  const apply = document.createElement('button');
  apply.className = 'export-button';
  apply.id = 'range-apply';
  apply.textContent = 'Show range';
  const whole = document.createElement('button');
  whole.className = 'export-button';
  whole.textContent = 'All tokens';
  const setRange = (a: number, b: number) => {
    const lo = Math.max(0, Math.min(pos - 1, Math.floor(a)));
    const hi = Math.max(lo, Math.min(pos - 1, Math.floor(b)));
    range = [lo, hi + 1];
    from.input.value = String(lo);
    to.input.value = String(hi);
    text.setRange(...range);
    canvas.setRange(...range);
    void showHead(selected);
  };
  apply.addEventListener('click', () => setRange(Number(from.input.value), Number(to.input.value)));
  whole.addEventListener('click', () => setRange(0, pos - 1));
  const rangeBox = document.createElement('span');
  rangeBox.className = 'range';
  rangeBox.append(from.el, to.el, apply, whole);
  const modeLabel = document.createElement('label');
  modeLabel.textContent = 'Colour the text by ';
  modeLabel.append(dropdown('text-mode', [['query', 'what a query attends to'], ['key', 'what attends to a key']], (v) => {
    text.mode = v === 'key' ? 'key' : 'query';
    colourText(text.chosen);
  }));
  controls.append(rangeBox, modeLabel);

  const legend = document.createElement('div');
  legend.className = 'legend';
  legend.textContent = 'Thumbnails: each head scaled to its own maximum (max-pooled to the tile, grey = masked). Hover a head to preview it, click to keep it. Large head: max-pooled to the canvas until zoomed in to single tokens.';
  const pair = document.createElement('div');
  pair.className = 'head-and-text';
  pair.append(canvas.element, text.element);
  const big = document.createElement('div');
  big.className = 'big-head';
  big.append(title, exportBar({
    get name() {
      return `${headName(wanted)} ${hook} tokens ${range[0]}-${range[1] - 1}`;
    },
    // The token range at full resolution, read when exported.
    data: async () => headPlotData(p.tokens, await read(wanted, range, range, range[1] - range[0])),
    image: (f) => canvas.image(f),
  }), pair);
  app.append(controls, legend, grid.element, status, big);
  grid.layout();
  text.setRange(...range);
  // The thumbnails paint first; the large head (its preview, then its data) and the text follow.
  await new Promise((r) => setTimeout(r, 0));
  canvas.setRange(...range);
  await showHead(selected);
  await drawn;
  await new Promise((r) => requestAnimationFrame(() => r(undefined)));
}
