/**
 * A kept trace of one prompt and the slices panels and the CLI read from it: attention patterns of some
 * layers, the logit lens with a target, one cached hook, the CLI's plain-data output, and the token
 * insights the editor shows inline. The lens is unembedded on first use per (mode, k, target) and kept.
 */
import { fail } from '../engine/errors';
import type { LogitLens } from '../engine/logit-lens';
import type { Token } from '../engine/tokenizer';
import type { Trace } from '../engine/tracer';
import { singleTokenIssue } from '../engine/single-token';
import type { AnalysisOutput } from '../protocol/analysis';
import type { AttentionHook, AttentionSlice, HeadWindow, HeadWindowRequest, LensMode, LogitLensSlice, PanelToken } from '../protocol/panels';
import type { ModelRef, TokenInsight } from '../protocol/runner';
import type { TensorData } from '../protocol/tensor';
import { attentionThumbnails, headExtent, poolBlock } from './attention-overview';
import type { LoadedModel } from './loaded-model';
import { modelLabel } from './facts';

export interface TraceRun {
  kind: 'trace';
  /** The checkpoint folder of the model that ran it. */
  modelDir: string;
  /** The model as it was asked for (processing, dictionaries), to load it again the same way. */
  modelRef?: ModelRef;
  model: string;
  tokens: Token[];
  trace: Trace;
  /** Lenses by `${mode}|${k}|${targetId}`. */
  readonly lenses: Map<string, LogitLens>;
  /** Each head's largest value (or magnitude) by hook name and head, read once: every window of it needs it. */
  readonly headExtents: Map<string, number>;
}

