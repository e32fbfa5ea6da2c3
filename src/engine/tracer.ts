/**
 * What an analysis needs from a loaded model: the checkpoint, prompt tokenization and a trace function.
 * The worker's LoadedModel (src/worker/loaded-model.ts) implements it; analyses in src/engine/analysis/
 * depend only on this.
 */
import type { ActivationCache } from './cache';
import type { GradMetric } from './analysis/metrics';
import type { HookPoint } from './hooks';
import type { Checkpoint } from './model';
import type { Token } from './tokenizer';
import type { Intervention } from '../protocol/runner';
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
  /** Input hooks of the attached dictionaries to splice in this run (default: those attached in splice mode); the others observe. */
  saeSplice?: readonly string[];
  /**
   * Also run a backward pass: the gradient of `metric` (each batch row's own metric; their sum seeds the
   * backward) at each of `hooks`, with the interventions in effect (the gradient with respect to each
   * hook's value after its intervention), as PyTorch autograd gives on TransformerLens' model with
   * use_attn_result. The hooks need not be among the cached ones.
   */
  grad?: { metric: GradMetric; hooks: readonly HookPoint[] };
  signal?: AbortSignal;
}

export interface Trace {
  /** [batch][pos] tokens that ran. */
  tokens: Token[][];
  /** [batch, pos, d_vocab], or [batch, 1, d_vocab] when only the last position was asked for */
  logits: TensorData;
  cache: ActivationCache;
  /** With `grad`: each gradient hook's d metric / d value, with the hook's dims (batch included), keyed by hook name. */
  grads?: ActivationCache;
  /** With `grad`: each batch row's metric [batch]. */
  metric?: Float32Array;
  runMs: number;
}

export interface Tracer {
  readonly ckpt: Checkpoint;
  /** A prompt's tokens (BOS first), checked against the context and the prompt-length limit. */
  tokenize(text: string): Token[];
  trace(batch: Token[][], opts?: TraceOptions): Promise<Trace>;
}
