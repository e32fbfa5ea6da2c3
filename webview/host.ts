/**
 * The webview's side of the panel protocol (src/protocol/panels.ts): one RpcPeer over the VS Code API.
 * Requests (`panel/data`, `panel/retarget`) get replies with ids; clicks are one-way notifications.
 */
import type { PanelMethods, PanelNotification } from '../src/protocol/panels';
import { RpcPeer } from '../src/protocol/rpc';
import { countReceived } from './perf';
import { vscode } from './vscode-api';

let onRefresh: () => void = () => undefined;

export const host = new RpcPeer<PanelMethods>((msg) => vscode.postMessage(msg), {}, {
  onNotify: (method) => {
    if (method === 'refresh') onRefresh();
  },
});

window.addEventListener('message', (e: MessageEvent<unknown>) => {
  countReceived(e.data);
  host.receive(e.data);
});

/** Called when the host says the panel has a new run to show. */
export function whenRefreshed(f: () => void): void {
  onRefresh = f;
}

export function notify(n: PanelNotification): void {
  host.notify(n.method, n.params);
}
