/**
 * Entry of the panels' webview bundle: says `ready`, then renders what the host sends (every message is
 * checked), and keeps {view, source} as state so a reloaded window can revive the panel.
 */
import { PANEL_PROTOCOL_VERSION, HostToWebview, PanelView } from '../src/protocol/panels';
import { assertNever } from '../src/protocol/assert';
import { renderAnalysis } from './analysis/view';
import { renderAttention } from './attention/view';
import { renderNotice } from './header';
import { renderLogitLens } from './logit-lens/view';
import { registerToolkit } from './toolkit';
import { vscode } from './vscode-api';

registerToolkit();
const app = document.getElementById('app')!;
const view = document.body.dataset.view as PanelView;

function isHostMessage(x: unknown): x is HostToWebview {
  if (typeof x !== 'object' || x === null) return false;
  const m = x as { type?: unknown; payload?: { view?: unknown }; message?: unknown };
  if (m.type === 'show') return typeof m.payload === 'object' && m.payload !== null && m.payload.view === view;
  return (m.type === 'busy' || m.type === 'stale') && typeof m.message === 'string';
}

window.addEventListener('message', (e: MessageEvent<unknown>) => {
  if (!isHostMessage(e.data)) return;
  const msg = e.data;
  switch (msg.type) {
    case 'show': {
      const payload = msg.payload;
      vscode.setState({ view: payload.view, source: payload.source });
      if (payload.view === 'attention') renderAttention(app, payload);
      else if (payload.view === 'logitLens') renderLogitLens(app, payload);
      else renderAnalysis(app, payload);
      document.body.dataset.ready = 'true';
      return;
    }
    case 'busy':
      renderNotice(app, msg.message, false);
      return;
    case 'stale':
      renderNotice(app, msg.message, true);
      return;
    default:
      assertNever(msg, 'host message');
  }
});

vscode.postMessage({ type: 'ready', version: PANEL_PROTOCOL_VERSION });
