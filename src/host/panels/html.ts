/**
 * The one place webview HTML is made: CSP `default-src 'none'`, scripts only by a fresh nonce, styles
 * and scripts only from the extension's dist/ and media/ folders (the webview's localResourceRoots).
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { PanelView } from '../../protocol/panels';

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return {
    enableScripts: true,
    retainContextWhenHidden: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}

/** Attempts at loading the page's script and stylesheet (backing off from 250 ms) before giving up. */
const LOAD_TRIES = 6;

export function panelHtml(webview: vscode.Webview, extensionUri: vscode.Uri, view: PanelView, title: string): string {
  const nonce = randomBytes(16).toString('base64');
  // The attention panel draws on canvases; only the other panels load the bundle with plotly.
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', view === 'attention' ? 'webview-attention.js' : 'webview-plots.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'panel.css'));
  // Plotly sets inline style attributes on its SVG, hence 'unsafe-inline' for styles only.
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data: blob:`,
    `style-src ${webview.cspSource} 'unsafe-inline'`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  // The page's script and stylesheet load through a small inline loader that tries again when a load
  // fails: code-server serves every webview through one service worker, which each new webview replaces,
  // and a request made while it changes hands fails at once (seen as panels stuck on "Waiting for data").
  const loader = `(() => {
  const load = (make, tries) => {
    const el = make();
    el.addEventListener('error', () => {
      el.remove();
      if (tries < ${LOAD_TRIES}) setTimeout(() => load(make, tries + 1), 250 * 2 ** tries);
    });
    document.head.append(el);
  };
  load(() => Object.assign(document.createElement('link'), { rel: 'stylesheet', href: ${JSON.stringify(style.toString())} }), 0);
  load(() => Object.assign(document.createElement('script'), { nonce: ${JSON.stringify(nonce)}, src: ${JSON.stringify(script.toString())} }), 0);
})();`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${esc(title)}</title>
</head>
<body data-view="${view}">
<div id="app"><p class="status">Waiting for data…</p></div>
<script nonce="${nonce}">${loader}</script>
</body>
</html>`;
}
