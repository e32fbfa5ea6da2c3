/**
 * The caller's side of the engine worker: a promise per request, cancellation by AbortSignal.
 *
 * Cancelling rejects the promise at once and raises a flag in shared memory that the worker checks
 * between chunks of work (batch rows, logit-lens rows), so it stops at the next chunk boundary. The
 * worker thread is never terminated while onnxruntime is inside session.run: terminating a thread in
 * the middle of that native call aborts the whole process (measured with onnxruntime-node 1.30).
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
  /** [0] = id of the request the worker should abandon. */
  private cancelFlag = new Int32Array(new SharedArrayBuffer(4));
  private nextId = 1;
  /** Requests whose reply has not arrived, including abandoned (cancelled) ones. */
  private readonly outstanding = new Map<number, Pending | undefined>();
  private idleWaiters: (() => void)[] = [];
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

  /** `transfer`: buffers of `params` moved to the worker instead of copied (detached here once posted). */
  run(params: RunParams, signal?: AbortSignal, transfer: ArrayBuffer[] = []): Promise<RunResult> {
    return this.enqueue(async () => {
      await this.reloadIfNeeded(signal);
      return expect(await this.request({ type: 'run', id: 0, params }, signal, transfer), 'ran');
    });
  }

  lens(params: LensParams, signal?: AbortSignal): Promise<LensResult> {
    return this.enqueue(async () => {
      await this.reloadIfNeeded(signal);
      return expect(await this.request({ type: 'lens', id: 0, params }, signal), 'lensed');
    });
  }

  /** Cancels what is in flight, waits for the worker to return from native code, then stops it. */
  async dispose(): Promise<void> {
    for (const id of this.outstanding.keys()) Atomics.store(this.cancelFlag, 0, id);
    await this.idle();
    const w = this.worker;
    this.worker = undefined;
    this.loaded = undefined;
    await w?.terminate();
  }

  /** After a crash the fresh worker has no model: load the last one again. */
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

  private idle(): Promise<void> {
    if (this.outstanding.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private settle(id: number): Pending | undefined {
    const p = this.outstanding.get(id);
    this.outstanding.delete(id);
    if (this.outstanding.size === 0) for (const w of this.idleWaiters.splice(0)) w();
    return p;
  }

  private spawn(): Worker {
    const file = this.opts.workerPath ?? path.join(__dirname, 'worker.js');
    this.cancelFlag = new Int32Array(new SharedArrayBuffer(4));
    const w = new Worker(file, { workerData: { cancelFlag: this.cancelFlag } });
    w.on('message', (reply: WorkerReply) => this.settle(reply.id)?.resolve(reply));
    const crash = (why: string) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      this.needsReload = true;
      for (const id of [...this.outstanding.keys()]) {
        this.settle(id)?.reject(new EngineError({ code: 'RUNTIME', message: `the engine worker stopped (${why}); the next run starts a fresh one.` }));
      }
    };
    w.on('error', (e) => crash(e.message));
    w.on('exit', (code) => crash(`exit code ${code}`));
    return w;
  }

  private request(msg: WorkerRequest, signal?: AbortSignal, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (signal?.aborted) return Promise.reject(cancelled());
    this.worker ??= this.spawn();
    const id = this.nextId++;
    const worker = this.worker;
    return new Promise<WorkerReply>((resolve, reject) => {
      const onAbort = () => {
        // Abandon: the reply, when it comes, settles nothing; the worker stops at its next chunk.
        this.outstanding.set(id, undefined);
        Atomics.store(this.cancelFlag, 0, id);
        reject(cancelled());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (f: () => void) => {
        signal?.removeEventListener('abort', onAbort);
        f();
      };
      this.outstanding.set(id, { resolve: (r) => done(() => resolve(r)), reject: (e) => done(() => reject(e)) });
      worker.postMessage({ ...msg, id }, transfer);
    });
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
