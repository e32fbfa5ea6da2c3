/**
 * A kept trace of one prompt and the slices panels and the CLI read from it: attention patterns of some
 * layers, the logit lens with a target, one cached hook, the CLI's plain-data output, and the token
 * insights the editor shows inline. The lens is unembedded on first use per (k, target) and kept.
 */
import { fail } from '../engine/errors';
import type { LogitLens } from '../engine/logit-lens';
import type { Token } from '../engine/tokenizer';
import type { Trace } from '../engine/tracer';
import { requireSingleToken, singleTokenIssue } from '../engine/single-token';
import type { AnalysisOutput } from '../protocol/analysis';
import type { AttentionSlice, LogitLensSlice, PanelToken } from '../protocol/panels';
import type { TokenInsight } from '../protocol/runner';
import type { TensorData } from '../protocol/tensor';
import type { LoadedModel } from './loaded-model';

export interface TraceRun {
  kind: 'trace';
  /** The checkpoint folder of the model that ran it. */
  modelDir: string;
  model: string;
  tokens: Token[];
  trace: Trace;
  /** Lenses by `${k}|${targetId}`. */
  readonly lenses: Map<string, LogitLens>;
}

export function traceRun(model: LoadedModel, tokens: Token[], trace: Trace): TraceRun {
  return { kind: 'trace', modelDir: model.ckpt.dir, model: model.ckpt.name, tokens, trace, lenses: new Map() };
}

export function traceBytes(run: TraceRun): number {
  return run.trace.cache.byteSize() + run.trace.logits.data.byteLength;
}

function panelTokens(run: TraceRun): PanelToken[] {
  return run.tokens.map((t) => ({ text: t.text, start: t.start, end: t.end }));
}

/** Token labels of a position axis: `3 " sat"`. */
function positionLabels(run: TraceRun): string[] {
  return run.tokens.map((t, i) => `${i} ${JSON.stringify(t.text)}`);
}

export function decoder(model: LoadedModel): (id: number) => string {
  const tok = model.ckpt.tokenizer;
  const texts = new Map<number, string>(); // the same few ids recur across positions and components
  return (id) => texts.get(id) ?? texts.set(id, tok ? tok.decode([id]) : `<${id}>`).get(id)!;
}

/** Attention patterns of the given layers (default all), [layer, head, query_pos, key_pos]. */
export function attentionSlice(run: TraceRun, layers: readonly number[] | undefined, focus: { layer: number; head: number } | undefined): AttentionSlice {
  const { nLayers, nHeads } = run.trace.cache.config;
  const shown = layers?.length ? [...new Set(layers)].sort((a, b) => a - b) : Array.from({ length: nLayers }, (_, l) => l);
  for (const l of shown) if (!(l >= 0 && l < nLayers)) fail('BAD_INPUT', { field: 'layers' }, `layer ${l} is out of range: this model has ${nLayers}.`);
  const pos = run.tokens.length;
  const per = nHeads * pos * pos;
  const data = new Float32Array(shown.length * per); // [layer, head, q, k]
  shown.forEach((l, i) => data.set(run.trace.cache.get(`blocks.${l}.attn.hook_pattern`).data.subarray(0, per), i * per));
  return {
    view: 'attention', model: run.model, tokens: panelTokens(run), nHeads, layers: shown,
    patterns: { dims: [shown.length, nHeads, pos, pos], data }, focus: focus ?? { layer: shown[0], head: 0 },
  };
}

function encoder(model: LoadedModel): (text: string) => Token[] {
  const tok = model.ckpt.tokenizer;
  if (!tok) fail('BAD_INPUT', { field: 'target' }, `${model.ckpt.name} has no tokenizer to read a target with.`);
  return (text) => tok.encode(text, { prependBos: false });
}

/** The target's token id, or why it has none (not one token of this model): the panel then shows the top token. */
function targetOf(model: LoadedModel, target: string | undefined): { id?: number; note?: string } {
  if (target === undefined) return {};
  const encode = encoder(model);
  const issue = singleTokenIssue(encode, target);
  if (issue) return { note: `target ${issue.problem}${issue.hint ? ` ${issue.hint}` : ''} The lens is coloured by the top token.` };
  return { id: encode(target)[0].id };
}

/** The id of a target that is one token, else undefined (validation reported it already). */
export function targetIdOf(model: LoadedModel, target: string | undefined): number | undefined {
  return model.ckpt.tokenizer ? targetOf(model, target).id : undefined;
}

export async function lensOf(model: LoadedModel, run: TraceRun, k: number, targetId: number | undefined, signal?: AbortSignal): Promise<LogitLens> {
  const key = `${k}|${targetId ?? ''}`;
  let lens = run.lenses.get(key);
  if (!lens) {
    lens = await model.logitLens(run.trace, { k, targetId, signal });
    run.lenses.set(key, lens);
  }
  return lens;
}

export async function lensSlice(model: LoadedModel, run: TraceRun, target: string | undefined, k: number, signal?: AbortSignal): Promise<LogitLensSlice> {
  const t = targetOf(model, target);
  const lens = await lensOf(model, run, k, t.id, signal);
  const decode = decoder(model);
  return {
    view: 'logitLens', model: run.model, tokens: panelTokens(run), labels: lens.labels, k: lens.k,
    topTexts: Array.from(lens.topIds, decode), // [component, pos, k]
    // Copies: replies move their buffers to the caller, and the kept lens must stay whole.
    topProbs: lens.topProbs.slice(),
    ...(t.id !== undefined && lens.targetProbs && lens.targetRanks ? { target: { text: target!, probs: lens.targetProbs.slice(), ranks: lens.targetRanks.slice() } } : {}),
    ...(t.note ? { targetNote: t.note } : {}),
  };
}

