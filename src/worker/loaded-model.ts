/**
 * A checkpoint with its onnxruntime sessions, in the thread that runs it: tokenizes, traces a batch with
 * chosen hook points and interventions, unembeds residual rows for the logit lens. Implements the
 * engine's Tracer, so every analysis runs here, next to the sessions, with no thread crossing per run.
 * Every run is checked against the memory limit before it starts; a cancel takes effect between chunks.
 */
import * as path from 'node:path';
import { ActivationCache } from '../engine/cache';
import type { Checkpoint } from '../engine/model';
import { tokenizePrompt } from '../engine/model';
import { fail } from '../engine/errors';
import { HookPoint, closestHookName, concreteShape, isSplitInputHook, splitInputHooks } from '../engine/hooks';
import { AttachedSae, saeOwner, withSaeHooks, withWholeCrossLayers } from '../engine/sae/attach';
import { checkMemory, runBytes } from '../engine/memory';
import { topK } from '../engine/math';
import { LogitLens, LensRows, decomposedLensInput, residLensInput, summariseLensRows } from '../engine/logit-lens';
import type { Token } from '../engine/tokenizer';
import type { DirectionLogits, Trace, TraceOptions, Tracer } from '../engine/tracer';
import { EDGE_ABLATED_INPUT, edgeMaskInput } from '../engine/graph/edge-ablation';
import { CONTRACT_A, CONTRACT_B, CONTRACT_OUT } from '../engine/graph/contract-graph';
import { GraphVariant, START_INPUT, addInput, allLayers, computedIn, gradOutput, hookLayer, keepInput, outputFor } from '../engine/graph/hooked-graph';
import { METRIC_OUTPUT, METRIC_TOKENS } from '../engine/graph/autodiff/metric-seed';
import type { Backend, Intervention, Limit, NonFiniteTensorInfo } from '../protocol/runner';
import type { LensMode } from '../protocol/panels';
import { cancelledError } from '../protocol/errors';
import type { TensorData } from '../protocol/tensor';
import { ModelSessions, Ort, SessionOptions } from './session';
import { WeightScan } from './weight-scan';

/** Tokens per forward on the CPU: a batch is split into rows of about this many tokens, and a cancel takes effect between them. */
const CPU_CHUNK_TOKENS = 1024;
const CUDA_CHUNK_TOKENS = 16384;
/** Rows per unembedding run: bounds the logits held at once to LENS_CHUNK x d_vocab floats. */
const LENS_CHUNK = 128;

export interface Limits {
  cacheBytes?: Limit;
  promptTokens?: Limit;
}

export interface LoadOptions {
  session?: SessionOptions;
  limits?: () => Limits;
  /** Called before each chunk of work: where a cancel flag set from another thread is read. */
  beforeChunk?: () => void;
  /** The weight scan's bundle; default: scan-worker.js beside this bundle. */
  scanWorkerPath?: string;
  /** Dictionaries attached at hook points: a run's graph computes those whose hooks it reads, intervenes on or splices. */
  saes?: readonly AttachedSae[];
}

/** A text prompt's tokens, checked against the model's context and the user's prompt-length limit. */
export function promptTokens(ckpt: Checkpoint, text: string, prependBos: boolean, limit: Limit | undefined): Token[] {
  const tokens = tokenizePrompt(ckpt, text, prependBos);
  if (limit && tokens.length > limit.value) {
    fail('OVER_LIMIT', { field: limit.name }, `the prompt is ${tokens.length} tokens, over the limit of ${limit.value}.`, `Shorten the prompt or raise ${limit.name}.`);
  }
  return tokens;
}

/** The sorted layers of the split-input hooks a run reads or intervenes on; undefined when none. */
function splitLayersOf(...names: string[][]): number[] | undefined {
  const layers = [...new Set(names.flat().map((n) => hookLayer(n)!))].sort((a, b) => a - b);
  return layers.length ? layers : undefined;
}

/** Lets queued messages (a cancel, a diagnostics request) be handled between chunks of native work. */
const yieldToEvents = () => new Promise<void>((r) => setImmediate(r));

