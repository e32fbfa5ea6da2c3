/**
 * The analysis panels: one per (source, view), created or revealed on show, updated in place when the
 * same analysis runs again, revived after a window reload as a panel that says the run must be repeated.
 */
import * as vscode from 'vscode';
import { assertNever } from '../../protocol/assert';
import {
  AttentionPayload, HostToWebview, LogitLensPayload, PANEL_PROTOCOL_VERSION, PanelPayload, PanelSource, PanelView, describeDropped, parsePanelState, parseWebviewMessage,
} from '../../protocol/panels';
import { panelHtml, webviewOptions } from './html';

/** What a click in a panel asks the rest of the extension to do. */
export interface PanelHandler {
  revealToken(payload: AttentionPayload | LogitLensPayload, pos: number): void;
  revealSpec(source: PanelSource): void;
  rerun(source: PanelSource, view: PanelView): void;
  /** Re-traces a palette prompt with the lens coloured by `text`. */
  setTarget(source: PanelSource, text: string): void;
  /** Opens the attention panel on one head of the prompt a circuit analysis ran on. */
  openHead(source: PanelSource, layer: number, head: number): void;
}

const VIEW_TYPES: Record<PanelView, string> = { attention: 'circuitLens.attention', logitLens: 'circuitLens.logitLens', analysis: 'circuitLens.analysis' };
const VIEW_TITLES: Record<PanelView, string> = { attention: 'Attention', logitLens: 'Logit lens', analysis: 'Circuit' };

/** Identifies a panel: one per analysis of a spec, one per view for palette traces. */
export function panelKey(source: PanelSource, view: PanelView): string {
  return source.kind === 'spec' ? `${view}|${source.specUri}#${source.analysisIndex}` : `${view}|prompt`;
}

function panelTitle(source: PanelSource, view: PanelView): string {
  return source.kind === 'spec' ? `${VIEW_TITLES[view]}: ${source.analysisTitle}` : `${VIEW_TITLES[view]}: ${source.model}`;
}

/** Dropped messages logged one by one per panel; after that only every hundredth, with the count. */
const LOGGED_DROPS = 5;

class AnalysisPanel {
  private ready = false;
  private pending: HostToWebview | undefined;
  private dropped = 0;
  payload: PanelPayload | undefined;

  constructor(readonly panel: vscode.WebviewPanel, readonly view: PanelView, public source: PanelSource, private readonly handler: PanelHandler,
    private readonly log: vscode.LogOutputChannel, onDispose: () => void) {
    panel.onDidDispose(onDispose);
    panel.webview.onDidReceiveMessage((raw: unknown) => this.receive(raw));
  }

  private drop(why: string): void {
    this.dropped++;
    if (this.dropped <= LOGGED_DROPS || this.dropped % 100 === 0) this.log.warn(`${panelTitle(this.source, this.view)}: dropped a webview message (${why}); ${this.dropped} so far.`);
  }

  post(msg: HostToWebview): void {
    if (msg.type === 'show') this.payload = msg.payload;
    if (this.ready) void this.panel.webview.postMessage(msg);
    else this.pending = msg;
  }

  private receive(raw: unknown): void {
    const msg = parseWebviewMessage(raw);
    if (!msg) return this.drop(describeDropped(raw));
    switch (msg.type) {
      case 'ready':
        if (msg.version !== PANEL_PROTOCOL_VERSION) return this.drop(`protocol version ${msg.version}, expected ${PANEL_PROTOCOL_VERSION}`);
        this.ready = true;
        if (this.pending) void this.panel.webview.postMessage(this.pending);
        this.pending = undefined;
        return;
      case 'revealToken':
        if (this.payload && this.payload.view !== 'analysis' && msg.pos < this.payload.tokens.length) this.handler.revealToken(this.payload, msg.pos);
        else this.drop(`revealToken ${msg.pos} outside the shown tokens`);
        return;
      case 'revealSpec':
        this.handler.revealSpec(this.source);
        return;
      case 'rerun':
        this.handler.rerun(this.source, this.view);
        return;
      case 'setTarget':
        this.handler.setTarget(this.source, msg.text);
        return;
      case 'openHead':
        if (this.payload?.view === 'analysis') this.handler.openHead(this.source, msg.layer, msg.head);
        else this.drop('openHead outside a circuit panel');
        return;
      default:
        assertNever(msg, 'webview message');
    }
  }
}

