/**
 * The worker boundary: cancellation ends a run promptly and the next run works; concurrent traces are
 * queued, never mixed; the logit lens and accumulated residual agree with the reference.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { Engine, LOGIT_LENS_HOOKS } from '../../src/worker/engine';
import { tokensFromIds } from '../../src/engine/model';
import { selectHooks } from '../../src/engine/hooks';
import { EngineError } from '../../src/engine/errors';
import { readSafetensorsHeader, readTensorF32 } from '../../src/engine/safetensors';
import { WORKER, makeRandomCheckpoint, maxAbsDiff, randomTokens, referenceActivations } from '../helpers/reference';

const big = makeRandomCheckpoint({ layers: 4, dModel: 256, heads: 8, dMlp: 1024, vocab: 4000, ctx: 512, dtype: 'F32', seed: 21 });
const small = makeRandomCheckpoint({ layers: 3, dModel: 48, heads: 4, dMlp: 96, vocab: 300, ctx: 32, dtype: 'F32', untied: true, seed: 22 });

test('a cancelled run rejects within half a second; the worker stops at its next chunk and the next run works', async () => {
  const engine = await Engine.open(big, { workerPath: WORKER, session: { threads: 1 } });
  try {
    const batch = randomTokens(8, 512, 4000, 1).map((r) => tokensFromIds(engine.ckpt, r));
    const abort = new AbortController();
    const started = performance.now();
    const run = engine.trace(batch, { hooks: engine.ckpt.hooks, signal: abort.signal });
    setTimeout(() => abort.abort(), 200);
    let cancelledAt = 0;
    await assert.rejects(run.finally(() => (cancelledAt = performance.now())), (e: unknown) => e instanceof EngineError && e.code === 'CANCELLED');
    const latency = cancelledAt - started - 200;
    assert.ok(latency < 500, `cancel took ${latency.toFixed(0)} ms`);
    const again = await engine.trace([tokensFromIds(engine.ckpt, [1, 2, 3])]);
    assert.deepEqual(again.logits.dims, [1, 3, 4000]);
  } finally {
    await engine.dispose();
  }
});

test('two traces started at once are queued and each gets its own result', async () => {
  const engine = await Engine.open(small, { workerPath: WORKER, session: { threads: 1 } });
  try {
    const [a, b] = randomTokens(2, 10, 300, 5).map((r) => tokensFromIds(engine.ckpt, r));
    const [ra, rb] = await Promise.all([engine.trace([a]), engine.trace([b])]);
    const alone = await engine.trace([b]);
    assert.equal(maxAbsDiff(rb.logits.data, alone.logits.data), 0);
    assert.ok(maxAbsDiff(ra.logits.data, rb.logits.data) > 1e-3, 'different prompts give different logits');
  } finally {
    await engine.dispose();
  }
});

/** Final LayerNorm (own statistics) and unembedding of one residual row, in float64. */
function lensRow(x: Float32Array, lnW: Float32Array, lnB: Float32Array, wU: Float32Array, vocab: number, eps: number): Float64Array {
  const d = x.length;
  const mean = x.reduce((a, v) => a + v, 0) / d;
  const variance = x.reduce((a, v) => a + (v - mean) ** 2, 0) / d;
  const y = Array.from(x, (v, i) => ((v - mean) / Math.sqrt(variance + eps)) * lnW[i] + lnB[i]);
  const logits = new Float64Array(vocab);
  for (let t = 0; t < vocab; t++) for (let i = 0; i < d; i++) logits[t] += y[i] * wU[t * d + i];
  const max = Math.max(...logits);
  const z = logits.reduce((a, v) => a + Math.exp(v - max), 0);
  return logits.map((v) => Math.exp(v - max) / z);
}

test('logit lens matches the final LayerNorm + unembedding of the reference residual stream', async () => {
  const engine = await Engine.open(small, { workerPath: WORKER, session: { threads: 1 } });
  try {
    const ids = randomTokens(1, 12, 300, 9)[0];
    const trace = await engine.trace([tokensFromIds(engine.ckpt, ids)], { hooks: selectHooks(engine.ckpt.hooks, LOGIT_LENS_HOOKS) });
    const target = 7;
    const lens = await engine.logitLens(trace, { k: 5, targetId: target });
    assert.deepEqual(lens.labels, ['0_pre', '1_pre', '2_pre', 'final_post']);
    const ref = referenceActivations(small, [ids]);
    const st = readSafetensorsHeader(path.join(small, 'model.safetensors'));
    const [lnW, lnB, wU] = ['transformer.ln_f.weight', 'transformer.ln_f.bias', 'lm_head.weight'].map((n) => readTensorF32(st, n));
    const hooks = ['blocks.0.hook_resid_pre', 'blocks.1.hook_resid_pre', 'blocks.2.hook_resid_pre', 'blocks.2.hook_resid_post'];
    hooks.forEach((hook, c) => {
      const resid = ref.get(hook)!.data;
      for (const p of [0, 5, 11]) {
        const probs = lensRow(resid.subarray(p * 48, (p + 1) * 48), lnW, lnB, wU, 300, 1e-5);
        const row = c * lens.pos + p;
        const best = probs.indexOf(Math.max(...probs));
        assert.equal(lens.topIds[row * 5], best, `${hook} pos ${p} top token`);
        assert.ok(Math.abs(lens.topProbs[row * 5] - probs[best]) < 1e-4);
        assert.ok(Math.abs(lens.targetProbs![row] - probs[target]) < 1e-4);
        assert.equal(lens.targetRanks![row], probs.filter((q) => q > probs[target]).length);
      }
    });
  } finally {
    await engine.dispose();
  }
});