/** Rows [first, first + rows) of an intervention tensor whose first dim is the batch (or 1: broadcast). */
function batchRows(ort: Ort, t: TensorData, first: number, rows: number, batch: number) {
  if (t.dims[0] !== batch || rows === batch) return new ort.Tensor('float32', t.data, t.dims);
  const per = t.data.length / batch;
  return new ort.Tensor('float32', t.data.subarray(first * per, (first + rows) * per), [rows, ...t.dims.slice(1)]);
}

export class LoadedModel implements Tracer {
  private scan: WeightScan | undefined;

  /** The model's hook points with the attached dictionaries' (src/engine/sae/attach.ts). */
  readonly hooks: HookPoint[];

  private constructor(readonly ckpt: Checkpoint, private readonly sessions: ModelSessions, readonly loadMs: number, private readonly opts: LoadOptions) {
    this.hooks = withSaeHooks(ckpt.hooks, this.saes);
  }

  get saes(): readonly AttachedSae[] {
    return this.opts.saes ?? [];
  }

  static async open(ckpt: Checkpoint, opts: LoadOptions = {}): Promise<LoadedModel> {
    const t0 = performance.now();
    withSaeHooks(ckpt.hooks, opts.saes ?? []); // refuses a dictionary the graph cannot take before any session is built
    const sessions = new ModelSessions(ckpt, opts.session ?? {}, opts.saes);
    await sessions.init();
    return new LoadedModel(ckpt, sessions, performance.now() - t0, opts);
  }

  get backend(): Backend {
    return this.sessions.backend;
  }

  get backendNote(): string | undefined {
    return this.sessions.backendNote;
  }

  private limits(): Limits {
    return this.opts.limits?.() ?? {};
  }

  private checkpoint(signal?: AbortSignal): void {
    this.opts.beforeChunk?.();
    if (signal?.aborted) throw cancelledError();
  }

  tokenize(text: string, prependBos = true): Token[] {
    return promptTokens(this.ckpt, text, prependBos, this.limits().promptTokens);
  }

  /** Runs a batch of equally long token sequences and caches the requested hook points. */
  async trace(batch: Token[][], opts: TraceOptions = {}): Promise<Trace> {
    const pos = batch[0]?.length ?? 0;
    if (pos === 0 || batch.some((row) => row.length !== pos)) fail('BAD_INPUT', { field: 'tokens' }, 'every sequence of a batch needs the same, non-zero number of tokens.');
    if (opts.startAt && this.startsPastCrossLayerSources(opts, opts.startAt.layer)) {
      this.checkStart(opts.startAt, batch.length, pos);
      return this.trace(batch, { ...opts, startAt: undefined });
    }
    const hooks = opts.hooks ?? [];
    const interventions = opts.interventions ?? [];
    const gradHooks = opts.grad?.hooks ?? [];
    if (opts.grad) this.checkGradMetric(opts.grad.metric, pos, opts.logits === 'last');
    const variant: GraphVariant = {
      attnResult: !!opts.edges || [...hooks, ...gradHooks].some((h) => h.needsAttnResult) || interventions.some((iv) => iv.hook.endsWith('attn.hook_result')),
      splitInputs: opts.edges ? allLayers(this.ckpt.config.nLayers) : splitLayersOf([...hooks, ...gradHooks].filter((h) => h.needsSplitInputs).map((h) => h.name), interventions.map((iv) => iv.hook).filter(isSplitInputHook)),
      edgeAblation: !!opts.edges,
      interventions: interventions.map((iv) => iv.hook),
      lastPositionLogits: opts.logits === 'last',
      startLayer: opts.startAt?.layer,
      ...this.saeVariant([...hooks, ...gradHooks], interventions, opts.saeSplice ?? this.sessions.plain.saeSplice ?? []),
      ...(opts.grad ? { grad: { metric: opts.grad.metric, hooks: [...new Set(gradHooks.map((h) => h.name))] } } : {}),
    };
    if (opts.startAt) this.checkStart(opts.startAt, batch.length, pos);
    const notComputed = [...hooks, ...gradHooks].find((h) => !computedIn(h.name, variant));
    if (notComputed) fail('BAD_INPUT', { field: notComputed.name }, `is before layer ${variant.startLayer}, where this run starts.`);
    if (new Set(variant.interventions).size !== interventions.length) fail('BAD_INPUT', { field: 'interventions' }, 'two interventions on the same hook point.', 'Combine them into one.');
    checkMemory(runBytes(this.ckpt.config, [...hooks, ...gradHooks], batch.length, pos, opts.logits === 'last'), this.limits().cacheBytes, `A run of ${batch.length} x ${pos} tokens caching ${hooks.length} hook points${gradHooks.length ? ` and ${gradHooks.length} gradients` : ''}`);
    const fed = interventions.map((iv) => this.checkIntervention(iv, batch.length, pos));
    const gradFetch = variant.grad ? [METRIC_OUTPUT, ...variant.grad.hooks.map(gradOutput)] : [];
    const fetch = [...new Set(['logits', ...hooks.map((h) => outputFor(h, variant)), ...gradFetch])].filter((f) => f !== START_INPUT);
    const { tensors, runMs } = await this.run(batch, variant, fed, fetch, opts);
    const cached = new Map<string, TensorData>();
    for (const h of hooks) {
      const out = outputFor(h, variant);
      const t = out === START_INPUT ? opts.startAt!.resid : tensors[out];
      const want = concreteShape(h.shape, batch.length, pos);
      if (t.dims.join() !== want.join()) fail('RUNTIME', { field: h.name }, `engine returned shape [${t.dims}], expected [${want}].`);
      cached.set(h.name, t);
    }
    const trace: Trace = { tokens: batch, logits: tensors.logits, cache: new ActivationCache(cached, this.ckpt.config), runMs };
    if (!variant.grad) return trace;
    const grads = new Map(variant.grad.hooks.map((name) => [name, tensors[gradOutput(name)]]));
    return { ...trace, grads: new ActivationCache(grads, this.ckpt.config), metric: tensors[METRIC_OUTPUT].data };
  }