export class PanelManager implements vscode.Disposable {
  private readonly panels = new Map<string, AnalysisPanel>();
  private readonly closed = new vscode.EventEmitter<string>();
  /** A panel closed (by its key): what it held can be released. */
  readonly onDidClosePanel = this.closed.event;
  private readonly disposables: vscode.Disposable[] = [this.closed];
  /** The column panels open in, while any is open. */
  private column: vscode.ViewColumn | undefined;

  constructor(private readonly extensionUri: vscode.Uri, private readonly handler: PanelHandler, private readonly log: vscode.LogOutputChannel) {
    for (const view of Object.keys(VIEW_TYPES) as PanelView[]) {
      this.disposables.push(vscode.window.registerWebviewPanelSerializer(VIEW_TYPES[view], {
        deserializeWebviewPanel: async (panel, state) => this.revive(panel, view, state),
      }));
    }
  }

  /** Shows a payload: in its existing panel when that analysis is open, else in a new one. Returns the panel's key. */
  show(payload: PanelPayload, preserveFocus = false): string {
    const key = panelKey(payload.source, payload.view);
    let p = this.panels.get(key);
    if (!p) {
      // New panels join the open ones as tabs, else open right of the active editor; never over it.
      const editorColumn = vscode.window.activeTextEditor?.viewColumn;
      const column = this.column !== undefined && this.column !== editorColumn ? this.column
        : editorColumn !== undefined ? editorColumn + 1 : vscode.ViewColumn.One;
      const panel = vscode.window.createWebviewPanel(VIEW_TYPES[payload.view], panelTitle(payload.source, payload.view),
        { viewColumn: column, preserveFocus }, webviewOptions(this.extensionUri));
      this.column = panel.viewColumn ?? column;
      p = this.adopt(panel, payload.view, payload.source);
    } else {
      p.panel.reveal(undefined, preserveFocus);
    }
    p.source = payload.source;
    p.panel.title = panelTitle(payload.source, payload.view);
    p.post({ type: 'show', payload });
    return key;
  }

  /** Tells the open panel of an analysis that a run is under way. */
  busy(source: PanelSource, view: PanelView, message: string): void {
    this.panels.get(panelKey(source, view))?.post({ type: 'busy', message });
  }

  /** Payloads of the open panels (for the integration tests and the inline views). */
  payloads(): PanelPayload[] {
    return [...this.panels.values()].flatMap((p) => (p.payload ? [p.payload] : []));
  }

  private adopt(panel: vscode.WebviewPanel, view: PanelView, source: PanelSource): AnalysisPanel {
    const key = panelKey(source, view);
    panel.webview.options = webviewOptions(this.extensionUri);
    panel.webview.html = panelHtml(panel.webview, this.extensionUri, view, panelTitle(source, view));
    const p = new AnalysisPanel(panel, view, source, this.handler, this.log, () => {
      if (this.panels.get(key) === p) {
        this.panels.delete(key);
        this.closed.fire(key);
      }
      if (this.panels.size === 0) this.column = undefined;
    });
    panel.onDidChangeViewState((e) => {
      if (e.webviewPanel.viewColumn !== undefined) this.column = e.webviewPanel.viewColumn;
    });
    this.panels.set(key, p);
    return p;
  }

  private revive(panel: vscode.WebviewPanel, view: PanelView, raw: unknown): void {
    const state = parsePanelState(raw);
    if (!state || state.view !== view) {
      panel.dispose();
      return;
    }
    this.adopt(panel, view, state.source).post({ type: 'stale', message: 'This panel was restored after a reload; activations are not kept across reloads, so the run must be repeated.' });
  }

  dispose(): void {
    for (const p of this.panels.values()) p.panel.dispose();
    this.panels.clear();
    for (const d of this.disposables) d.dispose();
  }
}
