/**
 * The analysis panels: one per (source, view), created or revealed when a run starts, reused when the
 * same analysis runs again, revived after a window reload as a panel that offers to run again.
 *
 * A panel pulls (src/protocol/panels.ts): its webview asks `panel/data` once its script runs, and the
 * host answers when the panel's run is done, with the slice it draws read from the worker's kept run,
 * or with the run's error. So no message is pushed to a webview that is not listening, however many
 * panels open at once. When a panel gets a new run, the host tells it `refresh` and it asks again.
 */
import * as vscode from 'vscode';
import { CircuitLensError } from '../../protocol/errors';
import {
  AttentionPayload, FeaturesPayload, LogitLensPayload, PANEL_PROTOCOL_VERSION, PanelMethods, PanelPayload, PanelSource, PanelView, describeDropped, parsePanelState, parseWebviewMessage,
} from '../../protocol/panels';
import type { AnalysisOutput } from '../../protocol/analysis';
import { RpcPeer } from '../../protocol/rpc';
import type { AttentionSlice, HeadWindow, LogitLensSlice } from '../../protocol/panels';
import type { Slice, SliceResult } from '../../protocol/runner';
import type { FeatureCard, FeaturesSlice } from '../../protocol/features';
import { copyText, saveExport } from './export-file';
import { panelHtml, webviewOptions } from './html';

/** What a panel shows: a kept run in the worker and the slice of it the panel draws. */
export interface PanelContent {
  runId: number;
  slice: Slice;
  /** The model's display name. */
  model: string;
  /** Features panel: the feature whose card shows first. */
  focus?: number;
}

/** What a click in a panel asks the rest of the extension to do, and how panels read kept runs. */
export interface PanelHandler {
  revealToken(payload: AttentionPayload | LogitLensPayload | FeaturesPayload, pos: number): void;
  revealSpec(source: PanelSource): void;
  rerun(source: PanelSource, view: PanelView): void;
  /** Opens the attention panel on one head of the prompt a circuit analysis ran on. */
  openHead(source: PanelSource, layer: number, head: number): void;
  /** Reads a slice of a kept run. */
  slice(runId: number, slice: Slice): Promise<SliceResult>;
  /** A panel stopped showing a run. */
  release(runId: number): void;
  /** One feature's card from a kept Features run. */
  featureCard(runId: number, hook: string, feature: number, source: PanelSource): Promise<FeatureCard>;
}

const VIEW_TYPES: Record<PanelView, string> = { attention: 'circuitLens.attention', logitLens: 'circuitLens.logitLens', analysis: 'circuitLens.analysis', features: 'circuitLens.features' };
const VIEW_TITLES: Record<PanelView, string> = { attention: 'Attention', logitLens: 'Logit lens', analysis: 'Circuit', features: 'Features' };

/** Identifies a panel: one per analysis of a spec, one per view for palette traces. */
export function panelKey(source: PanelSource, view: PanelView): string {
  return source.kind === 'spec' ? `${view}|${source.specUri}#${source.analysisIndex}` : `${view}|prompt`;
}

function panelTitle(source: PanelSource, view: PanelView): string {
  return source.kind === 'spec' ? `${VIEW_TITLES[view]}: ${source.analysisTitle}` : `${VIEW_TITLES[view]}: ${source.model}`;
}

/** Dropped messages logged one by one per panel; after that only every hundredth, with the count. */
const LOGGED_DROPS = 5;
/** A visible panel whose page has said nothing this long gets its page again, at most RELOADS times. */
const SILENT_MS = 8000;
const RELOADS = 3;

class AnalysisPanel {
  private dropped = 0;
  private content: Promise<PanelContent> = Promise.reject(new CircuitLensError({ code: 'STALE', message: 'Nothing has run in this panel yet.' }));
  private payloadPromise: Promise<PanelPayload> | undefined;
  /** The payload the panel shows (its last successful read). */
  payload: PanelPayload | undefined;
  private readonly peer: RpcPeer<Record<never, never>, PanelMethods>;
  /** The page has sent something: its script runs and listens, so `refresh` reaches it. */
  private heard = false;
  private reloads = 0;
  private watchdog: NodeJS.Timeout | undefined;

  constructor(readonly panel: vscode.WebviewPanel, readonly view: PanelView, public source: PanelSource, private readonly handler: PanelHandler,
    private readonly log: vscode.LogOutputChannel, private readonly loadPage: () => void, onDispose: () => void) {
    this.content.catch(() => undefined);
    this.peer = new RpcPeer<Record<never, never>, PanelMethods>((msg) => void panel.webview.postMessage(msg), {
      'panel/data': async (p, ctx) => {
        if (p.version !== PANEL_PROTOCOL_VERSION) throw new CircuitLensError({ code: 'BAD_INPUT', message: `This panel speaks protocol ${p.version}, the extension ${PANEL_PROTOCOL_VERSION}: reload the window.` });
        ctx.event({ busy: 'Running…' }); // an acknowledgement: the webview stops re-asking
        return this.read();
      },
      'panel/retarget': (p) => this.retarget(p),
      'panel/head': (p) => this.head(p),
      'panel/featureCard': (p) => this.featureCard(p.feature),
    }, { onNotify: (method, params) => this.notified(method, params) });
    panel.onDidDispose(() => {
      clearTimeout(this.watchdog);
      this.releaseContent();
      onDispose();
    });
    panel.onDidChangeViewState(() => this.watch());
    panel.webview.onDidReceiveMessage((raw: unknown) => {
      this.heard = true;
      clearTimeout(this.watchdog);
      const msg = parseWebviewMessage(raw);
      if (!msg) return this.drop(describeDropped(raw));
      this.peer.receive(msg);
    });
  }

