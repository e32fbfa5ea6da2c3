/**
 * What every panel's page does, whatever it draws (the bundles' entries pass their views). The panel pulls: it asks the host for its data (`panel/data`)
 * and draws the reply; the host acknowledges at once and answers when the run is done, or with the
 * run's error (shown with "Run again"). Without an acknowledgement the request is sent again, so a
 * message lost while the panel was starting cannot leave it waiting. It keeps {view, source} as state so
 * a reloaded window can revive the panel.
 */
import { PANEL_PROTOCOL_VERSION, PanelPayload, PanelView } from '../src/protocol/panels';
import { renderNotice } from './header';
import { host, whenRefreshed } from './host';
import { markTime, watchLongTasks } from './perf';
import { registerToolkit } from './toolkit';
import { vscode } from './vscode-api';

/** Draws a payload of one view into the page's #app; resolves when it is drawn and interactive. */
export type Renderers = { [V in PanelView]?: (app: HTMLElement, payload: Extract<PanelPayload, { view: V }>) => void | Promise<void> };

let renderers: Renderers = {};
const app = document.getElementById('app')!;
const view = document.body.dataset.view as PanelView;
/** Re-asks after this long without an acknowledgement. */
const RESEND_MS = 2000;
/** Which ask is current: replies to an older one (before a refresh) are ignored. */
let generation = 0;

async function show(payload: PanelPayload): Promise<void> {
  if (payload.view !== view) return;
  vscode.setState({ view: payload.view, source: payload.source });
  const render = renderers[payload.view] as ((app: HTMLElement, p: PanelPayload) => void | Promise<void>) | undefined;
  if (!render) throw new Error(`this page has no ${payload.view} view`);
  await render(app, payload);
  markTime('readyAt');
  document.body.dataset.ready = 'true';
  document.body.dataset.state = 'ready';
}

/** Asks for the data until the host acknowledges, then waits for its answer. */
function ask(): Promise<PanelPayload> {
  return new Promise((resolve, reject) => {
    let acked = false;
    let timer: ReturnType<typeof setInterval> | undefined;
    const settle = (f: () => void) => {
      clearInterval(timer);
      f();
    };
    const send = () => host.request('panel/data', { version: PANEL_PROTOCOL_VERSION }, {
      onEvent: (e) => {
        acked = true;
        clearInterval(timer);
        renderNotice(app, e.busy, false);
      },
    }).then((p) => settle(() => resolve(p)), (e: unknown) => settle(() => reject(e)));
    timer = setInterval(() => !acked && send(), RESEND_MS);
    send();
  });
}

async function load(): Promise<void> {
  const mine = ++generation;
  delete document.body.dataset.ready;
  delete document.body.dataset.failed;
  // What tests and users' scripts can wait on: waiting, ready (drawn, interactive) or error.
  document.body.dataset.state = 'waiting';
  try {
    const payload = await ask();
    markTime('receivedAt');
    if (mine === generation) await show(payload);
  } catch (e) {
    if (mine !== generation) return;
    document.body.dataset.failed = 'true';
    document.body.dataset.state = 'error';
    renderNotice(app, (e as Error).message || String(e), true);
  }
}

/** Starts the page: registers the toolkit's components, then asks for its data. */
export function startPanel(views: Renderers): void {
  renderers = views;
  registerToolkit();
  watchLongTasks();
  whenRefreshed(() => void load());
  void load();
}
