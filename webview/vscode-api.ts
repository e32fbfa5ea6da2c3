/** The webview side of the panel protocol: the VS Code API handle, typed to our messages and state. */
import type { PanelState, WebviewToHost } from '../src/protocol/panels';

interface VsCodeApi {
  postMessage(msg: WebviewToHost): void;
  getState(): unknown;
  setState(state: PanelState): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

export const vscode: VsCodeApi = acquireVsCodeApi();