  /** Loads the page, and loads it again if it stays silent while visible (its script failed to load). */
  start(): void {
    this.loadPage();
    this.watch();
  }

  private watch(): void {
    clearTimeout(this.watchdog);
    if (this.heard || !this.panel.visible) return; // VS Code loads a hidden panel's page when it is first shown
    this.watchdog = setTimeout(() => {
      if (this.heard || !this.panel.visible || this.reloads >= RELOADS) return;
      this.reloads++;
      this.log.warn(`${panelTitle(this.source, this.view)}: the panel's page sent nothing in ${SILENT_MS / 1000} s (its script did not load); loading it again (${this.reloads} of ${RELOADS}).`);
      this.loadPage();
      this.watch();
    }, SILENT_MS);
  }

  /** Shows a new run (or a failed one: `content` rejects); the webview asks for it again. */
  setContent(content: Promise<PanelContent>): Promise<PanelPayload> {
    this.releaseContent();
    content.catch(() => undefined);
    this.content = content;
    this.payloadPromise = undefined;
    const payload = this.read();
    payload.catch(() => undefined);
    if (this.heard) this.peer.notify('refresh', {});
    return payload;
  }

  /** The payload of the current content, read once. */
  private read(): Promise<PanelPayload> {
    this.payloadPromise ??= this.content.then(async (c) => {
      const payload = this.toPayload(c, await this.handler.slice(c.runId, c.slice));
      this.payload = payload;
      return payload;
    });
    return this.payloadPromise;
  }

  private toPayload(c: PanelContent, r: SliceResult): PanelPayload {
    if (this.view === 'analysis') return { view: 'analysis', source: this.source, model: c.model, output: r as AnalysisOutput };
    if (this.view === 'features') return { ...(r as FeaturesSlice), source: this.source, ...(c.focus !== undefined ? { focus: c.focus } : {}) };
    return { ...(r as AttentionSlice | LogitLensSlice), source: this.source };
  }

  private async retarget(p: PanelMethods['panel/retarget']['params']): Promise<LogitLensPayload> {
    if (this.view !== 'logitLens') throw new CircuitLensError({ code: 'BAD_INPUT', message: 'only a logit-lens panel takes a target.' });
    const c = await this.content;
    const shown = this.payload?.view === 'logitLens' ? this.payload : undefined;
    const base = c.slice.kind === 'logitLens' ? c.slice : undefined;
    const slice: Slice = {
      kind: 'logitLens', topK: base?.topK,
      target: p.text ?? shown?.target?.text ?? base?.target,
      decompose: p.decompose ?? (shown ? shown.mode === 'decomposed' : base?.decompose),
    };
    const payload = this.toPayload(c, await this.handler.slice(c.runId, slice)) as LogitLensPayload;
    this.payload = payload;
    return payload;
  }

  /** One head of the attention run shown, checked against what the panel was given. */
  private async head(p: PanelMethods['panel/head']['params']): Promise<HeadWindow> {
    const c = await this.content;
    const shown = this.payload;
    if (this.view !== 'attention' || shown?.view !== 'attention') throw new CircuitLensError({ code: 'BAD_INPUT', message: 'only an attention panel shows heads.' });
    const pos = shown.tokens.length;
    if (!shown.layers.includes(p.layer) || p.head >= shown.nHeads || !shown.hooks.includes(p.hook) || p.q[1] > pos || p.k[1] > pos) {
      throw new CircuitLensError({ code: 'BAD_INPUT', message: `no head L${p.layer}H${p.head} (${p.hook}) over queries ${p.q.join('-')} x keys ${p.k.join('-')} in this panel.` });
    }
    return await this.handler.slice(c.runId, { kind: 'head', ...p }) as HeadWindow;
  }

  /** The card of a feature of the shown Features run. */
  private async featureCard(feature: number): Promise<FeatureCard> {
    const c = await this.content;
    const shown = this.payload;
    if (this.view !== 'features' || shown?.view !== 'features') throw new CircuitLensError({ code: 'BAD_INPUT', message: 'only a Features panel shows feature cards.' });
    if (feature >= shown.dSae) throw new CircuitLensError({ code: 'BAD_INPUT', message: `feature ${feature} is outside [0, ${shown.dSae}).` });
    return this.handler.featureCard(c.runId, shown.hook, feature, this.source);
  }

  private releaseContent(): void {
    this.content.then((c) => this.handler.release(c.runId), () => undefined);
  }

