/**
 * The promise-based engine API used by the CLI and the extension host: open a checkpoint, tokenize,
 * trace with a chosen set of hook points, cancel with an AbortSignal. Model work happens in the worker.
 */
import { ActivationCache } from '../engine/cache';
import type { ResolveOptions } from '../engine/checkpoint';
import { fail } from '../engine/errors';
import { closestHookName, concreteShape } from '../engine/hooks';
import { checkMemory, runBytes } from '../engine/memory';
import { Checkpoint, openCheckpoint, tokenizePrompt } from '../engine/model';
import { LogitLens, lensInput } from '../engine/logit-lens';
import type { Token } from '../engine/tokenizer';
import type { Intervention, LoadResult, SessionOptions } from '../protocol/engine';
import { GraphVariant, START_INPUT, computedIn, outputFor } from '../engine/graph/hooked-graph';
import type { TensorData } from '../protocol/tensor';
import { WorkerClient } from './client';
import { WeightScan } from './weight-scan';
import type { NonFiniteTensor } from '../engine/non-finite';
import type { Runner, Trace, TraceOptions } from '../engine/runner';

export type { Trace, TraceOptions } from '../engine/runner';

/** Hook points a trace needs for logitLens(): every residual stream point. */
export const LOGIT_LENS_HOOKS = 'blocks.*.hook_resid_pre,blocks.*.hook_resid_post';

export interface OpenOptions {
  resolve?: ResolveOptions;
  session?: SessionOptions;
  workerPath?: string;
  signal?: AbortSignal;
  /** Refuse a trace whose logits and cached activations would exceed this many bytes. */
  memoryLimitBytes?: number;
}

/** Buffers that whole arrays own (a view into a larger buffer is copied, never detached). */
function handOverBuffers(interventions: readonly Intervention[], resid: TensorData | undefined): ArrayBuffer[] {
  const arrays = [...interventions.flatMap((iv) => [iv.keep.data, iv.add.data]), ...(resid ? [resid.data] : [])];
  const owned = arrays.filter((a) => a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer);
  return [...new Set(owned.map((a) => a.buffer as ArrayBuffer))];
}

export class Engine implements Runner {
  private constructor(
    readonly ckpt: Checkpoint,
    readonly loadInfo: LoadResult,
    private readonly client: WorkerClient,
    private readonly workerPath: string | undefined,
    private readonly memoryLimitBytes?: number,
  ) {}

  private scan: WeightScan | undefined;

  static async open(spec: string, opts: OpenOptions = {}): Promise<Engine> {
    const ckpt = openCheckpoint(spec, opts.resolve);
    const client = new WorkerClient({ workerPath: opts.workerPath });
    try {
      const info = await client.load({ dir: ckpt.dir, options: opts.session ?? {} }, opts.signal);
      return new Engine(ckpt, info, client, opts.workerPath, opts.memoryLimitBytes);
    } catch (e) {
      // A cancelled load returns now; the worker is stopped once onnxruntime hands its thread back.
      void client.dispose();
      throw e;
    }
  }

  tokenize(text: string, prependBos = true): Token[] {
    return tokenizePrompt(this.ckpt, text, prependBos);
  }

  /** Runs a batch of equally long token sequences and caches the requested hook points. */
  async trace(batch: Token[][], opts: TraceOptions = {}): Promise<Trace> {
    const pos = batch[0]?.length ?? 0;
    if (pos === 0 || batch.some((row) => row.length !== pos)) fail('BAD_INPUT', { field: 'tokens' }, 'every sequence of a batch needs the same, non-zero number of tokens.');
    const hooks = opts.hooks ?? [];
    const interventions = opts.interventions ?? [];
    const variant: GraphVariant = {
      attnResult: hooks.some((h) => h.needsAttnResult) || interventions.some((iv) => iv.hook.endsWith('attn.hook_result')),
      interventions: interventions.map((iv) => iv.hook),
      lastPositionLogits: opts.logits === 'last',
      startLayer: opts.startAt?.layer,
    };
    if (opts.startAt) this.checkStart(opts.startAt, batch.length, pos);
    const notComputed = hooks.find((h) => !computedIn(h.name, variant));
    if (notComputed) fail('BAD_INPUT', { field: notComputed.name }, `is before layer ${variant.startLayer}, where this run starts.`);
    if (new Set(variant.interventions).size !== interventions.length) fail('BAD_INPUT', { field: 'interventions' }, 'two interventions on the same hook point.', 'Combine them into one.');
    checkMemory(runBytes(this.ckpt.config, hooks, batch.length, pos, opts.logits === 'last'), this.memoryLimitBytes, `A run of ${batch.length} x ${pos} tokens caching ${hooks.length} hook points`);
    const fetch = [...new Set(['logits', ...hooks.map((h) => outputFor(h, variant))])];
    const ids = batch.flatMap((row) => row.map((t) => t.id));
    const fed = interventions.map((iv) => this.checkIntervention(iv, batch.length, pos));
    const fromGraph = fetch.filter((f) => f !== START_INPUT);
    const handed = opts.handOver ? handOverBuffers(fed, fetch.includes(START_INPUT) ? undefined : opts.startAt?.resid) : [];
    const result = await this.client.run({ ids, batch: batch.length, pos, variant, interventions: fed, fetch: fromGraph, startResid: opts.startAt?.resid }, opts.signal, handed);
    const tensors = new Map<string, TensorData>();
    for (const h of hooks) {
      const out = outputFor(h, variant);
      const t = out === START_INPUT ? opts.startAt!.resid : result.tensors[out];
      const want = concreteShape(h.shape, batch.length, pos);
      if (t.dims.join() !== want.join()) fail('RUNTIME', { field: h.name }, `engine returned shape [${t.dims}], expected [${want}].`);
      tensors.set(h.name, t);
    }
    return { tokens: batch, logits: result.tensors.logits, cache: new ActivationCache(tensors, this.ckpt.config), runMs: result.runMs };
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
    const hook = this.ckpt.hooks.find((h) => h.name === iv.hook);
    if (!hook) fail('UNKNOWN_HOOK', { field: iv.hook }, 'no such hook point for an intervention.', `Closest: ${closestHookName(iv.hook, this.ckpt.hooks)}.`);
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
   * Logit lens of batch item 0: each residual component (before every layer, and the final one) gets
   * the final LayerNorm afresh and the unembedding; returns top-k tokens per component and position,
   * and the probability and rank of `targetId` when given. The trace must hold LOGIT_LENS_HOOKS.
   */
  async logitLens(trace: Trace, opts: { k?: number; targetId?: number; signal?: AbortSignal } = {}): Promise<LogitLens> {
    const { labels, resid } = trace.cache.accumulatedResid(); // [component, batch, pos, d_model]
    const k = opts.k ?? 5;
    const rows = await this.client.lens({ resid: lensInput(resid, 0), k, targetId: opts.targetId }, opts.signal);
    return { ...rows, labels, pos: resid.dims[2] };
  }

  /**
   * Weight tensors holding NaN or infinite values. The first call starts the scan in its own thread (runs
   * never wait for it); later calls share its result. Engines nobody asks never read their weights twice.
   */
  nonFiniteWeights(): Promise<NonFiniteTensor[]> {
    this.scan ??= new WeightScan(this.ckpt.dir, this.workerPath);
    return this.scan.result;
  }

  async dispose(): Promise<void> {
    await this.scan?.dispose();
    await this.client.dispose();
  }
}
