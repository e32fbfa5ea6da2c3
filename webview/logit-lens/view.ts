/**
 * The logit-lens view: a components x positions heatmap whose cells are coloured by the top token's
 * value or by the target's value or rank, with the top token written in cells wide enough for it; hover
 * lists the top-k and the target; clicking a cell selects it and reveals its prompt token in the editor.
 * A prompt too long for the panel's width is shown a window of positions at a time (a slider moves it,
 * "All positions" shows every one as colour only); the layout follows the panel's width.
 */
import type { LogitLensPayload } from '../../src/protocol/panels';
import { renderHeader } from '../header';
import { exportBar } from '../export';
import { drawHeatmap, plotImage } from '../plot';
import { readTheme, scaleTo } from '../theme';
import { host, notify } from '../host';
import { LensColouring, LensScales, cellAreaPx, colouringLabel, colourings, lensHeatmap, lensLegend, lensPlotData, positionWindow } from './data';

/** What a redraw for another target keeps: the window of positions. */
export interface LensState {
  start: number;
  all: boolean;
}

export function renderLogitLens(app: HTMLElement, p: LogitLensPayload, keep?: LensState): Promise<void> {
  const theme = readTheme();
  const pos = p.tokens.length;
  app.replaceChildren();
  renderHeader(app, p.source, p.model, `${p.labels.length} ${p.mode === 'resid' ? 'residual points' : 'components'} × ${pos} tokens · top-${p.k}`);
  const options = colourings(p);
  let colouring: LensColouring = options[0];
  let selected: { row: number; pos: number } | undefined;
  // A long prompt opens on its last positions, where the prediction is.
  const state: LensState = keep ?? { start: pos, all: false };
  let shown = { from: 0, to: pos };

  const controls = document.createElement('div');
  controls.className = 'controls';
  if (options.length > 1) {
    const label = document.createElement('label');
    label.textContent = 'Colour by ';
    const dropdown = document.createElement('vscode-dropdown') as HTMLElement & { value: string };
    dropdown.id = 'colouring';
    for (const c of options) {
      const o = document.createElement('vscode-option') as HTMLElement & { value: string };
      o.value = c;
      o.textContent = colouringLabel(c, p);
      dropdown.append(o);
    }
    dropdown.addEventListener('change', () => {
      colouring = options.find((o) => o === dropdown.value) ?? colouring;
      schedule();
    });
    label.append(dropdown);
    controls.append(label);
  } else {
    controls.textContent = p.source.kind === 'prompt'
      ? `Colour: ${colouringLabel('top', p).toLowerCase()}.`
      : `Colour: ${colouringLabel('top', p).toLowerCase()} (add an "answer" or "target" to the spec to colour by a chosen token).`;
  }
  controls.append(modeControl(app, p, state));
  if (p.source.kind === 'prompt') controls.append(targetInput(app, p.target?.text ?? '', state));
  const range = rangeControl(pos, state, () => schedule());
  const plot = document.createElement('div');
  plot.id = 'lens-plot';
  const legend = document.createElement('p');
  legend.className = 'legend';
  legend.textContent = lensLegend(p);
  // The data exports hold every position; the images, the window shown.
  const exports = exportBar({ name: p.mode === 'resid' ? 'logit lens' : 'logit lens decomposed', data: () => lensPlotData(p, colouring), image: (format) => plotImage(plot, format) });
  app.append(controls, range.el, exports, plot, legend);

  const scales: LensScales = {
    sequential: scaleTo(theme, theme.positive),
    diverging: [[0, theme.negative], [0.5, theme.background], [1, theme.positive]],
  };
  let drawnWidth = -1;
  async function draw(): Promise<void> {
    drawnWidth = plot.clientWidth;
    const px = cellAreaPx(drawnWidth || app.clientWidth);
    shown = positionWindow(pos, px, state.start, state.all);
    range.update(shown);
    await drawHeatmap(plot, lensHeatmap(p, colouring, scales, { ...shown, cellAreaPx: px, selected }), theme, {
      onClick: (row, col) => {
        selected = { row, pos: shown.from + col };
        notify({ method: 'revealToken', params: { pos: selected.pos } });
        schedule();
      },
    });
  }
  // One redraw at a time (a plotly redraw is a long task): moves of the slider meanwhile are drawn once, after it.
  let drawing: Promise<void> | undefined;
  let again = false;
  function schedule(): void {
    if (drawing) {
      again = true;
      return;
    }
    drawing = new Promise<void>((r) => requestAnimationFrame(() => r())).then(draw).finally(() => {
      drawing = undefined;
      if (again) {
        again = false;
        schedule();
      }
    });
  }
  // A narrower or wider panel (a split editor) changes how many positions fit and whether text does.
  const resized = new ResizeObserver(() => {
    if (!plot.isConnected) return resized.disconnect();
    if (plot.clientWidth !== drawnWidth) schedule();
  });
  resized.observe(plot);
  return draw();
}

