/**
 * What an analysis needs from the engine: the checkpoint and a trace function. The worker-backed Engine
 * (src/worker/engine.ts) implements it; analyses in src/engine/analysis/ depend only on this.
 */
import type { ActivationCache } from './cache';
import type { HookPoint } from './hooks';
import type { Checkpoint } from './model';
import type { Token } from './tokenizer';
import type { Intervention } from '../protocol/engine';
import type { TensorData } from '../protocol/tensor';

export interface TraceOptions {
  /** Hook points to cache (default none: logits only). */
  hooks?: readonly HookPoint[];
  /** Interventions applied during the run; cached hooks hold the values after them. */
  interventions?: readonly Intervention[];
  /** 'last': logits of the last position only ([batch, 1, d_vocab]), much cheaper. Default 'all'. */
  logits?: 'all' | 'last';
  /**
   * Start at a block from given residuals (blocks.L.hook_resid_pre, [batch, pos, d_model]) instead of the
   * tokens' embeddings: earlier layers are not run and their hooks cannot be cached.
   */
  startAt?: { layer: number; resid: TensorData };
  /**
   * The intervention and startAt arrays were built for this run only: hand their buffers to the worker
   * instead of copying them (they are unusable here afterwards). Saves the calling thread a copy of
   * tens of MB per run in sweeps.
   */
  handOver?: boolean;
  signal?: AbortSignal;
}

export interface Trace {
  /** [batch][pos] tokens that ran. */
  tokens: Token[][];
  /** [batch, pos, d_vocab], or [batch, 1, d_vocab] when only the last position was asked for */
  logits: TensorData;
  cache: ActivationCache;
  runMs: number;
}

export interface Runner {
  readonly ckpt: Checkpoint;
  trace(batch: Token[][], opts?: TraceOptions): Promise<Trace>;
}
