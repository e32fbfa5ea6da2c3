/**
 * The engine throws CircuitLensError (src/protocol/errors.ts) on purpose. Every message names the file or
 * argument at fault, what is wrong, and what to do, so the CLI can print it as one line and the editor
 * as one notification.
 */
import { CircuitLensError, ErrorCode } from '../protocol/errors';

export { CircuitLensError as EngineError, isCircuitLensError as isEngineError } from '../protocol/errors';
export type { ErrorCode as EngineErrorCode, ErrorInfo as EngineErrorInfo } from '../protocol/errors';

/** Builds the conventional "FILE: FIELD: problem. fix" message. */
export function fail(code: ErrorCode, where: { file?: string; field?: string }, problem: string, fix?: string): never {
  const parts = [where.file, where.field].filter((p): p is string => !!p);
  const prefix = parts.length ? parts.join(': ') + ': ' : '';
  throw new CircuitLensError({ code, message: prefix + problem + (fix ? ` ${fix}` : ''), file: where.file, field: where.field });
}
