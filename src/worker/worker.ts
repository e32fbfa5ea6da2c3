/**
 * The engine worker: a worker_threads entry point that owns the onnxruntime sessions, so the blocking
 * session.run never stalls the extension host or the CLI's event loop. A cancelled request is flagged in
 * shared memory (see client.ts) and stops at its next chunk; the thread is terminated only when idle.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { EngineError, fail } from '../engine/errors';
import { openCheckpoint } from '../engine/model';
import { assertNever } from '../protocol/assert';
import type { LensParams, LensResult, LoadParams, LoadResult, RunParams, RunResult, WorkerReply, WorkerRequest } from '../protocol/engine';
import { summariseLensRows } from '../engine/logit-lens';
import { START_INPUT, addInput, keepInput } from '../engine/graph/hooked-graph';
import type { TensorData } from '../protocol/tensor';
import { ModelSessions } from './session';

let model: ModelSessions | undefined;
const cancelFlag: Int32Array = (workerData as { cancelFlag: Int32Array }).cancelFlag;
/** Requests are handled one after another, even while one awaits onnxruntime. */
let queue: Promise<void> = Promise.resolve();

async function load(p: LoadParams): Promise<LoadResult> {
  const t0 = performance.now();
  await model?.release();
  model = undefined;
  const sessions = new ModelSessions(openCheckpoint(p.dir), p.options);
  await sessions.init();
  model = sessions;
  return { backend: sessions.backend, backendNote: sessions.backendNote, loadMs: performance.now() - t0 };
}

/** Tokens per forward on the CPU: a batch is split into rows of about this many tokens, and a cancel takes effect between them. */
const CPU_CHUNK_TOKENS = 1024;
const CUDA_CHUNK_TOKENS = 16384;

/** Rows [first, first + rows) of an intervention tensor whose first dim is the batch (or 1: broadcast). */
function batchRows(t: TensorData, first: number, rows: number, batch: number): ort.Tensor {
  if (t.dims[0] !== batch || rows === batch) return new ort.Tensor('float32', t.data, t.dims);
  const per = t.data.length / batch;
  return new ort.Tensor('float32', t.data.subarray(first * per, (first + rows) * per), [rows, ...t.dims.slice(1)]);
}

/** Throws CANCELLED when the client has abandoned request `id`. */
function checkCancelled(id: number): void {
  if (Atomics.load(cancelFlag, 0) === id) throw new EngineError({ code: 'CANCELLED', message: 'cancelled.' });
}

async function run(id: number, p: RunParams): Promise<RunResult> {
  if (!model) fail('RUNTIME', {}, 'no model is loaded in the engine worker.');
  const session = await model.session({ kind: 'model', variant: p.variant });
  const chunkTokens = model.backend === 'cuda' ? CUDA_CHUNK_TOKENS : CPU_CHUNK_TOKENS;
  const rowsPerChunk = Math.max(1, Math.floor(chunkTokens / p.pos));
  const tensors: Record<string, TensorData> = {};
  let runMs = 0;
  for (let first = 0; first < p.batch; first += rowsPerChunk) {
    checkCancelled(id);
    const rows = Math.min(rowsPerChunk, p.batch - first);
    const feeds: Record<string, ort.Tensor> = {};
    if (p.variant.startLayer !== undefined) {
      if (!p.startResid) fail('BAD_INPUT', { field: 'startResid' }, 'a run that starts after layer 0 needs its residual input.');
      feeds[START_INPUT] = batchRows(p.startResid, first, rows, p.batch);
    } else {
      feeds.input_ids = new ort.Tensor('int64', BigInt64Array.from(p.ids.slice(first * p.pos, (first + rows) * p.pos), (v) => BigInt(v)), [rows, p.pos]);
    }
    const t0 = performance.now();
    for (const iv of p.interventions) {
      feeds[keepInput(iv.hook)] = batchRows(iv.keep, first, rows, p.batch);
      feeds[addInput(iv.hook)] = batchRows(iv.add, first, rows, p.batch);
    }
    const out = await session.run(feeds, p.fetch);
    runMs += performance.now() - t0;
    for (const name of p.fetch) {
      const t = out[name];
      const data = t.data as Float32Array;
      if (rows === p.batch) {
        tensors[name] = { dims: t.dims.map(Number), data };
        continue;
      }
      // Every output has the batch as its first dimension: copy this chunk's rows into place.
      tensors[name] ??= { dims: [p.batch, ...t.dims.slice(1).map(Number)], data: new Float32Array((data.length / rows) * p.batch) };
      tensors[name].data.set(data, (data.length / rows) * first);
    }
  }
  return { tensors, runMs };
}

/** Rows per unembedding run: bounds the logits held at once to LENS_CHUNK x d_vocab floats. */
const LENS_CHUNK = 128;

async function lens(id: number, p: LensParams): Promise<LensResult> {
  if (!model) fail('RUNTIME', {}, 'no model is loaded in the engine worker.');
  const session = await model.session({ kind: 'unembed' });
  const [rows, d] = p.resid.dims;
  const vocab = model.ckpt.config.dVocab;
  if (p.targetId !== undefined && !(Number.isInteger(p.targetId) && p.targetId >= 0 && p.targetId < vocab)) {
    fail('BAD_INPUT', { field: 'target' }, `token id ${p.targetId} is outside the vocabulary [0, ${vocab}).`);
  }
  const out: LensResult = {
    k: p.k,
    topIds: new Int32Array(rows * p.k),
    topProbs: new Float32Array(rows * p.k),
    ...(p.targetId !== undefined ? { targetProbs: new Float32Array(rows), targetRanks: new Int32Array(rows) } : {}),
  };
  for (let first = 0; first < rows; first += LENS_CHUNK) {
    checkCancelled(id);
    const n = Math.min(LENS_CHUNK, rows - first);
    const x = new ort.Tensor('float32', p.resid.data.subarray(first * d, (first + n) * d), [n, d]);
    const { logits } = await session.run({ resid: x }, ['logits']);
    summariseLensRows(logits.data as Float32Array, vocab, first, n, out, p.targetId);
  }
  return out;
}

function errorInfo(e: unknown) {
  if (e instanceof EngineError) return e.toInfo();
  return { code: 'RUNTIME' as const, message: `onnxruntime: ${String((e as Error)?.message ?? e).split('\n')[0]}` };
}

function post(reply: WorkerReply, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(reply, transfer);
}

async function handle(msg: WorkerRequest): Promise<void> {
  try {
    switch (msg.type) {
      case 'load':
        post({ type: 'loaded', id: msg.id, result: await load(msg.params) });
        break;
      case 'run': {
        const result = await run(msg.id, msg.params);
        // Outputs move to the caller without a copy.
        const buffers = [...new Set(Object.values(result.tensors).map((t) => t.data.buffer as ArrayBuffer))];
        post({ type: 'ran', id: msg.id, result }, buffers);
        break;
      }
      case 'lens': {
        const result = await lens(msg.id, msg.params);
        const buffers = [result.topIds, result.topProbs, result.targetProbs, result.targetRanks].filter((a) => a !== undefined).map((a) => a!.buffer as ArrayBuffer);
        post({ type: 'lensed', id: msg.id, result }, buffers);
        break;
      }
      default:
        assertNever(msg, 'worker request');
    }
  } catch (e) {
    post({ type: 'failed', id: msg.id, error: errorInfo(e) });
  }
}

parentPort!.on('message', (msg: WorkerRequest) => {
  queue = queue.then(() => handle(msg));
});
