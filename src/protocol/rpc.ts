/**
 * The one request/reply helper of every boundary (host-worker, CLI-worker, host-webview). A request
 * carries an id; its reply carries the same id and either a result or an error's plain data; a long
 * request may send events (progress) for its id before the reply. Notifications are one-way. Each side
 * owns one RpcPeer over its transport (`send`), and feeds every message it receives to `receive`.
 *
 * A method map describes what one side may ask of the other:
 *   interface M { 'run/slice': { params: SliceParams; result: SliceResult; event?: Progress } }
 */
import { CircuitLensError, ErrorInfo, cancelledError, errorInfoOf } from './errors';

export interface MethodSpec {
  params: unknown;
  result: unknown;
  event?: unknown;
}
export type MethodMap = { [method: string]: MethodSpec };

export type RpcMessage =
  | { rpc: 'request'; id: number; method: string; params: unknown }
  | { rpc: 'reply'; id: number; result: unknown }
  | { rpc: 'error'; id: number; error: ErrorInfo }
  | { rpc: 'event'; id: number; event: unknown }
  | { rpc: 'notify'; method: string; params: unknown };

/** The method that cancels request `id` of the sender; every peer understands it. */
export const CANCEL = '$/cancel';

export interface RequestOptions<E> {
  signal?: AbortSignal;
  onEvent?: (event: E) => void;
  /** Buffers moved (not copied) to the other side, where the transport allows it. */
  transfer?: ArrayBuffer[];
}

/** What a request handler gets besides its params. */
export interface RequestContext<E> {
  id: number;
  /** Aborted when the requester cancels. */
  signal: AbortSignal;
  event(e: E): void;
}

export type Handlers<M extends MethodMap> = {
  [K in keyof M]: (params: M[K]['params'], ctx: RequestContext<M[K]['event']>) => M[K]['result'] | Promise<M[K]['result']>;
};

export type Send = (msg: RpcMessage, transfer?: ArrayBuffer[]) => void;

interface Pending {
  resolve: (r: unknown) => void;
  reject: (e: Error) => void;
  onEvent?: (e: unknown) => void;
}

/**
 * `Out`: the methods this side calls; `In`: the methods it answers (with `handlers`). `transferOf`
 * picks the buffers of a result to move instead of copy (worker threads); a webview copies everything.
 */
export class RpcPeer<Out extends MethodMap, In extends MethodMap = Record<never, MethodSpec>> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly running = new Map<number, AbortController>();

  constructor(
    private readonly send: Send,
    private readonly handlers: Partial<Handlers<In>> = {},
    private readonly opts: { transferOf?: (result: unknown) => ArrayBuffer[]; onNotify?: (method: string, params: unknown) => void; onCancel?: (id: number) => void } = {},
  ) {}

  request<K extends keyof Out & string>(method: K, params: Out[K]['params'], o: RequestOptions<Out[K]['event']> = {}): Promise<Out[K]['result']> {
    if (o.signal?.aborted) return Promise.reject(cancelledError());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.pending.delete(id);
        this.opts.onCancel?.(id);
        this.send({ rpc: 'notify', method: CANCEL, params: { id } });
        reject(cancelledError());
      };
      o.signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => o.signal?.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        resolve: (r) => (done(), resolve(r as Out[K]['result'])),
        reject: (e) => (done(), reject(e)),
        onEvent: o.onEvent as ((e: unknown) => void) | undefined,
      });
      this.send({ rpc: 'request', id, method, params }, o.transfer);
    });
  }

  notify(method: string, params: unknown): void {
    this.send({ rpc: 'notify', method, params });
  }

  /** Requests sent and not answered yet. */
  get outstanding(): number {
    return this.pending.size;
  }

  /** Aborts the handler answering request `id` of the other side, if it is still running. */
  cancelRunning(id: number): void {
    this.running.get(id)?.abort();
  }

  /** Fails every outstanding request (the other side is gone). */
  failAll(error: ErrorInfo): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(new CircuitLensError(error));
  }

  /** Handles one incoming message; false when it is not an RPC message at all. */
  receive(raw: unknown): boolean {
    const msg = raw as RpcMessage;
    if (typeof msg !== 'object' || msg === null || typeof msg.rpc !== 'string') return false;
    switch (msg.rpc) {
      case 'reply':
      case 'error': {
        const p = this.pending.get(msg.id);
        if (!p) return true; // abandoned (cancelled) or a duplicate
        this.pending.delete(msg.id);
        if (msg.rpc === 'reply') p.resolve(msg.result);
        else p.reject(new CircuitLensError(msg.error));
        return true;
      }
      case 'event':
        this.pending.get(msg.id)?.onEvent?.(msg.event);
        return true;
      case 'notify':
        if (msg.method === CANCEL) this.cancelRunning((msg.params as { id: number }).id);
        else this.opts.onNotify?.(msg.method, msg.params);
        return true;
      case 'request':
        void this.answer(msg.id, msg.method, msg.params);
        return true;
      default:
        return false;
    }
  }

  private async answer(id: number, method: string, params: unknown): Promise<void> {
    const handler = (this.handlers as Record<string, ((p: unknown, c: RequestContext<unknown>) => unknown) | undefined>)[method];
    if (!handler) {
      this.send({ rpc: 'error', id, error: { code: 'BAD_INPUT', message: `unknown request ${JSON.stringify(method)}.` } });
      return;
    }
    const abort = new AbortController();
    this.running.set(id, abort);
    try {
      const result = await handler(params, { id, signal: abort.signal, event: (event) => this.send({ rpc: 'event', id, event }) });
      this.send({ rpc: 'reply', id, result }, this.opts.transferOf?.(result));
    } catch (e) {
      // A handler's error, or a reply the transport refused: either way the requester hears of it.
      this.send({ rpc: 'error', id, error: errorInfoOf(e) });
    } finally {
      this.running.delete(id);
    }
  }
}

/** The buffers of whole typed arrays anywhere in `x` (views into a larger buffer are left to be copied). */
export function ownedBuffers(x: unknown, out = new Set<ArrayBuffer>(), depth = 0): ArrayBuffer[] {
  if (depth > 6 || typeof x !== 'object' || x === null) return [...out];
  if (ArrayBuffer.isView(x)) {
    // An empty (or detached) buffer is left out: moving a detached one throws.
    if (x.buffer instanceof ArrayBuffer && x.byteLength > 0 && x.byteOffset === 0 && x.byteLength === x.buffer.byteLength) out.add(x.buffer);
    return [...out];
  }
  for (const v of Array.isArray(x) ? x : Object.values(x)) if (typeof v === 'object' && v !== null) ownedBuffers(v, out, depth + 1);
  return [...out];
}