test('accumulatedResid with apply_ln divides the centred residual by the final scale', async () => {
  const engine = await Engine.open(small, { workerPath: WORKER, session: { threads: 1 } });
  try {
    const ids = [4, 8, 15, 16, 23, 42];
    const trace = await engine.trace([tokensFromIds(engine.ckpt, ids)], { hooks: engine.ckpt.hooks });
    const { labels, resid } = trace.cache.accumulatedResid({ inclMid: true, applyLn: true });
    assert.deepEqual(labels, ['0_pre', '0_mid', '1_pre', '1_mid', '2_pre', '2_mid', 'final_post']);
    assert.deepEqual(resid.dims, [7, 1, 6, 48]);
    // The last component, so scaled and then given ln_final's weight and bias, is ln_final.hook_normalized.
    const ref = referenceActivations(small, [ids]);
    const st = readSafetensorsHeader(path.join(small, 'model.safetensors'));
    const [w, b] = ['transformer.ln_f.weight', 'transformer.ln_f.bias'].map((n) => readTensorF32(st, n));
    const last = resid.data.subarray(6 * 6 * 48).map((v, i) => v * w[i % 48] + b[i % 48]);
    assert.ok(maxAbsDiff(last, ref.get('ln_final.hook_normalized')!.data) < 1e-4);
    const upTo1 = trace.cache.accumulatedResid({ layer: 1 });
    assert.deepEqual(upTo1.labels, ['0_pre']);
  } finally {
    await engine.dispose();
  }
});

test('EXPECTED FAILURE - a trace over the memory limit is refused before it runs, naming the setting', async () => {
  const engine = await Engine.open(small, { workerPath: WORKER, session: { threads: 1 }, memoryLimitBytes: 200_000 });
  try {
    const batch = randomTokens(4, 30, 300, 3).map((r) => tokensFromIds(engine.ckpt, r));
    await assert.rejects(engine.trace(batch, { hooks: engine.ckpt.hooks }), (e: unknown) => e instanceof EngineError && /over the limit of 0.2 MB.*cacheMemoryLimitMB/.test(e.message));
    const ok = await engine.trace([batch[0].slice(0, 2)]); // logits of 2 tokens fit
    assert.deepEqual(ok.logits.dims, [1, 2, 300]);
  } finally {
    await engine.dispose();
  }
});

test('a worker that dies is reported, and the next run starts a fresh worker with the model reloaded', async () => {
  const engine = await Engine.open(small, { workerPath: WORKER, session: { threads: 1 } });
  try {
    const prompt = [tokensFromIds(engine.ckpt, [5, 6, 7])];
    const before = await engine.trace(prompt);
    // Simulate a crash of the worker thread (an abnormal exit between requests).
    const worker = (engine as unknown as { client: { worker: import('node:worker_threads').Worker } }).client.worker;
    await worker.terminate();
    const after = await engine.trace(prompt);
    assert.equal(maxAbsDiff(before.logits.data, after.logits.data), 0);
  } finally {
    await engine.dispose();
  }
});

test('handOver moves whole intervention buffers to the worker instead of copying them; views are copied', async () => {
  const engine = await Engine.open(small, { workerPath: WORKER, session: { threads: 1 } });
  try {
    const tokens = [tokensFromIds(engine.ckpt, [5, 6, 7, 8])];
    const make = () => ({ hook: 'blocks.1.hook_resid_pre', keep: { dims: [1, 4, 1], data: new Float32Array([1, 0, 1, 0]) }, add: { dims: [1, 4, 48], data: new Float32Array(4 * 48).fill(0.25) } });
    const copied = await engine.trace(tokens, { interventions: [make()] });
    const handed = make();
    const shared = new Float32Array(8 + 4 * 48).fill(0.25);
    handed.add.data = shared.subarray(8); // a view into a larger buffer: copied, not detached
    const moved = await engine.trace(tokens, { interventions: [handed], handOver: true });
    assert.equal(maxAbsDiff(moved.logits.data, copied.logits.data), 0);
    assert.equal(handed.keep.data.byteLength, 0, 'the whole keep array was handed over');
    assert.equal(shared.byteLength, (8 + 4 * 48) * 4, 'the view\'s buffer stays usable');
  } finally {
    await engine.dispose();
  }
});
