/**
 * Cancellation in every phase of the engine's work: loading a model, building a new graph variant,
 * a patching sweep, the logit lens. Each cancel must reject with CANCELLED within half a second of the
 * abort, and the engine must give correct results afterwards (nothing left half-done in the worker).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Engine, LOGIT_LENS_HOOKS } from '../../src/worker/engine';
import { tokensFromIds } from '../../src/engine/model';
import { selectHooks } from '../../src/engine/hooks';
import { EngineError } from '../../src/engine/errors';
import { activationPatching } from '../../src/engine/analysis/patching';
import { WORKER, makeRandomCheckpoint, maxAbsDiff, randomTokens } from '../helpers/reference';

// Large enough that loading (with prepacked weights) and a sweep take well over the abort delays below.
const model = makeRandomCheckpoint({ layers: 6, dModel: 384, heads: 6, dMlp: 1536, vocab: 6000, ctx: 256, dtype: 'F32', seed: 31 });
const OPEN = { workerPath: WORKER, session: { threads: 1, prepack: true } };

const isCancelled = (e: unknown) => e instanceof EngineError && e.code === 'CANCELLED';

/** Starts `work`, aborts after `afterMs`, and returns how long the rejection took after the abort. */
async function cancelAfter(phase: string, afterMs: number, work: (signal: AbortSignal) => Promise<unknown>): Promise<number> {
  const abort = new AbortController();
  let abortedAt = 0;
  const timer = setTimeout(() => {
    abortedAt = performance.now();
    abort.abort();
  }, afterMs);
  let settledAt = 0;
  try {
    await assert.rejects(work(abort.signal).finally(() => (settledAt = performance.now())), isCancelled);
  } finally {
    clearTimeout(timer);
  }
  assert.ok(abortedAt > 0, 'the work ended before the abort: make it longer');
  console.log(`# cancel during ${phase}: rejected ${(settledAt - abortedAt).toFixed(1)} ms after the abort`);
  return settledAt - abortedAt;
}

test('cancelling a model load returns within half a second, and the next load works', async () => {
  const started = performance.now();
  const full = await Engine.open(model, OPEN);
  const loadMs = performance.now() - started;
  await full.dispose();
  const latency = await cancelAfter('a model load', Math.min(20, loadMs / 4), (signal) => Engine.open(model, { ...OPEN, signal }));
  assert.ok(latency < 500, `cancel took ${latency.toFixed(0)} ms (a whole load took ${loadMs.toFixed(0)} ms)`);
  const again = await Engine.open(model, OPEN);
  try {
    const t = await again.trace([tokensFromIds(again.ckpt, [1, 2, 3])]);
    assert.deepEqual(t.logits.dims, [1, 3, 6000]);
  } finally {
    await again.dispose();
  }
});

test('cancelling while a new graph variant is built returns promptly; the variant works afterwards', async () => {
  const engine = await Engine.open(model, OPEN);
  try {
    const tokens = [tokensFromIds(engine.ckpt, randomTokens(1, 64, 6000, 4)[0])];
    const plain = await engine.trace(tokens);
    // hook_result needs the per-head variant: its graph is built and its session created on first use.
    const hooks = selectHooks(engine.ckpt.hooks, 'blocks.*.attn.hook_result');
    const latency = await cancelAfter('a graph build', 1, (signal) => engine.trace(tokens, { hooks, signal }));
    assert.ok(latency < 500, `cancel took ${latency.toFixed(0)} ms`);
    const after = await engine.trace(tokens, { hooks });
    assert.deepEqual(after.cache.get('blocks.5.attn.hook_result').dims, [1, 64, 6, 384]);
    assert.ok(maxAbsDiff(after.logits.data, plain.logits.data) < 1e-4);
  } finally {
    await engine.dispose();
  }
});

test('cancelling a patching sweep stops it within half a second; the next run is unaffected', async () => {
  const engine = await Engine.open(model, { ...OPEN, session: { threads: 1 } });
  try {
    const ids = randomTokens(1, 96, 6000, 5)[0];
    const clean = tokensFromIds(engine.ckpt, ids);
    const corrupted = tokensFromIds(engine.ckpt, ids.map((id, i) => (i === 90 ? (id + 1) % 6000 : id)));
    const before = await engine.trace([clean]);
    let progress = 0;
    const latency = await cancelAfter('a patching sweep', 300, (signal) => activationPatching(engine, clean, corrupted, {
      target: 'resid_pre', metric: { kind: 'logitDiff', answer: 1, counterfactual: 2 }, signal, onProgress: (done) => (progress = done),
    }));
    assert.ok(latency < 500, `cancel took ${latency.toFixed(0)} ms`);
    assert.ok(progress < 6, `the sweep stopped early (${progress} of 6 layers done)`);
    const after = await engine.trace([clean]);
    assert.equal(maxAbsDiff(after.logits.data, before.logits.data), 0);
  } finally {
    await engine.dispose();
  }
});

test('cancelling a logit lens returns promptly; the lens works afterwards', async () => {
  const engine = await Engine.open(model, { ...OPEN, session: { threads: 1 } });
  try {
    const tokens = tokensFromIds(engine.ckpt, randomTokens(1, 200, 6000, 6)[0]);
    const trace = await engine.trace([tokens], { hooks: selectHooks(engine.ckpt.hooks, LOGIT_LENS_HOOKS) });
    const latency = await cancelAfter('a logit lens', 5, (signal) => engine.logitLens(trace, { signal }));
    assert.ok(latency < 500, `cancel took ${latency.toFixed(0)} ms`);
    const lens = await engine.logitLens(trace, { k: 3 });
    assert.equal(lens.topIds.length, 7 * 200 * 3); // 6 layers + final, 200 positions, top-3
  } finally {
    await engine.dispose();
  }
});
