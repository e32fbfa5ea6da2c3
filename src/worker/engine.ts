/**
 * The promise-based engine API used by the CLI and the extension host: open a checkpoint, tokenize,
 * trace with a chosen set of hook points, cancel with an AbortSignal. Model work happens in the worker.
 */
import { ActivationCache } from '../engine/cache';
import type { ResolveOptions } from '../engine/checkpoint';
import { fail } from '../engine/errors';
import { HookPoint, concreteShape } from '../engine/hooks';
import { Checkpoint, openCheckpoint, tokenizePrompt } from '../engine/model';
import { LogitLens, lensInput } from '../engine/logit-lens';
import type { Token } from '../engine/tokenizer';
import type { LoadResult, SessionOptions } from '../protocol/engine';
import type { TensorData } from '../protocol/tensor';
import { WorkerClient } from './client';

/** Hook points a trace needs for logitLens(): every residual stream point. */
export const LOGIT_LENS_HOOKS = 'blocks.*.hook_resid_pre,blocks.*.hook_resid_post';

export interface OpenOptions {
  resolve?: ResolveOptions;
  session?: SessionOptions;
  workerPath?: string;
  signal?: AbortSignal;
}

export interface TraceOptions {
  /** Hook points to cache (default none: logits only). */
  hooks?: readonly HookPoint[];
  signal?: AbortSignal;
}

export interface Trace {
  /** [batch][pos] tokens that ran. */
  tokens: Token[][];
  /** [batch, pos, d_vocab] */
  logits: TensorData;
  cache: ActivationCache;
  runMs: number;
}

export class Engine {
  private constructor(readonly ckpt: Checkpoint, readonly loadInfo: LoadResult, private readonly client: WorkerClient) {}

  static async open(spec: string, opts: OpenOptions = {}): Promise<Engine> {
    const ckpt = openCheckpoint(spec, opts.resolve);
    const client = new WorkerClient({ workerPath: opts.workerPath });
    try {
      const info = await client.load({ dir: ckpt.dir, options: opts.session ?? {} }, opts.signal);
      return new Engine(ckpt, info, client);
    } catch (e) {
      await client.dispose();
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
    const fetch = [...new Set(['logits', ...hooks.map((h) => h.output)])];
    const result = await this.client.run({ ids: batch.flatMap((row) => row.map((t) => t.id)), batch: batch.length, pos, fetch }, opts.signal);
    const tensors = new Map<string, TensorData>();
    for (const h of hooks) {
      const t = result.tensors[h.output];
      const want = concreteShape(h.shape, batch.length, pos);
      if (t.dims.join() !== want.join()) fail('RUNTIME', { field: h.name }, `engine returned shape [${t.dims}], expected [${want}].`);
      tensors.set(h.name, t);
    }
    return { tokens: batch, logits: result.tensors.logits, cache: new ActivationCache(tensors, this.ckpt.config), runMs: result.runMs };
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

  dispose(): Promise<void> {
    return this.client.dispose();
  }
}
