/**
 * Messages between the extension host and the analysis panels (webviews), carried by RpcPeer
 * (rpc.ts). A panel pulls: once its script runs it asks `panel/data` (with this protocol version) and
 * draws the reply, so nothing the host sends can be lost to a panel that is not listening yet. The host
 * answers when the panel's run is done (an error reply when it failed: the panel offers "Run again"),
 * and only ever tells a panel `refresh` (ask again: a new run) or `busy`. Everything a webview sends is
 * untrusted: `parseWebviewMessage` checks it at runtime before the host looks at it.
 */
import type { AnalysisOutput } from './analysis';
import type { RpcMessage } from './rpc';

export type PanelView = 'attention' | 'logitLens' | 'analysis';

export const PANEL_PROTOCOL_VERSION = 2;

/** Where a panel's data came from: an analysis in a spec file, or a prompt traced from the palette. */
export type PanelSource =
  | { kind: 'spec'; specUri: string; specName: string; analysisIndex: number; analysisTitle: string }
  | { kind: 'prompt'; model: string; prompt: string; target?: string };

export interface PanelToken {
  text: string;
  /** Character range of the token in the prompt text; BOS has start = end = 0. */
  start: number;
  end: number;
}

/** The attention patterns a panel draws, read from a kept run. */
export interface AttentionSlice {
  view: 'attention';
  model: string;
  tokens: PanelToken[];
  nHeads: number;
  /** The layers held in `patterns`, in order. */
  layers: number[];
  /** [layers.length, head, query_pos, key_pos], rows sum to 1 over key_pos <= query_pos. */
  patterns: { dims: number[]; data: Float32Array };
  /** The head shown large first. */
  focus: { layer: number; head: number };
}

/** The logit lens of a kept run, coloured by a target token or by the top token. */
export interface LogitLensSlice {
  view: 'logitLens';
  model: string;
  tokens: PanelToken[];
  /** Residual components, rows of the heatmap: '0_pre', ..., 'final_post'. */
  labels: string[];
  k: number;
  /** [component, pos, k] decoded top tokens. */
  topTexts: string[];
  /** [component, pos, k] */
  topProbs: Float32Array;
  target?: {
    text: string;
    /** [component, pos] */
    probs: Float32Array;
    /** [component, pos], 0 = the top token */
    ranks: Int32Array;
  };
  /** A target that was asked for but is not one token of this model (the lens is coloured by the top token). */
  targetNote?: string;
}

export type AttentionPayload = AttentionSlice & { source: PanelSource };
export type LogitLensPayload = LogitLensSlice & { source: PanelSource };

/** A circuit analysis (patching, ablation, attribution, detectors, steering, generation) as plain data. */
export interface AnalysisPayload {
  view: 'analysis';
  source: PanelSource;
  model: string;
  output: AnalysisOutput;
}

export type PanelPayload = AttentionPayload | LogitLensPayload | AnalysisPayload;

/** What a webview keeps across reloads (JSON only: no typed arrays). */
export interface PanelState {
  view: PanelView;
  source: PanelSource;
}

/** Requests a panel makes of the host. */
export type PanelMethods = {
  'panel/data': { params: { version: number }; result: PanelPayload; event: { busy: string } };
  /** Colour the logit lens by this token (one token of the model's vocabulary). */
  'panel/retarget': { params: { text: string }; result: LogitLensPayload };
};

/** One-way messages from a panel. */
export type PanelNotification =
  | { method: 'revealToken'; params: { pos: number } }
  | { method: 'revealSpec'; params: Record<string, never> }
  | { method: 'rerun'; params: Record<string, never> }
  | { method: 'openHead'; params: { layer: number; head: number } };

/** One-way messages to a panel. */
export type HostNotification = { method: 'refresh'; params: Record<string, never> } | { method: 'busy'; params: { message: string } };

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

const isIndex = (v: unknown, max: number) => Number.isInteger(v) && (v as number) >= 0 && (v as number) < max;

/** Params of a panel request, checked field by field; undefined when they are not valid. */
function panelRequestParams(method: string, p: Record<string, unknown>): unknown {
  switch (method) {
    case 'panel/data':
      return Number.isInteger(p.version) ? { version: p.version } : undefined;
    case 'panel/retarget':
      return typeof p.text === 'string' && p.text.length > 0 && p.text.length <= 200 ? { text: p.text } : undefined;
    default:
      return undefined;
  }
}

function notificationParams(method: string, p: Record<string, unknown>): unknown {
  switch (method) {
    case 'revealToken':
      return isIndex(p.pos, 1_000_000) ? { pos: p.pos } : undefined;
    case 'revealSpec':
    case 'rerun':
      return {};
    case 'openHead':
      return isIndex(p.layer, 10_000) && isIndex(p.head, 10_000) ? { layer: p.layer, head: p.head } : undefined;
    default:
      return undefined;
  }
}

/**
 * A message from a webview, checked field by field and rebuilt from the fields we know; undefined when
 * it is not one we understand. Only requests and notifications: a webview never replies to the host.
 */
export function parseWebviewMessage(x: unknown): RpcMessage | undefined {
  if (!isRecord(x)) return undefined;
  const params = isRecord(x.params) ? x.params : x.params === undefined ? {} : undefined;
  if (!params || typeof x.method !== 'string') return undefined;
  if (x.rpc === 'request') {
    if (!isIndex(x.id, Number.MAX_SAFE_INTEGER)) return undefined;
    const p = panelRequestParams(x.method, params);
    return p === undefined ? undefined : { rpc: 'request', id: x.id as number, method: x.method, params: p };
  }
  if (x.rpc === 'notify') {
    const p = notificationParams(x.method, params);
    return p === undefined ? undefined : { rpc: 'notify', method: x.method, params: p };
  }
  return undefined;
}

/** A short, safe description of a message that was dropped, for the log (never its content). */
export function describeDropped(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return `an array of ${x.length}`;
  if (typeof x !== 'object') return `a ${typeof x}`;
  const r = x as Record<string, unknown>;
  const name = typeof r.method === 'string' ? r.method : typeof r.type === 'string' ? r.type : undefined;
  return name !== undefined ? `${JSON.stringify(name.slice(0, 40))} with invalid fields` : 'an object without a method';
}

/** Spec files a revived panel may point at: local `.circuit.json` files only. */
function isSpecUri(s: string): boolean {
  return s.length <= 4096 && /^file:\/\/[^?#]*\.circuit\.json$/i.test(s);
}

/** A panel state restored from a webview (also untrusted). */
export function parsePanelState(x: unknown): PanelState | undefined {
  if (!isRecord(x) || (x.view !== 'attention' && x.view !== 'logitLens' && x.view !== 'analysis') || !isRecord(x.source)) return undefined;
  const s = x.source;
  if (s.kind === 'spec' && typeof s.specUri === 'string' && isSpecUri(s.specUri) && typeof s.specName === 'string' && Number.isInteger(s.analysisIndex) && typeof s.analysisTitle === 'string') {
    return { view: x.view, source: { kind: 'spec', specUri: s.specUri, specName: s.specName, analysisIndex: s.analysisIndex as number, analysisTitle: s.analysisTitle } };
  }
  if (s.kind === 'prompt' && typeof s.model === 'string' && typeof s.prompt === 'string' && (s.target === undefined || typeof s.target === 'string')) {
    return { view: x.view, source: { kind: 'prompt', model: s.model, prompt: s.prompt, ...(typeof s.target === 'string' ? { target: s.target } : {}) } };
  }
  return undefined;
}
