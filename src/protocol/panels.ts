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
import type { FeatureCard, FeaturesSlice } from './features';

export type PanelView = 'attention' | 'logitLens' | 'analysis' | 'features';

export const PANEL_PROTOCOL_VERSION = 2;

/** Where a panel's data came from: an analysis in a spec file, or a prompt traced from the palette. */
export type PanelSource =
  /** `promptName`: a view of one prompt rather than of an analysis (the Features panel; analysisIndex -1). */
  | { kind: 'spec'; specUri: string; specName: string; analysisIndex: number; analysisTitle: string; promptName?: string }
  | { kind: 'prompt'; model: string; prompt: string; target?: string };

export interface PanelToken {
  text: string;
  /** Character range of the token in the prompt text; BOS has start = end = 0. */
  start: number;
  end: number;
}

/** The attention hooks a panel can show: the pattern (after softmax) and the scores (before it, masked). */
export type AttentionHook = 'pattern' | 'attn_scores';

/** A thumbnail byte that marks a cell whose keys all lie after its queries (masked by the causal mask). */
export const THUMB_MASKED = 255;

/**
 * The overview of a kept run's attention a panel draws first: every head as a small thumbnail the worker
 * max-pooled (so a sharp stripe survives) and scaled to that head's own maximum. One head at full
 * resolution comes with `panel/head`.
 */
export interface AttentionSlice {
  view: 'attention';
  model: string;
  tokens: PanelToken[];
  nHeads: number;
  /** The layers in `thumbnails`, in order. */
  layers: number[];
  /** The hooks the run holds (the pattern always; the scores when cached). */
  hooks: AttentionHook[];
  /**
   * [layers.length, head, size, size] bytes: 0..254 = the cell's max over its block of [query, key] as a
   * fraction of the head's max; THUMB_MASKED where the whole block is masked.
   */
  thumbnails: { size: number; data: Uint8Array };
  /** Each head's largest weight, [layers.length, head]. */
  headMax: Float32Array;
  /** The head shown large first. */
  focus: { layer: number; head: number };
}

/** A window of one head: queries [q0, q1) x keys [k0, k1). */
interface HeadWindowPlace {
  layer: number;
  head: number;
  hook: AttentionHook;
  q: [number, number];
  k: [number, number];
}

/** Which part of one head a panel reads, at most `maxCells` cells a side. */
export interface HeadWindowRequest extends HeadWindowPlace {
  maxCells: number;
}

/**
 * One head over a window of queries x keys, pooled to at most maxCells a side: each cell holds the max
 * (pattern) or the value of largest magnitude (scores) of its block, NaN where the whole block is masked
 * (keys after their query). Exact (one cell per query and key) when rows = q1 - q0 and cols = k1 - k0.
 */
export interface HeadWindow extends HeadWindowPlace {
  rows: number;
  cols: number;
  /** [rows, cols] */
  values: Float32Array;
  /** The head's largest value (pattern) or magnitude (scores) over every query and key: a colour scale that stays put while zooming. */
  max: number;
}

/** The most cells a side one window read may ask for (a 1,024-token head, exact, for an export). */
export const MAX_WINDOW_CELLS = 1024;

/**
 * Which residual components the logit lens reads (src/engine/logit-lens.ts). 'resid': the residual
 * stream at each point, given the final norm afresh; values are probabilities. 'decomposed': what the
 * embeddings and each attention and MLP output write to it, divided by the final norm's scale of the
 * final residual at that position (TransformerLens' decompose_resid + apply_ln_to_stack); values are
 * logits, each component's direct contribution.
 */
export type LensMode = 'resid' | 'decomposed';

