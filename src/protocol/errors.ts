/**
 * The one error type of every boundary. Engine code throws it on purpose; replies carry its plain data
 * ({code, message, file?, field?}) and the receiving side turns that back into the same class, so the
 * editor and the CLI tell cancellation, bad input and crashes apart the same way.
 */
export type ErrorCode =
  | 'NOT_FOUND' // a file or folder does not exist
  | 'BAD_WEIGHTS' // safetensors file malformed, truncated or inconsistent with the config
  | 'BAD_CONFIG' // config.json missing fields or with impossible values
  | 'UNSUPPORTED' // an architecture or option the engine does not implement
  | 'BAD_TOKENIZER' // tokenizer files unreadable
  | 'BAD_INPUT' // a prompt, token list or argument that cannot run (too long, out of vocabulary, ...)
  | 'UNKNOWN_HOOK' // a hook name or glob that matches nothing
  | 'OVER_LIMIT' // a run that would exceed a memory or length limit the user set
  | 'NOT_KEPT' // a kept run that was released (its panel closed, or over the kept-runs budget)
  | 'STALE' // a panel restored after a reload: its run is not kept across reloads
  | 'CANCELLED' // the caller cancelled the work
  | 'RUNTIME'; // onnxruntime or the worker failed

export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  /** The file the problem is in, when there is one. */
  file?: string;
  /** The field, tensor, setting or argument the problem is in, when there is one. */
  field?: string;
}

export class CircuitLensError extends Error {
  readonly code: ErrorCode;
  readonly file?: string;
  readonly field?: string;

  constructor(info: ErrorInfo) {
    super(info.message);
    this.name = 'CircuitLensError';
    this.code = info.code;
    this.file = info.file;
    this.field = info.field;
  }

  toInfo(): ErrorInfo {
    return { code: this.code, message: this.message, ...(this.file ? { file: this.file } : {}), ...(this.field ? { field: this.field } : {}) };
  }
}

export function isCircuitLensError(e: unknown): e is CircuitLensError {
  return e instanceof CircuitLensError;
}

/** Any thrown value as reply data; errors we did not throw on purpose keep only their first line. */
export function errorInfoOf(e: unknown, prefix = ''): ErrorInfo {
  if (e instanceof CircuitLensError) return e.toInfo();
  return { code: 'RUNTIME', message: `${prefix}${String((e as Error)?.message ?? e).split('\n')[0]}` };
}

export function cancelledError(): CircuitLensError {
  return new CircuitLensError({ code: 'CANCELLED', message: 'cancelled.' });
}
