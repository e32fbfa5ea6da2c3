/**
 * The engine worker: a worker_threads entry point that owns the onnxruntime sessions, so the blocking
 * session.run never stalls the extension host or the CLI's event loop. Cancel = terminate this thread.
 */
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { EngineError, fail } from '../engine/errors';
import { openCheckpoint } from '../engine/model';
import { assertNever } from '../protocol/assert';
import type { LensParams, LensResult, LoadParams, LoadResult, RunParams, RunResult, WorkerReply, WorkerRequest } from '../protocol/engine';
import { summariseLensRows } from '../engine/logit-lens';
import type { TensorData } from '../protocol/tensor';
import { ModelSessions } from './session';

let model: ModelSessions | undefined;

async function load(p: LoadParams): Promise<LoadResult> {
  const t0 = performance.now();
  await model?.release();
  model = undefined;
  const sessions = new ModelSessions(openCheckpoint(p.dir), p.options);
  await sessions.init();
  model = sessions;
  return { backend: sessions.backend, backendNote: sessions.backendNote, loadMs: performance.now() - t0 };
}

async function run(p: RunParams): Promise<RunResult> {
  if (!model) fail('RUNTIME', {}, 'no model is loaded in the engine worker.');
  const attnResult = p.fetch.some((f) => f.endsWith('attn.hook_result'));
  const session = await model.session({ kind: 'model', attnResult });
  const ids = new ort.Tensor('int64', BigInt64Array.from(p.ids, (v) => BigInt(v)), [p.batch, p.pos]);
  const t0 = performance.now();
  const out = await session.run({ input_ids: ids }, p.fetch);
  const runMs = performance.now() - t0;
  const tensors: Record<string, TensorData> = {};
  for (const name of p.fetch) {
    const t = out[name];
    tensors[name] = { dims: t.dims.map(Number), data: t.data as Float32Array };
  }
  return { tensors, runMs };
}

/** Rows per unembedding run: bounds the logits held at once to LENS_CHUNK x d_vocab floats. */
const LENS_CHUNK = 128;

async function lens(p: LensParams): Promise<LensResult> {
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

parentPort!.on('message', async (msg: WorkerRequest) => {
  try {
    switch (msg.type) {
      case 'load':
        post({ type: 'loaded', id: msg.id, result: await load(msg.params) });
        break;
      case 'run': {
        const result = await run(msg.params);
        // Outputs move to the caller without a copy.
        const buffers = [...new Set(Object.values(result.tensors).map((t) => t.data.buffer as ArrayBuffer))];
        post({ type: 'ran', id: msg.id, result }, buffers);
        break;
      }
      case 'lens': {
        const result = await lens(msg.params);
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
});