  private notified(method: string, params: unknown): void {
    switch (method) {
      case 'revealToken': {
        const pos = (params as { pos: number }).pos;
        if (this.payload && this.payload.view !== 'analysis' && pos < this.payload.tokens.length) this.handler.revealToken(this.payload, pos);
        else this.drop(`revealToken ${pos} outside the shown tokens`);
        return;
      }
      case 'revealSpec':
        return this.handler.revealSpec(this.source);
      case 'rerun':
        return this.handler.rerun(this.source, this.view);
      case 'openHead': {
        const { layer, head } = params as { layer: number; head: number };
        if (this.view === 'analysis') this.handler.openHead(this.source, layer, head);
        else this.drop('openHead outside a circuit panel');
        return;
      }
      case 'export':
        return void saveExport(params as Parameters<typeof saveExport>[0], this.log);
      case 'copyText':
        return void copyText(params as Parameters<typeof copyText>[0]);
      default:
        this.drop(`unknown notification ${method}`);
    }
  }

  private drop(why: string): void {
    this.dropped++;
    if (this.dropped <= LOGGED_DROPS || this.dropped % 100 === 0) this.log.warn(`${panelTitle(this.source, this.view)}: dropped a webview message (${why}); ${this.dropped} so far.`);
  }
}

export class PanelManager implements vscode.Disposable {
  private readonly panels = new Map<string, AnalysisPanel>();
  private readonly disposables: vscode.Disposable[] = [];
  /** The column panels open in, while any is open. */
  private column: vscode.ViewColumn | undefined;

  constructor(private readonly extensionUri: vscode.Uri, private readonly handler: PanelHandler, private readonly log: vscode.LogOutputChannel) {
    for (const view of Object.keys(VIEW_TYPES) as PanelView[]) {
      this.disposables.push(vscode.window.registerWebviewPanelSerializer(VIEW_TYPES[view], {
        deserializeWebviewPanel: async (panel, state) => this.revive(panel, view, state),
      }));
    }
  }

  /**
   * Opens (or reveals) the panel of `source` and `view` and shows `content` in it once that resolves;
   * resolves with the payload the panel draws (or rejects with the run's error).
   */
  show(source: PanelSource, view: PanelView, content: Promise<PanelContent>, preserveFocus = false): Promise<PanelPayload> {
    const key = panelKey(source, view);
    let p = this.panels.get(key);
    if (!p) {
      // New panels join the open ones as tabs, else open right of the active editor; never over it.
      const editorColumn = vscode.window.activeTextEditor?.viewColumn;
      const column = this.column !== undefined && this.column !== editorColumn ? this.column
        : editorColumn !== undefined ? editorColumn + 1 : vscode.ViewColumn.One;
      const panel = vscode.window.createWebviewPanel(VIEW_TYPES[view], panelTitle(source, view), { viewColumn: column, preserveFocus }, webviewOptions(this.extensionUri));
      this.column = panel.viewColumn ?? column;
      p = this.adopt(panel, view, source);
    } else {
      p.panel.reveal(undefined, preserveFocus);
    }
    p.source = source;
    p.panel.title = panelTitle(source, view);
    return p.setContent(content);
  }

  /** Payloads of the open panels (for the integration tests). */
  payloads(): PanelPayload[] {
    return [...this.panels.values()].flatMap((p) => (p.payload ? [p.payload] : []));
  }

  private adopt(panel: vscode.WebviewPanel, view: PanelView, source: PanelSource): AnalysisPanel {
    const key = panelKey(source, view);
    panel.webview.options = webviewOptions(this.extensionUri);
    const p = new AnalysisPanel(panel, view, source, this.handler, this.log, () => {
      panel.webview.html = panelHtml(panel.webview, this.extensionUri, view, panelTitle(p.source, view));
    }, () => {
      if (this.panels.get(key) === p) this.panels.delete(key);
      if (this.panels.size === 0) this.column = undefined;
    });
    // The listener is in place before the page can send anything.
    p.start();
    panel.onDidChangeViewState((e) => {
      if (e.webviewPanel.viewColumn !== undefined) this.column = e.webviewPanel.viewColumn;
    });
    this.panels.set(key, p);
    return p;
  }

  /** Whether a panel shows this source and view (the features command reuses a shown run). */
  has(source: PanelSource, view: PanelView): boolean {
    return this.panels.has(panelKey(source, view));
  }

  private revive(panel: vscode.WebviewPanel, view: PanelView, raw: unknown): void {
    const state = parsePanelState(raw);
    if (!state || state.view !== view) {
      panel.dispose();
      return;
    }
    const stale = new CircuitLensError({ code: 'STALE', message: 'This panel was restored after a reload; activations are not kept across reloads, so the run must be repeated.' });
    void this.adopt(panel, view, state.source).setContent(Promise.reject(stale)).catch(() => undefined);
  }

  dispose(): void {
    for (const p of this.panels.values()) p.panel.dispose();
    this.panels.clear();
    for (const d of this.disposables) d.dispose();
  }
}