  /** A gradient metric's tokens and position, against the vocabulary and the run's length. */
  private checkGradMetric(m: NonNullable<TraceOptions['grad']>['metric'], pos: number, lastOnly: boolean): void {
    const vocab = this.ckpt.config.dVocab;
    const ids = m.kind === 'logit' ? [m.token] : m.kind === 'logitDiff' ? [m.answer, m.counterfactual] : m.kind === 'answerProb' ? [m.answer] : [];
    const bad = ids.find((id) => !(Number.isInteger(id) && id >= 0 && id < vocab));
    if (bad !== undefined) fail('BAD_INPUT', { field: 'grad.metric' }, `token id ${bad} is outside the vocabulary [0, ${vocab}).`);
    if (m.kind === 'loss') {
      const from = Math.max(1, m.from ?? 1), to = Math.min(pos, m.to ?? pos);
      if (to <= from) fail('BAD_INPUT', { field: 'grad.metric' }, `loss range [${from}, ${to}) is empty for a run of ${pos} tokens.`);
    } else if (m.position !== undefined && !(Number.isInteger(m.position) && m.position >= 0 && m.position < pos)) {
      fail('BAD_INPUT', { field: 'grad.metric.position' }, `must be in [0, ${pos}), got ${m.position}.`);
    }
    if (lastOnly && (m.kind === 'loss' || m.position !== undefined)) fail('BAD_INPUT', { field: 'logits' }, `the ${m.kind} gradient at this position needs every position's logits.`, "Trace with logits 'all'.");
  }

  /**
   * Whether a run starting at block `start` would compute a cross-layer transcoder with layers before it:
   * their features (which feed every later layer's prediction) are not in the residual it starts from, so
   * such a run starts from the tokens instead (the residuals are the tokens' own: TraceOptions.startAt).
   */
  private startsPastCrossLayerSources(opts: TraceOptions, start: number): boolean {
    const hooks = [...(opts.hooks ?? []), ...(opts.grad?.hooks ?? [])];
    const computed = this.saeVariant(hooks, opts.interventions ?? [], opts.saeSplice ?? this.sessions.plain.saeSplice ?? []).saes ?? [];
    return this.saes.some(({ dict: d }) => d.crossLayer && d.layer! < start && computed.includes(d.hookIn));
  }

