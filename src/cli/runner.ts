/**
 * The CLI's runner client: the same worker and requests the editor uses, configured from the command's
 * flags (--backend, --threads, --memory-limit).
 */
import { RunnerClient } from '../client/runner-client';
import { fail } from '../engine/errors';
import type { BackendPreference } from '../protocol/runner';
import { intArg } from './args';
import { BUNDLED_MODELS_DIR } from './paths';

/** Flags every model-running command takes. */
export const RUNNER_FLAGS = {
  threads: { type: 'string' },
  backend: { type: 'string', default: 'auto' },
  'memory-limit': { type: 'string' },
} as const;
export const RUNNER_USAGE = '[--threads N] [--backend auto|cpu|cuda] [--memory-limit MB]';

/** Largest activation cache of one run when --memory-limit is not given, in MB. */
const DEFAULT_MEMORY_LIMIT_MB = 8192;

export function runnerClient(values: { threads?: string; backend?: string; 'memory-limit'?: string }): RunnerClient {
  const backend = values.backend ?? 'auto';
  if (backend !== 'auto' && backend !== 'cpu' && backend !== 'cuda') fail('BAD_INPUT', { field: '--backend' }, `must be auto, cpu or cuda, got ${JSON.stringify(backend)}.`);
  const threads = values.threads === undefined ? undefined : intArg(values.threads, '--threads', 1, 1, 256);
  const limitMb = intArg(values['memory-limit'], '--memory-limit', DEFAULT_MEMORY_LIMIT_MB, 1, 1 << 24);
  return new RunnerClient({
    config: {
      bundledModelsDir: BUNDLED_MODELS_DIR, trusted: true, backend: backend as BackendPreference, threads,
      cacheBytes: { value: limitMb * 2 ** 20, name: '--memory-limit' },
      // The CLI keeps the runs of one command until it ends.
      keptBytes: Number.MAX_SAFE_INTEGER,
    },
  });
}

/** Runs `f` with a client and always stops its worker. */
export async function withRunner<T>(values: Parameters<typeof runnerClient>[0], f: (c: RunnerClient) => Promise<T>): Promise<T> {
  const client = runnerClient(values);
  try {
    return await f(client);
  } finally {
    await client.dispose();
  }
}
