/**
 * The logit-lens view: a layers x positions heatmap whose cells show the top token, coloured by its
 * probability or by the probability or rank of the target token; hover lists the top-k; clicking a cell
 * selects it and reveals its prompt token in the editor.
 */
import type { LogitLensPayload } from '../../src/protocol/panels';
import { renderHeader } from '../header';
import { drawHeatmap } from '../plot';
import { readTheme, scaleTo } from '../theme';
import { host, notify } from '../host';
import { LensColouring, colouringLabel, colourings, lensHeatmap } from './data';

export function renderLogitLens(app: HTMLElement, p: LogitLensPayload): void {
  const theme = readTheme();
  app.replaceChildren();
  renderHeader(app, p.source, p.model, `${p.labels.length} residual points × ${p.tokens.length} tokens · top-${p.k}`);
  const options = colourings(p);
  let colouring: LensColouring = options[0];
  let selected: { row: number; col: number } | undefined;

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
      void draw();
    });
    label.append(dropdown);
    controls.append(label);
  } else {
    controls.textContent = p.source.kind === 'prompt'
      ? 'Colour: probability of the top token.'
      : 'Colour: probability of the top token (add an "answer" or "target" to the spec to colour by a chosen token).';
  }
  if (p.targetNote) {
    const note = document.createElement('p');
    note.className = 'status';
    note.id = 'target-note';
    note.textContent = p.targetNote;
    controls.append(note);
  }
  if (p.source.kind === 'prompt') controls.append(targetInput(app, p.target?.text ?? ''));
  const plot = document.createElement('div');
  plot.id = 'lens-plot';
  app.append(controls, plot);

  async function draw(): Promise<void> {
    await drawHeatmap(plot, lensHeatmap(p, colouring, scaleTo(theme, theme.positive), selected), theme, {
      onClick: (row, col) => {
        selected = { row, col };
        notify({ method: 'revealToken', params: { pos: col } });
        void draw();
      },
    });
  }
  void draw();
}

/** For a palette trace: type a token to colour the lens by (a spec names its target in the file). */
function targetInput(app: HTMLElement, current: string): HTMLElement {
  const form = document.createElement('div');
  form.className = 'target';
  const field = document.createElement('vscode-text-field') as HTMLElement & { value: string };
  field.id = 'target';
  field.setAttribute('placeholder', 'a token, e.g. " Mary"');
  field.value = current;
  field.textContent = 'Target token';
  const button = document.createElement('vscode-button');
  button.textContent = 'Colour by target';
  const submit = () => {
    if (field.value.length === 0) return;
    // The kept run is unembedded again in the worker; the model does not run.
    host.request('panel/retarget', { text: field.value }).then((p) => renderLogitLens(app, p), (e: unknown) => {
      field.setAttribute('title', (e as Error).message);
    });
  };
  button.addEventListener('click', submit);
  field.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') submit();
  });
  form.append(field, button);
  return form;
}