/** The logit lens of a kept run, coloured by a target token or by the top token. */
export interface LogitLensSlice {
  view: 'logitLens';
  model: string;
  tokens: PanelToken[];
  mode: LensMode;
  /**
   * Components, rows of the heatmap: '0_pre', '0_mid', ..., 'final_post' ('resid'; no '_mid' rows for
   * parallel attention and MLP); 'embed', 'pos_embed', '0_attn_out', '0_mlp_out', ... ('decomposed').
   */
  labels: string[];
  k: number;
  /** [component, pos, k] decoded top tokens. */
  topTexts: string[];
  /** [component, pos, k]: probabilities ('resid') or logits ('decomposed'), largest first. */
  topValues: Float32Array;
  target?: {
    text: string;
    /** [component, pos]: the target's probability or logit. */
    values: Float32Array;
    /** [component, pos], 0 = the top token */
    ranks: Int32Array;
  };
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

/** The Features panel: a traced prompt's token x feature table; `focus` is the feature whose card shows first. */
export type FeaturesPayload = FeaturesSlice & { source: PanelSource; focus?: number };

export type PanelPayload = AttentionPayload | LogitLensPayload | AnalysisPayload | FeaturesPayload;

/** What a webview keeps across reloads (JSON only: no typed arrays). */
export interface PanelState {
  view: PanelView;
  source: PanelSource;
}

/** Requests a panel makes of the host. */
export type PanelMethods = {
  'panel/data': { params: { version: number }; result: PanelPayload; event: { busy: string } };
  /**
   * The logit lens again from the kept run: coloured by this token (one token of the model's vocabulary),
   * and/or as the residual stream or its components (`decompose`); what is not given stays as it is.
   */
  'panel/retarget': { params: { text?: string; decompose?: boolean }; result: LogitLensPayload };
  /** A window of one head of the shown attention run. */
  'panel/head': { params: HeadWindowRequest; result: HeadWindow };
  /** The card of one feature of the shown Features run (src/protocol/features.ts). */
  'panel/featureCard': { params: { feature: number }; result: FeatureCard };
};

/** One-way messages from a panel. */
export type PanelNotification =
  | { method: 'revealToken'; params: { pos: number } }
  | { method: 'revealSpec'; params: Record<string, never> }
  | { method: 'rerun'; params: Record<string, never> }
  | { method: 'openHead'; params: { layer: number; head: number } }
  /** Save a plot or its data: the host asks where (a save dialog) and writes the file. */
  | { method: 'export'; params: { format: ExportFormat; fileName: string; content: string | Uint8Array } }
  /** Put text (the "Copy Python" snippet) on the clipboard. */
  | { method: 'copyText'; params: { text: string; what: string } };

export type ExportFormat = 'png' | 'svg' | 'json' | 'npy';
const EXPORT_FORMATS: readonly string[] = ['png', 'svg', 'json', 'npy'];
/** The largest export a panel may send (a 1,000-token layer of 12 heads as JSON is about 120 MB). */
export const MAX_EXPORT_BYTES = 256 * 2 ** 20;
const MAX_COPY_CHARS = 100_000;

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
    case 'panel/retarget': {
      const textOk = p.text === undefined || (typeof p.text === 'string' && p.text.length > 0 && p.text.length <= 200);
      if (!textOk || (p.decompose !== undefined && typeof p.decompose !== 'boolean')) return undefined;
      return { ...(p.text !== undefined ? { text: p.text } : {}), ...(p.decompose !== undefined ? { decompose: p.decompose } : {}) };
    }
    case 'panel/head': {
      const range = (r: unknown): r is [number, number] => Array.isArray(r) && r.length === 2 && isIndex(r[0], 1_000_000) && isIndex(r[1], 1_000_001) && r[0] < r[1];
      const { q, k } = p;
      if (!isIndex(p.layer, 10_000) || !isIndex(p.head, 10_000) || (p.hook !== 'pattern' && p.hook !== 'attn_scores') || !range(q) || !range(k)) return undefined;
      if (!Number.isInteger(p.maxCells) || (p.maxCells as number) < 1 || (p.maxCells as number) > MAX_WINDOW_CELLS) return undefined;
      return { layer: p.layer, head: p.head, hook: p.hook, q: [q[0], q[1]], k: [k[0], k[1]], maxCells: p.maxCells };
    }
    case 'panel/featureCard':
      return isIndex(p.feature, 1 << 30) ? { feature: p.feature } : undefined;
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
    case 'export': {
      const fileOk = typeof p.fileName === 'string' && typeof p.format === 'string' && EXPORT_FORMATS.includes(p.format)
        && /^[A-Za-z0-9_-]{1,80}\.[a-z]{3,4}$/.test(p.fileName) && p.fileName.endsWith(`.${p.format}`);
      const c = p.content;
      const size = typeof c === 'string' ? c.length : c instanceof Uint8Array ? c.byteLength : Infinity;
      return fileOk && size <= MAX_EXPORT_BYTES ? { format: p.format, fileName: p.fileName, content: c } : undefined;
    }
    case 'copyText':
      return typeof p.text === 'string' && p.text.length <= MAX_COPY_CHARS && typeof p.what === 'string' && p.what.length <= 60
        ? { text: p.text, what: p.what } : undefined;
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
  if (!isRecord(x) || (x.view !== 'attention' && x.view !== 'logitLens' && x.view !== 'analysis' && x.view !== 'features') || !isRecord(x.source)) return undefined;
  const s = x.source;
  if (s.kind === 'spec' && typeof s.specUri === 'string' && isSpecUri(s.specUri) && typeof s.specName === 'string' && Number.isInteger(s.analysisIndex) && typeof s.analysisTitle === 'string') {
    const promptName = typeof s.promptName === 'string' ? { promptName: s.promptName } : {};
    return { view: x.view, source: { kind: 'spec', specUri: s.specUri, specName: s.specName, analysisIndex: s.analysisIndex as number, analysisTitle: s.analysisTitle, ...promptName } };
  }
  if (s.kind === 'prompt' && typeof s.model === 'string' && typeof s.prompt === 'string' && (s.target === undefined || typeof s.target === 'string')) {
    return { view: x.view, source: { kind: 'prompt', model: s.model, prompt: s.prompt, ...(typeof s.target === 'string' ? { target: s.target } : {}) } };
  }
  return undefined;
}