  /** The dictionaries a run's graph computes: those it splices, and those whose hooks it reads or intervenes on (a cross-layer transcoder's layers all together). */
  private saeVariant(hooks: readonly HookPoint[], interventions: readonly Intervention[], splice: readonly string[]): Pick<GraphVariant, 'saes' | 'saeSplice'> {
    const attached = new Set(this.saes.map((s) => s.dict.hookIn));
    const unknown = splice.find((h) => !attached.has(h));
    if (unknown) fail('BAD_INPUT', { field: unknown }, 'no dictionary attached at this hook to splice.');
    const used = new Set(splice);
    for (const name of [...hooks.map((h) => h.name), ...interventions.map((iv) => iv.hook)]) {
      const owner = saeOwner(name);
      if (owner !== undefined && attached.has(owner)) used.add(owner);
    }
    return { saes: withWholeCrossLayers([...used], this.saes), saeSplice: [...splice] };
  }

  /** The forward passes of a batch, in chunks of rows; outputs are stitched back into whole tensors. */
  private async run(batch: Token[][], variant: GraphVariant, interventions: Intervention[], fetch: string[], opts: TraceOptions): Promise<{ tensors: Record<string, TensorData>; runMs: number }> {
    const ort = this.sessions.ort;
    const session = await this.sessions.session({ kind: 'model', variant });
    const n = batch.length;
    const pos = batch[0].length;
    const rowsPerChunk = Math.max(1, Math.floor((this.backend === 'cuda' ? CUDA_CHUNK_TOKENS : CPU_CHUNK_TOKENS) / pos));
    const tensors: Record<string, TensorData> = {};
    let runMs = 0;
    for (let first = 0; first < n; first += rowsPerChunk) {
      this.checkpoint(opts.signal);
      const rows = Math.min(rowsPerChunk, n - first);
      const feeds: Record<string, InstanceType<Ort['Tensor']>> = {};
      if (opts.startAt) {
        feeds[START_INPUT] = batchRows(ort, opts.startAt.resid, first, rows, n);
      } else {
        const ids = new BigInt64Array(rows * pos); // [rows, pos]
        for (let r = 0; r < rows; r++) batch[first + r].forEach((t, p) => (ids[r * pos + p] = BigInt(t.id)));
        feeds.input_ids = new ort.Tensor('int64', ids, [rows, pos]);
      }
      if (variant.grad?.metric.kind === 'loss') {
        const ids = new BigInt64Array(rows * pos); // [rows, pos]
        for (let r = 0; r < rows; r++) batch[first + r].forEach((t, p) => (ids[r * pos + p] = BigInt(t.id)));
        feeds[METRIC_TOKENS] = new ort.Tensor('int64', ids, [rows, pos]);
      }
      for (const iv of interventions) {
        feeds[keepInput(iv.hook)] = batchRows(ort, iv.keep, first, rows, n);
        feeds[addInput(iv.hook)] = batchRows(ort, iv.add, first, rows, n);
      }
      if (opts.edges) {
        feeds[EDGE_ABLATED_INPUT] = batchRows(ort, opts.edges.ablated, first, rows, n);
        for (const [group, mask] of opts.edges.masks) feeds[edgeMaskInput(group)] = new ort.Tensor('float32', mask.data, mask.dims);
      }
      const t0 = performance.now();
      const out = await session.run(feeds, fetch);
      runMs += performance.now() - t0;
      for (const name of fetch) {
        const t = out[name];
        const data = t.data as Float32Array;
        if (rows === n) {
          tensors[name] = { dims: t.dims.map(Number), data };
          continue;
        }
        // Every output has the batch as its first dimension: copy this chunk's rows into place.
        tensors[name] ??= { dims: [n, ...t.dims.slice(1).map(Number)], data: new Float32Array((data.length / rows) * n) };
        tensors[name].data.set(data, (data.length / rows) * first);
      }
      await yieldToEvents();
    }
    return { tensors, runMs };
  }

