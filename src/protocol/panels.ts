/**
 * Messages between the extension host and the analysis panels (webviews). The host posts `show` only
 * after the webview said `ready` with this protocol version. Everything a webview sends is untrusted:
 * `parseWebviewMessage` checks it at runtime before the host looks at it.
 */

import type { AnalysisOutput } from '../engine/analysis/output';

export const PANEL_PROTOCOL_VERSION = 1;

export type PanelView = 'attention' | 'logitLens' | 'analysis';

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

export interface AttentionPayload {
  view: 'attention';
  source: PanelSource;
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

export interface LogitLensPayload {
  view: 'logitLens';
  source: PanelSource;
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
}

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

export type HostToWebview =
  | { type: 'show'; payload: PanelPayload }
  | { type: 'busy'; message: string }
  | { type: 'stale'; message: string };

export type WebviewToHost =
  | { type: 'ready'; version: number }
  | { type: 'revealToken'; pos: number }
  | { type: 'revealSpec' }
  | { type: 'rerun' }
  /** Colour a palette trace's logit lens by this token (one token of the model's vocabulary). */
  | { type: 'setTarget'; text: string }
  | { type: 'openHead'; layer: number; head: number };

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** A message from a webview, checked field by field; undefined when it is not one we understand. */
export function parseWebviewMessage(x: unknown): WebviewToHost | undefined {
  if (!isRecord(x) || typeof x.type !== 'string') return undefined;
  switch (x.type) {
    case 'ready':
      return Number.isInteger(x.version) ? { type: 'ready', version: x.version as number } : undefined;
    case 'revealToken':
      return Number.isInteger(x.pos) && (x.pos as number) >= 0 && (x.pos as number) < 1_000_000 ? { type: 'revealToken', pos: x.pos as number } : undefined;
    case 'revealSpec':
      return { type: 'revealSpec' };
    case 'rerun':
      return { type: 'rerun' };
    case 'setTarget':
      return typeof x.text === 'string' && x.text.length > 0 && x.text.length <= 200 ? { type: 'setTarget', text: x.text } : undefined;
    case 'openHead': {
      const ok = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) < 10_000;
      return ok(x.layer) && ok(x.head) ? { type: 'openHead', layer: x.layer as number, head: x.head as number } : undefined;
    }
    default:
      return undefined;
  }
}

/** A short, safe description of a message that was dropped, for the log (never its content). */
export function describeDropped(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return `an array of ${x.length}`;
  if (typeof x !== 'object') return `a ${typeof x}`;
  const type = (x as Record<string, unknown>).type;
  return typeof type === 'string' ? `type ${JSON.stringify(type.slice(0, 40))} with invalid fields` : 'an object without a type';
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
