/**
 * What an analysis needs from a loaded model: the checkpoint, prompt tokenization and a trace function.
 * The worker's LoadedModel (src/worker/loaded-model.ts) implements it; analyses in src/engine/analysis/
 * depend only on this.
 */
import type { ActivationCache } from './cache';
import type { HookPoint } from './hooks';
import type { MetricSpec } from './analysis/metrics';
import type { Checkpoint } from './model';
import type { Token } from './tokenizer';
import type { Intervention } from '../protocol/runner';
import type { TensorData } from '../protocol/tensor';

/** What a backward pass differentiates: a metric of `metrics.ts`, or one token's logit. */
export type GradMetric = MetricSpec | { kind: 'logit'; token: number; position?: number };

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
  /** Input hooks of the attached dictionaries to splice in this run (default: those attached in splice mode); the others observe. */
  saeSplice?: readonly string[];
  /** Gradients of the metric at these hooks (each batch row's gradient is its own metric's); interventions stay in effect. */
  grad?: { metric: GradMetric; hooks: readonly HookPoint[] };
  signal?: AbortSignal;
}

export interface Trace {
  /** [batch][pos] tokens that ran. */
  tokens: Token[][];
  /** [batch, pos, d_vocab], or [batch, 1, d_vocab] when only the last position was asked for */
  logits: TensorData;
  cache: ActivationCache;
  /** With `grad`: hook name -> the metric's gradient, with the hook's dims. */
  grads?: ActivationCache;
  runMs: number;
}

export interface Tracer {
  readonly ckpt: Checkpoint;
  /** A prompt's tokens (BOS first), checked against the context and the prompt-length limit. */
  tokenize(text: string): Token[];
  trace(batch: Token[][], opts?: TraceOptions): Promise<Trace>;
}