  async contract(a: TensorData, b: TensorData): Promise<TensorData> {
    const [m, k] = a.dims;
    const [n, k2] = b.dims;
    if (a.dims.length !== 2 || b.dims.length !== 2 || k !== k2) fail('RUNTIME', { field: 'contract' }, `shapes [${a.dims}] and [${b.dims}] do not contract.`);
    const ort = this.sessions.ort;
    const session = await this.sessions.session({ kind: 'contract' });
    const out = await session.run({ [CONTRACT_A]: new ort.Tensor('float32', a.data, [m, k]), [CONTRACT_B]: new ort.Tensor('float32', b.data, [n, k]) }, [CONTRACT_OUT]);
    await yieldToEvents();
    return { dims: [m, n], data: out[CONTRACT_OUT].data as Float32Array };
  }

  private checkStart(start: { layer: number; resid: TensorData }, batch: number, pos: number): void {
    const { nLayers, dModel } = this.ckpt.config;
    if (!Number.isInteger(start.layer) || start.layer < 0 || start.layer >= nLayers) fail('BAD_INPUT', { field: 'startAt.layer' }, `must be in [0, ${nLayers}), got ${start.layer}.`);
    const want = [batch, pos, dModel];
    if (start.resid.dims.join() !== want.join() || start.resid.data.length !== batch * pos * dModel) {
      fail('BAD_INPUT', { field: 'startAt.resid' }, `has shape [${start.resid.dims}], expected [${want}].`);
    }
  }

  /** keep/add with numpy broadcasting: leading 1s added to reach the hook's rank, each dim 1 or the hook's. */
  private checkIntervention(iv: Intervention, batch: number, pos: number): Intervention {
    const hook = this.hooks.find((h) => h.name === iv.hook) ?? (isSplitInputHook(iv.hook) ? splitInputHooks(this.ckpt.config).find((h) => h.name === iv.hook) : undefined);
    if (!hook) fail('UNKNOWN_HOOK', { field: iv.hook }, 'no such hook point for an intervention.', `Closest: ${closestHookName(iv.hook, this.hooks)}.`);
    const shape = concreteShape(hook.shape, batch, pos);
    const fit = (t: TensorData, what: string): TensorData => {
      if (t.dims.length > shape.length) fail('BAD_INPUT', { field: `${iv.hook} ${what}` }, `has rank ${t.dims.length}, the hook has rank ${shape.length}.`);
      const dims = [...Array(shape.length - t.dims.length).fill(1), ...t.dims];
      if (dims.some((d, i) => d !== 1 && d !== shape[i])) fail('BAD_INPUT', { field: `${iv.hook} ${what}` }, `shape [${t.dims}] does not broadcast to the hook's [${shape}].`);
      if (t.data.length !== dims.reduce((a, b) => a * b, 1)) fail('BAD_INPUT', { field: `${iv.hook} ${what}` }, `has ${t.data.length} values for shape [${t.dims}].`);
      return { dims, data: t.data };
    };
    return { hook: iv.hook, keep: fit(iv.keep, 'keep'), add: fit(iv.add, 'add') };
  }

  /**
   * Logit lens of batch item 0 (src/engine/logit-lens.ts): 'resid' gives each residual stream point the
   * final norm afresh and the unembedding, 'decomposed' unembeds each component scaled by the final
   * residual's norm scale; returns top-k tokens per component and position, and the value and rank of
   * `targetId` when given. The trace must hold LOGIT_LENS_HOOKS (src/protocol/runner.ts).
   */
  async logitLens(trace: Trace, opts: { k?: number; targetId?: number; mode?: LensMode; signal?: AbortSignal } = {}): Promise<LogitLens> {
    const mode = opts.mode ?? 'resid';
    const input = mode === 'resid' ? residLensInput(trace.cache, 0) : decomposedLensInput(trace.cache, 0);
    const rows = await this.unembed(input.rows, mode, opts.k ?? 5, opts.targetId, opts.signal);
    return { ...rows, mode, labels: input.labels, pos: trace.tokens[0].length };
  }

