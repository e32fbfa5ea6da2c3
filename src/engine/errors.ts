/**
 * The one error type the engine throws on purpose. Every message names the file or argument at fault,
 * what is wrong, and what to do, so the CLI can print it as one line and the editor as one notification.
 */
export type EngineErrorCode =
  | 'NOT_FOUND' // a file or folder does not exist
  | 'BAD_WEIGHTS' // safetensors file malformed, truncated or inconsistent with the config
  | 'BAD_CONFIG' // config.json missing fields or with impossible values
  | 'UNSUPPORTED' // an architecture or option the engine does not implement
  | 'BAD_TOKENIZER' // tokenizer files unreadable
  | 'BAD_INPUT' // a prompt, token list or argument that cannot run (too long, out of vocabulary, ...)
  | 'UNKNOWN_HOOK' // a hook name or glob that matches nothing
  | 'CANCELLED' // the caller cancelled the work
  | 'RUNTIME'; // onnxruntime or the worker failed

export interface EngineErrorInfo {
  code: EngineErrorCode;
  message: string;
  /** The file the problem is in, when there is one. */
  file?: string;
  /** The field, tensor or argument the problem is in, when there is one. */
  field?: string;
}

export class EngineError extends Error {
  readonly code: EngineErrorCode;
  readonly file?: string;
  readonly field?: string;

  constructor(info: EngineErrorInfo) {
    super(info.message);
    this.name = 'EngineError';
    this.code = info.code;
    this.file = info.file;
    this.field = info.field;
  }

  toInfo(): EngineErrorInfo {
    return { code: this.code, message: this.message, file: this.file, field: this.field };
  }

  static fromInfo(info: EngineErrorInfo): EngineError {
    return new EngineError(info);
  }
}

export function isEngineError(e: unknown): e is EngineError {
  return e instanceof EngineError;
}

/** Builds the conventional "FILE: FIELD: problem. fix" message. */
export function fail(code: EngineErrorCode, where: { file?: string; field?: string }, problem: string, fix?: string): never {
  const parts = [where.file, where.field].filter((p): p is string => !!p);
  const prefix = parts.length ? parts.join(': ') + ': ' : '';
  throw new EngineError({ code, message: prefix + problem + (fix ? ` ${fix}` : ''), file: where.file, field: where.field });
}
