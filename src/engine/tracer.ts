/**
 * What an analysis needs from a loaded model: the checkpoint, prompt tokenization and a trace function.
 * The worker's LoadedModel (src/worker/loaded-model.ts) implements it; analyses in src/engine/analysis/
 * depend only on this.
 */
import type { ActivationCache } from './cache';
import type { GradMetric } from './analysis/metrics';
import type { HookPoint } from './hooks';
import type { Checkpoint } from './model';
import type { AttachedSae } from './sae/attach';
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
   * tokens' embeddings: earlier layers are not run and their hooks cannot be cached. The residuals are the
   * tokens' own (a run of the same tokens and dictionaries up to L): a run that computes a cross-layer
   * transcoder with layers before L, whose features are not in the residual, runs from the tokens instead.
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
  /** Edge ablation (graph/edge-ablation.ts): the run measures a circuit of edges with every other edge ablated. */
  edges?: EdgeAblationFeed;
}

/** The inputs of the edge-ablation variant. */
export interface EdgeAblationFeed {
  /** Ablated source values z~_u: [batch or 1, pos, n_sources, d_model]. */
  ablated: TensorData;
  /** Per destination group ("0.attn", "0.mlp", ..., "logits"), [n_dest, n_sources_seen]: 1 where the edge is ablated. */
  masks: ReadonlyMap<string, TensorData>;
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
  /** a · bᵀ for row-major a [m, k] and b [n, k]: [m, n], on the model's backend (analyses' large products). */
  contract(a: TensorData, b: TensorData): Promise<TensorData>;
  /** The model's hook points with the attached dictionaries' (default: ckpt.hooks, none attached). */
  readonly hooks?: readonly HookPoint[];
  /** Dictionaries attached at hook points, in order (src/engine/sae/attach.ts). */
  readonly saes?: readonly AttachedSae[];
  /**
   * Logit effects of residual-stream directions: rows [rows, d_model] (already centred where the final
   * norm is a LayerNorm) times the final norm's weight, through W_U (no bias, no soft-cap); the top and
   * bottom k vocabulary entries of each row.
   */
  directionLogits?(rows: TensorData, k: number, signal?: AbortSignal): Promise<DirectionLogits>;
}

export interface DirectionLogits {
  k: number;
  topIds: Int32Array; // [rows, k], largest first
  topValues: Float32Array;
  bottomIds: Int32Array; // [rows, k], smallest first
  bottomValues: Float32Array;
}