  /** Top-k (and the target's value and rank) of lens rows [rows, d_model]. */
  private async unembed(resid: TensorData, mode: LensMode, k: number, targetId: number | undefined, signal?: AbortSignal): Promise<LensRows> {
    const session = await this.sessions.session({ kind: mode === 'resid' ? 'unembed' : 'unembedComponents' });
    const ort = this.sessions.ort;
    const [rows, d] = resid.dims;
    const vocab = this.ckpt.config.dVocab;
    if (targetId !== undefined && !(Number.isInteger(targetId) && targetId >= 0 && targetId < vocab)) {
      fail('BAD_INPUT', { field: 'target' }, `token id ${targetId} is outside the vocabulary [0, ${vocab}).`);
    }
    const out: LensRows = {
      k,
      topIds: new Int32Array(rows * k),
      topValues: new Float32Array(rows * k),
      ...(targetId !== undefined ? { targetValues: new Float32Array(rows), targetRanks: new Int32Array(rows) } : {}),
    };
    for (let first = 0; first < rows; first += LENS_CHUNK) {
      this.checkpoint(signal);
      const n = Math.min(LENS_CHUNK, rows - first);
      const x = new ort.Tensor('float32', resid.data.subarray(first * d, (first + n) * d), [n, d]);
      const { logits } = await session.run({ resid: x }, ['logits']);
      summariseLensRows(logits.data as Float32Array, vocab, first, n, out, mode, targetId);
      await yieldToEvents();
    }
    return out;
  }

  /** Top and bottom k logit effects of directions [rows, d_model], through the components' unembedding (the final norm's weight, W_U). */
  async directionLogits(rows: TensorData, k: number, signal?: AbortSignal): Promise<DirectionLogits> {
    const session = await this.sessions.session({ kind: 'unembedComponents' });
    const ort = this.sessions.ort;
    const [n, d] = rows.dims;
    const vocab = this.ckpt.config.dVocab;
    const kk = Math.min(k, vocab);
    const out: DirectionLogits = { k: kk, topIds: new Int32Array(n * kk), topValues: new Float32Array(n * kk), bottomIds: new Int32Array(n * kk), bottomValues: new Float32Array(n * kk) };
    for (let first = 0; first < n; first += LENS_CHUNK) {
      this.checkpoint(signal);
      const m = Math.min(LENS_CHUNK, n - first);
      const { logits } = await session.run({ resid: new ort.Tensor('float32', rows.data.subarray(first * d, (first + m) * d), [m, d]) }, ['logits']);
      const data = logits.data as Float32Array; // [m, d_vocab]
      for (let r = 0; r < m; r++) {
        const row = data.subarray(r * vocab, (r + 1) * vocab);
        const at = (first + r) * kk;
        topK(row, kk).forEach(({ index, value }, i) => ((out.topIds[at + i] = index), (out.topValues[at + i] = value)));
        topK(row.map((v) => -v), kk).forEach(({ index, value }, i) => ((out.bottomIds[at + i] = index), (out.bottomValues[at + i] = -value)));
      }
      await yieldToEvents();
    }
    return out;
  }

  /**
   * Weight tensors holding NaN or infinite values. The first call starts the scan in its own thread over
   * the weights this model already opened (runs never wait for it); later calls share its result.
   */
  nonFiniteWeights(): Promise<NonFiniteTensorInfo[]> {
    this.scan ??= new WeightScan(this.ckpt.weights, this.opts.scanWorkerPath ?? path.join(__dirname, 'scan-worker.js'));
    return this.scan.result;
  }

  async dispose(): Promise<void> {
    await this.scan?.dispose();
    await this.sessions.release();
  }

  /**
   * Gives back the memory of every graph session: onnxruntime's CPU arena keeps each session's largest
   * run (about 3 GB after a few analyses at 512 tokens on GPT-2-small shapes). With the weights in place a
   * session is remade in a fraction of a second when a run needs it.
   */
  releaseSessions(): Promise<void> {
    return this.sessions.release();
  }

  /** Graph sessions held now. */
  get sessionCount(): number {
    return this.sessions.size;
  }
}

