/** The panel header: what ran (spec file and analysis, or the palette prompt) and a "Reveal in spec" link. */
import type { PanelSource } from '../src/protocol/panels';
import { notify } from './host';

export function renderHeader(parent: HTMLElement, source: PanelSource, model: string, extra: string): void {
  const header = document.createElement('header');
  const title = document.createElement('span');
  title.className = 'title';
  title.textContent = source.kind === 'spec' ? `${source.specName} › ${source.analysisTitle}` : `Prompt traced from the palette`;
  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = `${model} · ${extra}`;
  const link = document.createElement('vscode-link');
  link.id = 'reveal-spec';
  link.textContent = source.kind === 'spec' ? 'Reveal in spec' : 'Show prompt';
  link.addEventListener('click', () => notify({ method: 'revealSpec', params: {} }));
  header.append(title, meta, link);
  parent.append(header);
}

/** A note in place of the plots, with a "Run again" button when the run failed or was not kept (revived panels). */
export function renderNotice(parent: HTMLElement, message: string, withRerun: boolean): void {
  parent.replaceChildren();
  const p = document.createElement('p');
  p.className = 'status';
  p.textContent = message;
  parent.append(p);
  if (withRerun) {
    const button = document.createElement('vscode-button');
    button.id = 'rerun';
    button.textContent = 'Run again';
    button.addEventListener('click', () => notify({ method: 'rerun', params: {} }));
    parent.append(button);
  }
}
