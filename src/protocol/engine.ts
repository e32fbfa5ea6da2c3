/**
 * Messages between the engine client (extension host or CLI thread) and the engine worker, which owns
 * every onnxruntime session. Requests carry an id; each reply carries that id and a result or an error.
 */
import type { EngineErrorInfo } from '../engine/errors';
import type { TensorData } from './tensor';
import type { LensRows } from '../engine/logit-lens';
import type { GraphVariant } from '../engine/graph/hooked-graph';

export type Backend = 'cpu' | 'cuda';
export type BackendPreference = Backend | 'auto';

export interface SessionOptions {
  /** Intra-op threads; default: cores minus one, at least one. */
  threads?: number;
  /** Prepack weights at session creation: faster runs, slower load and one more copy of the weights in RAM. */
  prepack?: boolean;
  backend?: BackendPreference;
}

export interface LoadParams {
  /** A resolved checkpoint folder. */
  dir: string;
  options: SessionOptions;
}

export interface LoadResult {
  backend: Backend;
  /** Why the preferred backend was not used, when it was not. */
  backendNote?: string;
  /** Wall time from reading the headers to a ready session. */
  loadMs: number;
}

/** x' = x * keep + add at a hook point; keep and add broadcast to the hook's shape (batch first). */
export interface Intervention {
  hook: string;
  keep: TensorData;
  add: TensorData;
}

export interface RunParams {
  /** Token ids, row-major [batch, pos]. */
  ids: number[];
  batch: number;
  pos: number;
  variant: GraphVariant;
  /** One per name in variant.interventions. */
  interventions: Intervention[];
  /** blocks.{variant.startLayer}.hook_resid_pre [batch, pos, d_model] when the variant starts later. */
  startResid?: TensorData;
  /** Graph outputs to fetch: `logits` and hook outputs. */
  fetch: string[];
}

export interface RunResult {
  tensors: Record<string, TensorData>;
  runMs: number;
}

export interface LensParams {
  /** Residual rows [rows, d_model]; each gets the final LayerNorm afresh, then the unembedding. */
  resid: TensorData;
  k: number;
  targetId?: number;
}

export type LensResult = LensRows;

export type WorkerRequest =
  | { type: 'load'; id: number; params: LoadParams }
  | { type: 'run'; id: number; params: RunParams }
  | { type: 'lens'; id: number; params: LensParams };

export type WorkerReply =
  | { type: 'loaded'; id: number; result: LoadResult }
  | { type: 'ran'; id: number; result: RunResult }
  | { type: 'lensed'; id: number; result: LensResult }
  | { type: 'failed'; id: number; error: EngineErrorInfo };