export function traceRun(model: LoadedModel, tokens: Token[], trace: Trace, modelRef?: ModelRef): TraceRun {
  return { kind: 'trace', modelDir: model.ckpt.dir, ...(modelRef ? { modelRef } : {}), model: modelLabel(model.ckpt), tokens, trace, lenses: new Map(), headExtents: new Map() };
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

/** The attention overview of the given layers (default all): every head's thumbnail and maximum. */
export function attentionSlice(run: TraceRun, layers: readonly number[] | undefined, focus: { layer: number; head: number } | undefined): AttentionSlice {
  const { nLayers, nHeads } = run.trace.cache.config;
  const shown = layers?.length ? [...new Set(layers)].sort((a, b) => a - b) : Array.from({ length: nLayers }, (_, l) => l);
  for (const l of shown) if (!(l >= 0 && l < nLayers)) fail('BAD_INPUT', { field: 'layers' }, `layer ${l} is out of range: this model has ${nLayers}.`);
  const pos = run.tokens.length;
  const { size, data, headMax } = attentionThumbnails((l) => run.trace.cache.get(`blocks.${l}.attn.hook_pattern`).data, shown, nHeads, pos);
  const hooks: AttentionHook[] = run.trace.cache.has(`blocks.${shown[0]}.attn.hook_attn_scores`) ? ['pattern', 'attn_scores'] : ['pattern'];
  const first = focus && shown.includes(focus.layer) && focus.head < nHeads ? focus : { layer: shown[0], head: 0 };
  return {
    view: 'attention', model: run.model, tokens: panelTokens(run), nHeads, layers: shown, hooks,
    thumbnails: { size, data }, headMax, focus: first,
  };
}

/** A window of one head, pooled to at most `maxCells` a side (see HeadWindow in the protocol). */
export function headWindow(run: TraceRun, w: HeadWindowRequest): HeadWindow {
  const pos = run.tokens.length;
  const { nLayers, nHeads } = run.trace.cache.config;
  if (!(w.layer < nLayers && w.head < nHeads)) fail('BAD_INPUT', { field: 'head' }, `L${w.layer}H${w.head} is not a head of this model (${nLayers} layers x ${nHeads} heads).`);
  if (!(w.q[1] <= pos && w.k[1] <= pos)) fail('BAD_INPUT', { field: 'window' }, `the window reaches past the prompt's ${pos} tokens.`);
  const name = `blocks.${w.layer}.attn.hook_${w.hook}`;
  if (!run.trace.cache.has(name)) fail('NOT_KEPT', { field: 'hook' }, `this run did not cache ${name}.`, 'Trace the prompt again.');
  const all = run.trace.cache.get(name).data; // [batch, head, q, k]: batch item 0 first
  const pattern = all.subarray(w.head * pos * pos, (w.head + 1) * pos * pos);
  const signed = w.hook !== 'pattern';
  const extentKey = `${name}|${w.head}`;
  const max = run.headExtents.get(extentKey) ?? run.headExtents.set(extentKey, headExtent(pattern, pos, signed)).get(extentKey)!;
  const rows = Math.min(w.q[1] - w.q[0], w.maxCells);
  const cols = Math.min(w.k[1] - w.k[0], w.maxCells);
  return {
    layer: w.layer, head: w.head, hook: w.hook, q: w.q, k: w.k, rows, cols,
    values: poolBlock(pattern, pos, w.q, w.k, rows, cols, signed), max,
  };
}

function encoder(model: LoadedModel): (text: string) => Token[] {
  const tok = model.ckpt.tokenizer;
  if (!tok) fail('BAD_INPUT', { field: 'target' }, `${model.ckpt.name} has no tokenizer to read a target with.`);
  return (text) => tok.encode(text, { prependBos: false });
}

/**
 * The target's token id; a target that is not one token of this model is refused, naming its tokens
 * (the panel keeps the colouring it has).
 */
function targetOf(model: LoadedModel, target: string | undefined): number | undefined {
  if (target === undefined) return undefined;
  const encode = encoder(model);
  const tokens = encode(target);
  if (tokens.length === 1) return tokens[0].id;
  const parts = tokens.length > 0 ? `: ${tokens.map((t) => JSON.stringify(t.text)).join(' + ')}` : '';
  fail('BAD_INPUT', { field: 'target' }, `${JSON.stringify(target)} is ${tokens.length} tokens for this model${parts}; the lens is coloured by exactly one.`,
    singleTokenIssue(encode, target)?.hint ?? 'Type one of its tokens.');
}

/** The id of a target that is one token, else undefined (validation reported it already). */
export function targetIdOf(model: LoadedModel, target: string | undefined): number | undefined {
  if (!model.ckpt.tokenizer || target === undefined) return undefined;
  const tokens = encoder(model)(target);
  return tokens.length === 1 ? tokens[0].id : undefined;
}

export async function lensOf(model: LoadedModel, run: TraceRun, k: number, targetId: number | undefined, signal?: AbortSignal, mode: LensMode = 'resid'): Promise<LogitLens> {
  const key = `${mode}|${k}|${targetId ?? ''}`;
  let lens = run.lenses.get(key);
  if (!lens) {
    lens = await model.logitLens(run.trace, { k, targetId, mode, signal });
    run.lenses.set(key, lens);
  }
  return lens;
}

export async function lensSlice(model: LoadedModel, run: TraceRun, target: string | undefined, k: number, signal?: AbortSignal, mode: LensMode = 'resid'): Promise<LogitLensSlice> {
  const targetId = targetOf(model, target);
  const lens = await lensOf(model, run, k, targetId, signal, mode);
  const decode = decoder(model);
  return {
    view: 'logitLens', model: run.model, tokens: panelTokens(run), mode, labels: lens.labels, k: lens.k,
    topTexts: Array.from(lens.topIds, decode), // [component, pos, k]
    // Copies: replies move their buffers to the caller, and the kept lens must stay whole.
    topValues: lens.topValues.slice(),
    ...(targetId !== undefined && lens.targetValues && lens.targetRanks ? { target: { text: target!, values: lens.targetValues.slice(), ranks: lens.targetRanks.slice() } } : {}),
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

/** The lens as plain data: the target's probability (or the top token's) per residual stream point and position. */
export async function lensOutput(model: LoadedModel, run: TraceRun, title: string, target: string | undefined, k: number, signal?: AbortSignal): Promise<AnalysisOutput> {
  const targetId = targetOf(model, target);
  const lens = await lensOf(model, run, k, targetId, signal);
  const decode = decoder(model);
  const cells = lens.labels.length * lens.pos;
  const values = Array.from({ length: cells }, (_, i) => (lens.targetValues ? lens.targetValues[i] : lens.topValues[i * lens.k]));
  return {
    name: title, kind: 'logitLens', valueLabel: targetId !== undefined ? `probability of ${JSON.stringify(target)}` : 'probability of the top token',
    axes: [{ name: 'residual', labels: lens.labels }, { name: 'position', labels: positionLabels(run) }],
    values,
    notes: { finalTopToken: decode(lens.topIds[(cells - 1) * lens.k]), finalTopProbability: lens.topValues[(cells - 1) * lens.k] },
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
    const next = Array.from({ length: Math.min(k, lens.k) }, (_, j) => ({ text: decode(lens.topIds[at + j]), prob: lens.topValues[at + j] }));
    const trajectory = lens.labels.map((label, c) => {
      const i = (c * lens.pos + q) * lens.k;
      return { label, top: { text: decode(lens.topIds[i]), prob: lens.topValues[i] } };
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
