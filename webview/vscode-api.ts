/** The webview side of the panel protocol: the VS Code API handle, typed to our messages and state. */
import type { PanelState } from '../src/protocol/panels';
import type { RpcMessage } from '../src/protocol/rpc';

interface VsCodeApi {
  postMessage(msg: RpcMessage): void;
  getState(): unknown;
  setState(state: PanelState): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

export const vscode: VsCodeApi = acquireVsCodeApi();
