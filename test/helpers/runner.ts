/**
 * The worker boundary as the editor and the CLI use it: a RunnerClient on the built worker
 * (dist/worker.js, so `node tools/build.mjs` first), one intra-op thread, always disposed.
 */
import * as path from 'node:path';
import { RunnerClient } from '../../src/client/runner-client';
import { CircuitLensError } from '../../src/protocol/errors';
import type { Handlers } from '../../src/protocol/rpc';
import type { RunnerConfig, RunnerMethods, TraceResult } from '../../src/protocol/runner';
import { Runner } from '../../src/worker/runner';
import type { TensorData } from '../../src/protocol/tensor';
import { ROOT, WORKER } from './reference';

export const BUNDLED_MODELS = path.join(ROOT, 'media', 'models');

export function testConfig(config: Partial<RunnerConfig> = {}): RunnerConfig {
  return { bundledModelsDir: BUNDLED_MODELS, trusted: true, backend: 'auto', threads: 1, keptBytes: 1024 * 2 ** 20, ...config };
}

export function runnerClient(config: Partial<RunnerConfig> = {}): RunnerClient {
  return new RunnerClient({ workerPath: WORKER, config: testConfig(config) });
}

export async function withRunner<T>(config: Partial<RunnerConfig>, f: (c: RunnerClient) => Promise<T>): Promise<T> {
  const client = runnerClient(config);
  try {
    return await f(client);
  } finally {
    await client.dispose();
  }
}

export const isCancelled = (e: unknown) => e instanceof CircuitLensError && e.code === 'CANCELLED';

/** One cached hook point of a kept run, read across the boundary. */
export async function hookOf(client: RunnerClient, r: TraceResult, hook: string): Promise<TensorData> {
  if (r.runId === undefined) throw new Error('the trace was not kept: ask with keep: true');
  return (await client.request('run/slice', { runId: r.runId, slice: { kind: 'hook', hook } })) as TensorData;
}

/** The last position's logits of a trace asked with topK = d_vocab (every token's logit, by id). */
export function lastLogits(r: TraceResult, vocab: number): Float32Array {
  if (r.top.length !== vocab) throw new Error(`the trace has ${r.top.length} predictions, not all ${vocab}: ask with topK: ${vocab}`);
  const out = new Float32Array(vocab);
  for (const p of r.top) out[p.id] = p.logit;
  return out;
}

/**
 * The runner's handlers called in this thread, as the worker's RpcPeer calls them (no worker, so a test
 * can hold engine objects next to it), configured with `config`.
 */
export function runnerInThread(config: RunnerConfig, options?: ConstructorParameters<typeof Runner>[0]) {
  const runner = new Runner(options);
  const h = runner.handlers();
  const ctx = { id: 1, signal: new AbortController().signal, event: () => undefined };
  const call = async <K extends keyof RunnerMethods>(method: K, params: RunnerMethods[K]['params']): Promise<RunnerMethods[K]['result']> =>
    (h[method] as Handlers<RunnerMethods>[K])(params, ctx as never);
  const configured = call('configure', config);
  return { call, runner, configured };
}