/**
 * Residual stream (accumulated, as `accumulated_resid`) or its components (as `decompose_resid`): the
 * kept run is unembedded again in the worker, with the same target.
 */
function modeControl(app: HTMLElement, p: LogitLensPayload, state: LensState): HTMLElement {
  const label = document.createElement('label');
  label.textContent = 'Rows ';
  const dropdown = document.createElement('vscode-dropdown') as HTMLElement & { value: string };
  dropdown.id = 'lens-mode';
  for (const [value, text] of [['resid', 'residual stream (resid_pre, resid_mid, resid_post)'], ['decomposed', 'components (embeddings, each attention and MLP output)']]) {
    const o = document.createElement('vscode-option') as HTMLElement & { value: string; selected: boolean };
    o.value = value;
    o.textContent = text;
    if (value === p.mode) o.setAttribute('selected', '');
    dropdown.append(o);
  }
  const error = document.createElement('span');
  error.className = 'lens-error';
  dropdown.addEventListener('change', () => {
    if (dropdown.value === p.mode) return;
    error.textContent = '';
    host.request('panel/retarget', { decompose: dropdown.value === 'decomposed' }).then((next) => renderLogitLens(app, next, state), (e: unknown) => {
      error.textContent = (e as Error).message || String(e);
    });
  });
  label.append(dropdown, error);
  return label;
}

/** The window of positions: a slider for its start, what it shows, and "All positions". */
function rangeControl(pos: number, state: LensState, changed: () => void): { el: HTMLElement; update(shown: { from: number; to: number }): void } {
  const el = document.createElement('div');
  el.className = 'controls lens-range';
  const label = document.createElement('label');
  label.textContent = 'Positions ';
  const slider = document.createElement('input');
  slider.type = 'range';
  slider.id = 'lens-start';
  slider.min = '0';
  slider.step = '1';
  slider.setAttribute('aria-label', 'First position shown');
  label.append(slider);
  const what = document.createElement('span');
  what.id = 'lens-range';
  const allLabel = document.createElement('label');
  const all = document.createElement('input');
  all.type = 'checkbox';
  all.id = 'lens-all';
  all.checked = state.all;
  allLabel.append(all, ' All positions (colour only)');
  el.append(label, what, allLabel);
  slider.addEventListener('input', () => {
    state.start = Number(slider.value);
    changed();
  });
  all.addEventListener('change', () => {
    state.all = all.checked;
    changed();
  });
  return {
    el,
    update({ from, to }) {
      const n = to - from;
      el.hidden = !state.all && n === pos;
      slider.disabled = state.all;
      slider.max = String(pos - n);
      slider.value = String(from);
      state.start = from;
      what.textContent = `${from}–${to - 1} of ${pos}`;
    },
  };
}

/**
 * For a palette trace: type a token to colour the lens by (a spec names its target in the file). A
 * target that is not one token is refused: the message shows next to the field and the lens keeps its
 * colouring.
 */
function targetInput(app: HTMLElement, current: string, state: LensState): HTMLElement {
  const form = document.createElement('div');
  form.className = 'target';
  const field = document.createElement('vscode-text-field') as HTMLElement & { value: string };
  field.id = 'target';
  field.setAttribute('placeholder', 'a token, e.g. " Mary"');
  field.value = current;
  field.textContent = 'Target token';
  const button = document.createElement('vscode-button') as HTMLElement & { disabled: boolean };
  button.textContent = 'Colour by target';
  const error = document.createElement('span');
  error.id = 'target-error';
  error.className = 'lens-error';
  error.setAttribute('role', 'alert');
  const submit = () => {
    if (field.value.length === 0) return;
    error.textContent = '';
    button.disabled = true;
    // The kept run is unembedded again in the worker; the model does not run.
    host.request('panel/retarget', { text: field.value }).then((p) => renderLogitLens(app, p, state), (e: unknown) => {
      button.disabled = false;
      error.textContent = (e as Error).message || String(e);
    });
  };
  button.addEventListener('click', submit);
  field.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') submit();
  });
  form.append(field, button, error);
  return form;
}
