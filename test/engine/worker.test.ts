/**
 * The worker boundary (RunnerClient -> worker thread -> Runner): cancellation rejects promptly and the
 * next run works; concurrent traces are queued, never mixed; kept runs give their hook points as slices;
 * the memory limit refuses a run before it starts, naming the setting or flag it was set by; a worker
 * that dies is replaced. The logit lens and accumulated residual agree with the reference.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { ActivationCache } from '../../src/engine/cache';
import { openCheckpoint, tokensFromIds } from '../../src/engine/model';
import { selectHooks } from '../../src/engine/hooks';
import { readSafetensorsHeader } from '../../src/engine/safetensors';
import { CircuitLensError } from '../../src/protocol/errors';
import type { LogitLensSlice } from '../../src/protocol/panels';
import type { TensorData } from '../../src/protocol/tensor';
import { LOGIT_LENS_HOOKS } from '../../src/protocol/runner';
import { withModel } from '../helpers/engine';
import { makeRandomCheckpoint, maxAbsDiff, randomTokens, referenceActivations } from '../helpers/reference';
import { hookOf, isCancelled, lastLogits, testConfig, withRunner } from '../helpers/runner';
import { readTensorF32 } from '../helpers/tensors';

const big = makeRandomCheckpoint({ layers: 4, dModel: 256, heads: 8, dMlp: 1024, vocab: 4000, ctx: 512, dtype: 'F32', seed: 21 });
const small = makeRandomCheckpoint({ layers: 3, dModel: 48, heads: 4, dMlp: 96, vocab: 300, ctx: 32, dtype: 'F32', untied: true, seed: 22 });

const isOverLimit = (pattern: RegExp) => (e: unknown) => e instanceof CircuitLensError && e.code === 'OVER_LIMIT' && pattern.test(e.message);

test('a cancelled trace rejects within half a second; the worker drops it and the next trace works', () => withRunner({}, async (client) => {
  const model = { ref: big };
  await client.request('model/load', { model });
  const abort = new AbortController();
  // Every hook point: the per-head variant's graph is built, then 512 tokens run (about 300 ms here).
  const run = client.request('trace', { model, input: { ids: randomTokens(1, 512, 4000, 1)[0] }, hooks: '*', keep: true }, { signal: abort.signal });
  let abortedAt = 0;
  setTimeout(() => {
    abortedAt = performance.now();
    abort.abort();
  }, 50);
  let cancelledAt = 0;
  await assert.rejects(run.finally(() => (cancelledAt = performance.now())), isCancelled);
  assert.ok(abortedAt > 0, 'the trace ended before the abort: make it longer');
  const latency = cancelledAt - abortedAt;
  assert.ok(latency < 500, `cancel took ${latency.toFixed(0)} ms`);
  const again = await client.request('trace', { model, input: { ids: [1, 2, 3] }, topK: 4000 });
  assert.deepEqual(again.tokens.map((t) => t.id), [1, 2, 3]);
  assert.equal(again.top.length, 4000);
  assert.deepEqual(await client.request('runs/usage', {}), { runs: 0, bytes: 0 }, 'the cancelled run was not kept');
}));

test('two traces started at once are queued and each gets its own result', () => withRunner({}, async (client) => {
  const model = { ref: small };
  const [a, b] = randomTokens(2, 10, 300, 5);
  const hooks = 'ln_final.hook_normalized'; // every position's input to the unembedding
  const [ra, rb] = await Promise.all([a, b].map((ids) => client.request('trace', { model, input: { ids }, hooks, topK: 300, keep: true })));
  assert.deepEqual([ra.tokens.map((t) => t.id), rb.tokens.map((t) => t.id)], [a, b]);
  // Other hooks, so a new run (a kept run with the same model, tokens and hooks would be reused).
  const alone = await client.request('trace', { model, input: { ids: b }, hooks: `${hooks},hook_embed`, topK: 300, keep: true });
  assert.notEqual(alone.runId, rb.runId);
  assert.equal(maxAbsDiff(lastLogits(rb, 300), lastLogits(alone, 300)), 0);
  assert.equal(maxAbsDiff((await hookOf(client, rb, hooks)).data, (await hookOf(client, alone, hooks)).data), 0);
  assert.ok(maxAbsDiff(lastLogits(ra, 300), lastLogits(rb, 300)) > 1e-3, 'different prompts give different logits');
  assert.ok(maxAbsDiff((await hookOf(client, ra, hooks)).data, (await hookOf(client, rb, hooks)).data) > 1e-3);
}));

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
  const ids = randomTokens(1, 12, 300, 9)[0];
  const ref = referenceActivations(small, [ids]);
  const st = readSafetensorsHeader(path.join(small, 'model.safetensors'));
  const [lnW, lnB, wU] = ['transformer.ln_f.weight', 'transformer.ln_f.bias', 'lm_head.weight'].map((n) => readTensorF32(st, n));
  const hooks = ['blocks.0.hook_resid_pre', 'blocks.0.hook_resid_mid', 'blocks.1.hook_resid_pre', 'blocks.1.hook_resid_mid', 'blocks.2.hook_resid_pre', 'blocks.2.hook_resid_mid', 'blocks.2.hook_resid_post'];
  const target = 7;
  // In the worker's LoadedModel (a target by id: this checkpoint has no tokenizer to name one)...
  const lens = await withModel(small, async (engine) => {
    const trace = await engine.trace([tokensFromIds(engine.ckpt, ids)], { hooks: selectHooks(engine.ckpt.hooks, LOGIT_LENS_HOOKS) });
    return engine.logitLens(trace, { k: 5, targetId: target });
  });
  assert.deepEqual(lens.labels, ['0_pre', '0_mid', '1_pre', '1_mid', '2_pre', '2_mid', 'final_post']);
  hooks.forEach((hook, c) => {
    const resid = ref.get(hook)!.data;
    for (const p of [0, 5, 11]) {
      const probs = lensRow(resid.subarray(p * 48, (p + 1) * 48), lnW, lnB, wU, 300, 1e-5);
      const row = c * lens.pos + p;
      const best = probs.indexOf(Math.max(...probs));
      assert.equal(lens.topIds[row * 5], best, `${hook} pos ${p} top token`);
      assert.ok(Math.abs(lens.topValues[row * 5] - probs[best]) < 1e-4);
      assert.ok(Math.abs(lens.targetValues![row] - probs[target]) < 1e-4);
      assert.equal(lens.targetRanks![row], probs.filter((q) => q > probs[target]).length);
    }
  });
  // ...and as the panel reads it: the lens slice of a kept trace, across the worker boundary.
  await withRunner({}, async (client) => {
    const { runId } = await client.request('trace', { model: { ref: small }, input: { ids }, hooks: LOGIT_LENS_HOOKS, keep: true });
    const slice = (await client.request('run/slice', { runId: runId!, slice: { kind: 'logitLens', topK: 5 } })) as LogitLensSlice;
    assert.deepEqual(slice.labels, lens.labels);
    assert.deepEqual(slice.topTexts, Array.from(lens.topIds, (id) => `<${id}>`));
    assert.ok(maxAbsDiff(slice.topValues, lens.topValues) < 1e-6);
  });
});

test('hook slices of a kept run cross the boundary intact; accumulatedResid with apply_ln divides the centred residual by the final scale', () => withRunner({}, async (client) => {
  const ids = [4, 8, 15, 16, 23, 42];
  const ref = referenceActivations(small, [ids]);
  const trace = await client.request('trace', { model: { ref: small }, input: { ids }, hooks: '*', keep: true });
  const config = openCheckpoint(small, { loadTokenizer: false }).config;
  assert.equal(trace.hooks.length, 17 * 3 + 4 + 3);
  const tensors = new Map<string, TensorData>();
  for (const h of trace.hooks) {
    const t = (await client.request('run/slice', { runId: trace.runId!, slice: { kind: 'hook', hook: h.name } })) as TensorData;
    assert.deepEqual(t.dims, h.shape, h.name);
    assert.ok(maxAbsDiff(t.data, ref.get(h.name)!.data) <= 1e-4, h.name);
    tensors.set(h.name, t);
  }
  const { labels, resid } = new ActivationCache(tensors, config).accumulatedResid({ inclMid: true, applyLn: true });
  assert.deepEqual(labels, ['0_pre', '0_mid', '1_pre', '1_mid', '2_pre', '2_mid', 'final_post']);
  assert.deepEqual(resid.dims, [7, 1, 6, 48]);
  // The last component, so scaled and then given ln_final's weight and bias, is ln_final.hook_normalized.
  const st = readSafetensorsHeader(path.join(small, 'model.safetensors'));
  const [w, b] = ['transformer.ln_f.weight', 'transformer.ln_f.bias'].map((n) => readTensorF32(st, n));
  const last = resid.data.subarray(6 * 6 * 48).map((v, i) => v * w[i % 48] + b[i % 48]);
  assert.ok(maxAbsDiff(last, ref.get('ln_final.hook_normalized')!.data) < 1e-4);
  const upTo1 = new ActivationCache(tensors, config).accumulatedResid({ layer: 1 });
  assert.deepEqual(upTo1.labels, ['0_pre']);
  // Released, the run is gone: a slice of it says so and how to get it back.
  await client.request('run/release', { runId: trace.runId! });
  await assert.rejects(client.request('run/slice', { runId: trace.runId!, slice: { kind: 'hook', hook: 'hook_embed' } }), (e: unknown) => e instanceof CircuitLensError && e.code === 'NOT_KEPT');
}));

test('EXPECTED FAILURE - a trace over the memory limit is refused before it runs, naming the setting or flag', () => withRunner({ cacheBytes: { value: 200_000, name: 'circuitLens.cacheMemoryLimitMB' } }, async (client) => {
  const model = { ref: small };
  const ids = randomTokens(1, 30, 300, 3)[0];
  await assert.rejects(client.request('trace', { model, input: { ids }, hooks: '*' }), isOverLimit(/over the limit of 0.2 MB.*raise circuitLens\.cacheMemoryLimitMB/));
  const ok = await client.request('trace', { model, input: { ids: ids.slice(0, 2) }, topK: 300 }); // logits of 2 tokens fit
  assert.equal(ok.top.length, 300);
  await client.configure(testConfig({ cacheBytes: { value: 200_000, name: '--memory-limit' } }));
  await assert.rejects(client.request('trace', { model, input: { ids }, hooks: '*' }), isOverLimit(/over the limit of 0.2 MB.*raise --memory-limit/));
}));

test('a worker that dies is reported, and the next run starts a fresh worker with the model reloaded', () => withRunner({}, async (client) => {
  const model = { ref: small };
  const hooks = 'ln_final.hook_normalized';
  const before = await client.request('trace', { model, input: { ids: [5, 6, 7] }, hooks, topK: 300, keep: true });
  const normalized = await hookOf(client, before, hooks);
  // Simulate a crash of the worker thread (an abnormal exit between requests).
  const worker = (client as unknown as { worker: Worker }).worker;
  await worker.terminate();
  // Kept runs lived in the worker that died.
  await assert.rejects(hookOf(client, before, hooks), (e: unknown) => e instanceof CircuitLensError && e.code === 'NOT_KEPT');
  const after = await client.request('trace', { model, input: { ids: [5, 6, 7] }, hooks, topK: 300, keep: true });
  assert.equal(maxAbsDiff(lastLogits(before, 300), lastLogits(after, 300)), 0);
  assert.equal(maxAbsDiff(normalized.data, (await hookOf(client, after, hooks)).data), 0);
}));

test("a spec's \"processing\" loads the processed model, and replies name it; the same model unprocessed is a separate load", () => withRunner({}, async (client) => {
  const spec = (processing: string) => ({
    text: JSON.stringify({ model: 'demo', ...(processing ? { processing } : {}), prompts: [{ name: 'p', text: 'Speak unto the children of', answer: ' Israel', counterfactual: ' the' }], analyses: [{ kind: 'attribution', prompt: 'p' }] }),
    path: path.join(__dirname, 'processing.circuit.json'),
  });
  const processed = await client.request('analysis/run', { spec: spec('transformerlens'), analysis: 0 });
  assert.equal(processed.model, 'demo · TransformerLens processing');
  assert.equal(processed.processing, 'TransformerLens processing');
  assert.deepEqual(processed.processingNotes, []);
  const plain = await client.request('analysis/run', { spec: spec(''), analysis: 0 });
  assert.equal(plain.model, 'demo');
  assert.equal(plain.processing, 'unprocessed weights');
  const override = await client.request('analysis/run', { spec: spec(''), analysis: 0, processing: { foldLn: true, centerWritingWeights: false, centerUnembed: false, foldValueBiases: false } });
  assert.equal(override.model, 'demo · processing: foldLn');
  const loaded = await client.request('model/load', { model: { ref: 'demo', processing: { foldLn: false, centerWritingWeights: true, centerUnembed: false, foldValueBiases: false } } });
  assert.equal(loaded.processing, 'processing: centerWritingWeights');
}));
