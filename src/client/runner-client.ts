/**
 * The calling thread's side of the runner worker, for the extension host and the CLI: starts the worker
 * on first use, sends typed requests (src/protocol/runner.ts) with cancellation by AbortSignal and
 * progress events, and starts a fresh worker after a crash (configured as the last one was).
 *
 * Cancelling rejects the promise at once, tells the worker, and puts the request's id in shared memory,
 * which the worker reads before each chunk of native work, so it stops at the next chunk. The thread is
 * never terminated while onnxruntime is inside session.run: terminating a thread in the middle of that
 * native call aborts the whole process (measured with onnxruntime-node 1.30).
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { CANCEL, RequestOptions, RpcMessage, RpcPeer } from '../protocol/rpc';
import type { RunnerConfig, RunnerMethods } from '../protocol/runner';

export interface RunnerClientOptions {
  /** The worker bundle; default: worker.js beside this bundle. */
  workerPath?: string;
  config: RunnerConfig;
}

/** How long dispose() waits for the worker to come back from native code before stopping it anyway. */
const DISPOSE_WAIT_MS = 30_000;

export class RunnerClient {
  private worker: Worker | undefined;
  private peer: RpcPeer<RunnerMethods> | undefined;
  private cancelFlag = new Int32Array(new SharedArrayBuffer(4));
  private config: RunnerConfig;
  /** Requests sent whose reply has not arrived, cancelled ones included: the worker may still be busy with them. */
  private readonly inWorker = new Set<number>();
  private idleWaiters: (() => void)[] = [];
  /** Workers started so far: each numbers its kept runs in its own range. */
  private generation = 0;

  constructor(private readonly opts: RunnerClientOptions) {
    this.config = opts.config;
  }

  /** Whether a worker thread is running. */
  get started(): boolean {
    return this.worker !== undefined;
  }

  request<K extends keyof RunnerMethods & string>(method: K, params: RunnerMethods[K]['params'], o: RequestOptions<RunnerMethods[K] extends { event: infer E } ? E : never> = {}): Promise<RunnerMethods[K]['result']> {
    return this.start().request(method, params, o as RequestOptions<unknown>) as Promise<RunnerMethods[K]['result']>;
  }

  /** New settings: sent now when the worker runs, and to every fresh worker. */
  configure(config: RunnerConfig): Promise<void> {
    this.config = config;
    return this.peer ? this.peer.request('configure', config) : Promise.resolve();
  }

  /** Cancels what is in flight, waits for the worker to return from native code, then stops it. */
  async dispose(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    for (const id of this.inWorker) {
      Atomics.store(this.cancelFlag, 0, id);
      // The flag holds one id: the others (the one running, when later ones are queued) are cancelled by message.
      this.peer?.notify(CANCEL, { id });
    }
    if (this.inWorker.size > 0) await Promise.race([new Promise<void>((r) => this.idleWaiters.push(r)), new Promise((r) => setTimeout(r, DISPOSE_WAIT_MS).unref())]);
    this.worker = undefined;
    this.peer = undefined;
    await w.terminate();
  }

  private start(): RpcPeer<RunnerMethods> {
    if (this.peer) return this.peer;
    const file = this.opts.workerPath ?? path.join(__dirname, 'worker.js');
    this.cancelFlag = new Int32Array(new SharedArrayBuffer(4));
    const flag = this.cancelFlag;
    const w = new Worker(file, { workerData: { cancelFlag: flag, generation: this.generation++ } });
    const peer = new RpcPeer<RunnerMethods>((msg, transfer) => {
      if (msg.rpc === 'request') this.inWorker.add(msg.id);
      w.postMessage(msg, transfer ?? []);
    }, {}, { onCancel: (id) => Atomics.store(flag, 0, id) });
    w.on('message', (msg: RpcMessage) => {
      if (msg.rpc === 'reply' || msg.rpc === 'error') this.settled(msg.id);
      peer.receive(msg);
    });
    const crash = (why: string) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      this.peer = undefined;
      this.inWorker.clear();
      for (const done of this.idleWaiters.splice(0)) done();
      peer.failAll({ code: 'RUNTIME', message: `the engine worker stopped (${why}); the next run starts a fresh one.` });
    };
    w.on('error', (e) => crash(e.message));
    w.on('exit', (code) => crash(`exit code ${code}`));
    this.worker = w;
    this.peer = peer;
    void peer.request('configure', this.config).catch(() => undefined); // the first message: every later request sees it
    return peer;
  }

  private settled(id: number): void {
    this.inWorker.delete(id);
    if (this.inWorker.size === 0) for (const done of this.idleWaiters.splice(0)) done();
  }
}
