/**
 * The caller's side of the engine worker: a promise per request, cancellation by AbortSignal. Cancelling
 * terminates the worker thread (session.run cannot be interrupted from JavaScript); the next request
 * starts a fresh worker and reloads the model it had.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { EngineError } from '../engine/errors';
import type { LensParams, LensResult, LoadParams, LoadResult, RunParams, RunResult, WorkerReply, WorkerRequest } from '../protocol/engine';
import { assertNever } from '../protocol/assert';

type Pending = { resolve: (r: WorkerReply) => void; reject: (e: Error) => void };

export interface WorkerClientOptions {
  /** The worker bundle; default: worker.js beside this bundle. */
  workerPath?: string;
}

export class WorkerClient {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private loaded: LoadParams | undefined;
  private needsReload = false;
  /** Requests run one at a time, in order: two traces never interleave in the worker. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: WorkerClientOptions = {}) {}

  load(params: LoadParams, signal?: AbortSignal): Promise<LoadResult> {
    return this.enqueue(async () => {
      const reply = await this.request({ type: 'load', id: 0, params }, signal);
      this.loaded = params;
      this.needsReload = false;
      return expect(reply, 'loaded');
    });
  }

  run(params: RunParams, signal?: AbortSignal): Promise<RunResult> {
    return this.enqueue(async () => {
      await this.reloadIfNeeded(signal);
      return expect(await this.request({ type: 'run', id: 0, params }, signal), 'ran');
    });
  }

  lens(params: LensParams, signal?: AbortSignal): Promise<LensResult> {
    return this.enqueue(async () => {
      await this.reloadIfNeeded(signal);
      return expect(await this.request({ type: 'lens', id: 0, params }, signal), 'lensed');
    });
  }

  /** Stops the worker; pending requests fail with CANCELLED. */
  async dispose(): Promise<void> {
    await this.kill('the engine was shut down');
    this.loaded = undefined;
  }

  /** After a cancel or crash the fresh worker has no model: load the last one again. */
  private async reloadIfNeeded(signal?: AbortSignal): Promise<void> {
    if (!this.needsReload || !this.loaded) return;
    expect(await this.request({ type: 'load', id: 0, params: this.loaded }, signal), 'loaded');
    this.needsReload = false;
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const result = this.queue.then(job, job);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private spawn(): Worker {
    const file = this.opts.workerPath ?? path.join(__dirname, 'worker.js');
    const w = new Worker(file);
    w.on('message', (reply: WorkerReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      p.resolve(reply);
    });
    const crash = (why: string) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      this.needsReload = true;
      for (const p of this.pending.values()) p.reject(new EngineError({ code: 'RUNTIME', message: `the engine worker stopped (${why}); the next run starts a fresh one.` }));
      this.pending.clear();
    };
    w.on('error', (e) => crash(e.message));
    w.on('exit', (code) => crash(`exit code ${code}`));
    return w;
  }

  private request(msg: WorkerRequest, signal?: AbortSignal): Promise<WorkerReply> {
    if (signal?.aborted) return Promise.reject(cancelled());
    this.worker ??= this.spawn();
    const id = this.nextId++;
    const worker = this.worker;
    return new Promise<WorkerReply>((resolve, reject) => {
      const onAbort = () => {
        this.pending.delete(id);
        reject(cancelled());
        void this.kill('cancelled');
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (f: () => void) => {
        signal?.removeEventListener('abort', onAbort);
        f();
      };
      this.pending.set(id, { resolve: (r) => done(() => resolve(r)), reject: (e) => done(() => reject(e)) });
      worker.postMessage({ ...msg, id });
    });
  }

  private async kill(why: string): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.worker = undefined;
    this.needsReload = true;
    for (const p of this.pending.values()) p.reject(new EngineError({ code: 'CANCELLED', message: why }));
    this.pending.clear();
    await w.terminate();
  }
}

function cancelled(): EngineError {
  return new EngineError({ code: 'CANCELLED', message: 'cancelled.' });
}

function expect(reply: WorkerReply, type: 'loaded'): LoadResult;
function expect(reply: WorkerReply, type: 'ran'): RunResult;
function expect(reply: WorkerReply, type: 'lensed'): LensResult;
function expect(reply: WorkerReply, type: WorkerReply['type']): LoadResult | RunResult | LensResult {
  switch (reply.type) {
    case 'failed':
      throw EngineError.fromInfo(reply.error);
    case 'loaded':
    case 'ran':
    case 'lensed':
      if (reply.type !== type) throw new EngineError({ code: 'RUNTIME', message: `engine worker replied ${reply.type}, expected ${type}.` });
      return reply.result;
    default:
      return assertNever(reply, 'worker reply');
  }
}
