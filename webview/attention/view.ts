/**
 * The attention view at research scale: every head as thumbnails on one canvas (from the worker's
 * downsampled overview), the chosen head large on a canvas with zoom and pan (its values fetched at full
 * resolution for the chosen token range), and the prompt as text coloured by that head's attention.
 * The pattern and, when the run cached them, the scores (a signed view) can be shown.
 */
import type { AttentionHook, AttentionPayload, HeadValues } from '../../src/protocol/panels';
import { exportBar } from '../export';
import { renderHeader } from '../header';
import { host, notify } from '../host';
import { readTheme } from '../theme';
import { HOOK_LABELS, HeadRef, headMaxOf, headName, headPlotData, thumbnailOf } from './data';
import { HeadCanvas } from './head-canvas';
import { thumbnailValues } from './raster';
import { TextMode, TextView } from './text-view';
import { ThumbGrid } from './thumb-grid';

/** Heads kept in the panel (1,000 tokens: 4 MB each). */
const CACHED_HEADS = 6;
/** A hovered thumbnail is fetched at full resolution after the pointer rests this long. */
const PREVIEW_FETCH_MS = 150;

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

/** Renders the view; resolves once the first head is drawn at full resolution. */
export async function renderAttention(app: HTMLElement, p: AttentionPayload): Promise<void> {
  const theme = readTheme();
  const pos = p.tokens.length;
  app.replaceChildren();
  renderHeader(app, p.source, p.model, `${p.layers.length} layer${p.layers.length > 1 ? 's' : ''} × ${p.nHeads} heads · ${pos} tokens`);

  let selected: HeadRef = p.focus;
  let hook: AttentionHook = 'pattern';
  let range: [number, number] = [0, pos];
  /** The head the large view should show now (the hovered thumbnail, else the selected head). */
  let wanted: HeadRef = selected;
  const cache = new Map<string, Promise<HeadValues>>();
  const keyOf = (h: HeadRef) => `${h.layer}.${h.head}|${hook}|${range[0]}-${range[1]}`;
  cache.set(keyOf(p.focus), Promise.resolve(p.focusHead));
  const fetchHead = (h: HeadRef): Promise<HeadValues> => {
    const key = keyOf(h);
    let v = cache.get(key);
    if (!v) {
      v = host.request('panel/head', { layer: h.layer, head: h.head, hook, range });
      cache.set(key, v);
      v.catch(() => cache.delete(key));
      if (cache.size > CACHED_HEADS) cache.delete(cache.keys().next().value!);
    }
    return v;
  };

  const status = document.createElement('p');
  status.className = 'status';
  status.id = 'attention-status';
  const lockPos = (at: number | undefined) => {
    canvas.lock(at);
    text.lock(at);
    if (at !== undefined) notify({ method: 'revealToken', params: { pos: at } });
  };
  const canvas = new HeadCanvas(theme, p.tokens, { onLock: lockPos });
  const text = new TextView(theme, p.tokens, { onLock: lockPos });
  const title = document.createElement('h3');
  title.id = 'head-title';

  /** Shows `h` large: its thumbnail at once, its values when they come (if it is still the one wanted). */
  async function showHead(h: HeadRef, fetchDelay = 0): Promise<void> {
    wanted = h;
    const key = keyOf(h);
    const preview = h !== selected;
    title.textContent = `${headName(h)} ${HOOK_LABELS[hook]}${preview ? ' (preview: click the thumbnail to keep it)' : ''} · tokens ${range[0]}-${range[1] - 1}`;
    if (!cache.has(key)) {
      if (hook === 'pattern' && range[0] === 0 && range[1] === pos) canvas.showPreview(thumbnailValues(thumbnailOf(p, h), headMaxOf(p, h)), p.thumbnails.size, headName(h));
      if (fetchDelay) await new Promise((r) => setTimeout(r, fetchDelay));
      if (wanted !== h) return;
    }
    try {
      const hv = await fetchHead(h);
      if (wanted !== h || keyOf(h) !== key) return;
      status.textContent = '';
      canvas.show(hv);
      await new Promise((r) => setTimeout(r, 0)); // the text's spans in a task of their own
      if (wanted !== h) return;
      text.show(hv);
    } catch (e) {
      if (wanted === h) status.textContent = `Could not read ${headName(h)}: ${(e as Error).message}`;
    }
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
    void showHead(selected);
  };
  apply.addEventListener('click', () => setRange(Number(from.input.value), Number(to.input.value)));
  whole.addEventListener('click', () => setRange(0, pos - 1));
  const rangeBox = document.createElement('span');
  rangeBox.className = 'range';
  rangeBox.append(from.el, to.el, apply, whole);
  const modeLabel = document.createElement('label');
  modeLabel.textContent = 'Colour the text by ';
  modeLabel.append(dropdown('text-mode', [['query', 'what a query attends to'], ['key', 'what attends to a key']], (v) => text.setMode(v as TextMode)));
  controls.append(rangeBox, modeLabel);

  const legend = document.createElement('div');
  legend.className = 'legend';
  legend.textContent = 'Thumbnails: each head scaled to its own maximum (max-pooled to the tile, grey = masked). Hover a head to preview it, click to keep it.';
  const big = document.createElement('div');
  big.className = 'big-head';
  const pair = document.createElement('div');
  pair.className = 'head-and-text';
  pair.append(canvas.element, text.element);
  big.append(title, exportBar({
    get name() {
      const hv = canvas.shown;
      return hv ? `${headName(hv)} ${hv.hook} tokens ${hv.from}-${hv.to - 1}` : 'attention';
    },
    data: () => headPlotData(p.tokens, canvas.shown!),
    image: (f) => canvas.image(f),
  }), pair);
  app.append(controls, legend, grid.element, status, big);
  grid.layout();
  // The thumbnails paint first; the large head and its text (1,000 spans) in the next task.
  await new Promise((r) => setTimeout(r, 0));
  await showHead(selected);
  await new Promise((r) => requestAnimationFrame(() => r(undefined))); // drawn
}