/**
 * A copy of one cached hook point, or of the part `select` names (see Slice in the protocol); the reply
 * moves its buffer, and the kept run keeps its own.
 */
export function hookSlice(run: TraceRun, hook: string, select: (number | [number, number] | null)[] = []): TensorData {
  const t = run.trace.cache.get(hook);
  if (select.length > t.dims.length) fail('BAD_INPUT', { field: 'select' }, `${hook} has ${t.dims.length} dimensions, the selection ${select.length}.`);
  const ranges = t.dims.map((n, i): [number, number] => {
    const s = select[i];
    const [from, to] = s === undefined || s === null ? [0, n] : typeof s === 'number' ? [s, s + 1] : s;
    if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from < to && to <= n)) fail('BAD_INPUT', { field: `select[${i}]` }, `must lie in [0, ${n}) of ${hook}'s dimension ${i}.`);
    return [from, to];
  });
  const dims = ranges.map(([a, b]) => b - a);
  const out = new Float32Array(dims.reduce((a, b) => a * b, 1));
  const strides = t.dims.map((_, i) => t.dims.slice(i + 1).reduce((a, b) => a * b, 1));
  const last = dims.length - 1;
  // Copies whole runs of the innermost dimension; the outer indices count like an odometer.
  const index = ranges.map(([a]) => a);
  for (let o = 0; o < out.length; o += dims[last]) {
    const at = index.reduce((sum, v, i) => sum + v * strides[i], 0);
    out.set(t.data.subarray(at, at + dims[last]), o);
    for (let i = last - 1; i >= 0; i--) {
      if (++index[i] < ranges[i][1]) break;
      index[i] = ranges[i][0];
    }
  }
  return { dims, data: out };
}

/** Every head's pattern as plain data (the CLI's JSON and HTML reports). */
export function attentionOutput(run: TraceRun, title: string): AnalysisOutput {
  const { nLayers, nHeads } = run.trace.cache.config;
  const labels = positionLabels(run);
  const values: number[] = [];
  for (let l = 0; l < nLayers; l++) for (const v of run.trace.cache.get(`blocks.${l}.attn.hook_pattern`).data) values.push(v);
  return {
    name: title, kind: 'attention', valueLabel: 'attention probability',
    axes: [
      { name: 'layer', labels: Array.from({ length: nLayers }, (_, l) => String(l)) },
      { name: 'head', labels: Array.from({ length: nHeads }, (_, h) => `H${h}`) },
      { name: 'query', labels }, { name: 'key', labels },
    ],
    values,
  };
}

/** The lens as plain data: the target's probability (or the top token's) per component and position. */
export async function lensOutput(model: LoadedModel, run: TraceRun, title: string, target: string | undefined, k: number, signal?: AbortSignal): Promise<AnalysisOutput> {
  const targetId = target === undefined ? undefined : requireSingleToken(encoder(model), target, 'target').id;
  const lens = await lensOf(model, run, k, targetId, signal);
  const decode = decoder(model);
  const cells = lens.labels.length * lens.pos;
  const values = Array.from({ length: cells }, (_, i) => (lens.targetProbs ? lens.targetProbs[i] : lens.topProbs[i * lens.k]));
  return {
    name: title, kind: 'logitLens', valueLabel: targetId !== undefined ? `probability of ${JSON.stringify(target)}` : 'probability of the top token',
    axes: [{ name: 'residual', labels: lens.labels }, { name: 'position', labels: positionLabels(run) }],
    values,
    notes: { finalTopToken: decode(lens.topIds[(cells - 1) * lens.k]), finalTopProbability: lens.topProbs[(cells - 1) * lens.k] },
  };
}

/**
 * What the editor shows inline for a traced prompt: per token its top next tokens, its logit-lens
 * trajectory and the heads that attend most from it, from the lens's top-k rows and the patterns.
 */
export function tokenInsights(run: TraceRun, lens: LogitLens, decode: (id: number) => string, k = 5, nHeadsShown = 3): TokenInsight[] {
  const pos = run.tokens.length;
  const { nLayers, nHeads } = run.trace.cache.config;
  const final = lens.labels.length - 1;
  const patterns = Array.from({ length: nLayers }, (_, l) => run.trace.cache.get(`blocks.${l}.attn.hook_pattern`).data); // each [batch, head, q, k]
  return run.tokens.map((t, q) => {
    const at = (final * lens.pos + q) * lens.k; // topIds is [component, pos, k]
    const next = Array.from({ length: Math.min(k, lens.k) }, (_, j) => ({ text: decode(lens.topIds[at + j]), prob: lens.topProbs[at + j] }));
    const trajectory = lens.labels.map((label, c) => {
      const i = (c * lens.pos + q) * lens.k;
      return { label, top: { text: decode(lens.topIds[i]), prob: lens.topProbs[i] } };
    });
    // The nHeadsShown heads with the largest single attention weight, kept sorted while scanning.
    const heads: TokenInsight['heads'] = [];
    for (let l = 0; l < nLayers; l++) {
      for (let h = 0; h < nHeads; h++) {
        const from = (h * pos + q) * pos; // row q of head h: [key]
        let key = 0;
        for (let j = 1; j <= q; j++) if (patterns[l][from + j] > patterns[l][from + key]) key = j;
        const weight = patterns[l][from + key];
        if (heads.length === nHeadsShown && weight <= heads[nHeadsShown - 1].weight) continue;
        const i = heads.findIndex((x) => weight > x.weight);
        heads.splice(i < 0 ? heads.length : i, 0, { layer: l, head: h, key, keyText: run.tokens[key].text, weight });
        if (heads.length > nHeadsShown) heads.pop();
      }
    }
    return { pos: q, text: t.text, start: t.start, end: t.end, next, trajectory, heads };
  });
}
