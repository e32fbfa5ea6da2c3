/**
 * Cancellation across the worker boundary in every phase of the worker's work: loading a model,
 * building a new graph variant, a patching sweep, the logit lens. Each cancel must reject with CANCELLED
 * within half a second of the abort; the worker must stop at its next chunk (the request queued behind
 * the cancelled one is answered promptly) and give correct results afterwards (nothing left half-done).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LogitLensSlice } from '../../src/protocol/panels';
import type { ModelRef, Progress } from '../../src/protocol/runner';
import { LOGIT_LENS_HOOKS } from '../../src/protocol/runner';
import { makeRandomCheckpoint, maxAbsDiff, randomTokens } from '../helpers/reference';
import { BUNDLED_MODELS, hookOf, isCancelled, lastLogits, runnerClient, withRunner } from '../helpers/runner';

// Large enough that loading and a sweep take well over the abort delays below. The demo model's
// tokenizer (vocabulary 4096, BOS 4095, as make-random's) lets a spec's text prompts run on it.
const dir = makeRandomCheckpoint({ layers: 6, dModel: 384, heads: 6, dMlp: 1536, vocab: 4096, ctx: 256, dtype: 'F32', seed: 31 });
for (const f of ['vocab.json', 'merges.txt', 'special_tokens_map.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(BUNDLED_MODELS, 'demo', f), path.join(dir, f));
const model: ModelRef = { ref: dir };
const VOCAB = 4096;

/** Starts `work`, aborts after `afterMs`, and returns how long the rejection took after the abort, and when the abort was. */
async function cancelAfter(phase: string, afterMs: number, work: (signal: AbortSignal) => Promise<unknown>): Promise<{ latency: number; abortedAt: number }> {
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
  return { latency: settledAt - abortedAt, abortedAt };
}

test('cancelling a model load returns within half a second, and the next load works', async () => {
  const started = performance.now();
  await withRunner({}, (client) => client.request('model/load', { model }));
  const loadMs = performance.now() - started;
  await withRunner({}, async (client) => {
    const { latency } = await cancelAfter('a model load', Math.min(20, loadMs / 4), (signal) => client.request('model/load', { model }, { signal }));
    assert.ok(latency < 500, `cancel took ${latency.toFixed(0)} ms (a whole load took ${loadMs.toFixed(0)} ms)`);
    const again = await client.request('model/load', { model });
    assert.equal(again.nLayers, 6);
    const t = await client.request('trace', { model, input: { ids: [1, 2, 3] }, topK: VOCAB });
    assert.equal(t.top.length, VOCAB);
    assert.ok(t.top.every((p) => Number.isFinite(p.logit)));
  });
});

test('cancelling while a new graph variant is built returns promptly; the variant works afterwards', () => withRunner({}, async (client) => {
  const input = { ids: randomTokens(1, 64, VOCAB, 4)[0] };
  const normalized = 'ln_final.hook_normalized'; // every position's input to the unembedding
  const plain = await client.request('trace', { model, input, hooks: normalized, topK: VOCAB, keep: true });
  // hook_result needs the per-head variant: its graph is built and its session created on first use.
  const hooks = 'blocks.*.attn.hook_result';
  const { latency } = await cancelAfter('a graph build', 1, (signal) => client.request('trace', { model, input, hooks, topK: VOCAB }, { signal }));
  assert.ok(latency < 500, `cancel took ${latency.toFixed(0)} ms`);
  const after = await client.request('trace', { model, input, hooks: `${hooks},${normalized}`, topK: VOCAB, keep: true });
  assert.deepEqual(after.hooks.find((h) => h.name === 'blocks.5.attn.hook_result')?.shape, [1, 64, 6, 384]);
  assert.ok(maxAbsDiff(lastLogits(after, VOCAB), lastLogits(plain, VOCAB)) < 1e-4);
  assert.ok(maxAbsDiff((await hookOf(client, after, normalized)).data, (await hookOf(client, plain, normalized)).data) < 1e-4);
  assert.equal((await client.request('runs/usage', {})).runs, 2, 'the cancelled trace was not kept: only the two asked to be');
}));

const sentence = 'Moses took the staff of God, and Aaron took the staff of God.';
const clean = `${Array(5).fill(sentence).join(' ')} And Moses took the staff of`;
const corrupted = `${clean.slice(0, clean.lastIndexOf('God'))}Israel${clean.slice(clean.lastIndexOf('God') + 3)}`;
const sweepSpec = {
  path: path.join(dir, 'sweep.circuit.json'),
  text: JSON.stringify({
    model: dir,
    prompts: [{ name: 'clean', text: clean, answer: ' God', counterfactual: ' Israel' }, { name: 'corrupted', text: corrupted }],
    analyses: [{ kind: 'patching', name: 'sweep', prompt: 'clean', corrupted: 'corrupted', target: 'resid_pre', metric: 'logitDiff' }],
  }),
};

test('cancelling a patching sweep stops it within half a second; the next run is unaffected', () => withRunner({}, async (client) => {
  const [a, b] = await Promise.all([clean, corrupted].map((text) => client.request('tokenize', { model, input: { text } })));
  assert.equal(a.length, b.length, 'the prompts have equal lengths');
  assert.ok(a.length > 100);
  const normalized = 'ln_final.hook_normalized'; // every position's input to the unembedding
  const before = await client.request('trace', { model, input: { text: clean }, hooks: normalized, topK: VOCAB, keep: true });
  let progress = 0;
  const onEvent = (e: Progress) => e.done !== undefined && (progress = e.done);
  const { latency, abortedAt } = await cancelAfter('a patching sweep', 300, (signal) => client.request('analysis/run', { spec: sweepSpec, analysis: 0 }, { signal, onEvent }));
  assert.ok(latency < 500, `cancel took ${latency.toFixed(0)} ms`);
  assert.ok(progress < 6, `the sweep stopped early (${progress} of 6 layers done)`);
  // Queued behind the cancelled sweep in the worker: answered once the sweep stops at its next chunk.
  // Other hooks, so a new run (a kept run with the same model, tokens and hooks would be reused).
  const after = await client.request('trace', { model, input: { text: clean }, hooks: `${normalized},hook_embed`, topK: VOCAB, keep: true });
  const backMs = performance.now() - abortedAt;
  assert.equal(maxAbsDiff(lastLogits(after, VOCAB), lastLogits(before, VOCAB)), 0);
  assert.equal(maxAbsDiff((await hookOf(client, after, normalized)).data, (await hookOf(client, before, normalized)).data), 0);
  // Not stopped, the sweep would have kept the worker busy for seconds more (a whole one takes about 14 s here).
  console.log(`# the worker answered ${backMs.toFixed(0)} ms after the abort`);
  assert.ok(backMs < 2000, `the worker answered ${backMs.toFixed(0)} ms after the abort: it did not stop at its next chunk`);
  for (const r of [before, after]) await client.request('run/release', { runId: r.runId! });
  assert.deepEqual(await client.request('runs/usage', {}), { runs: 0, bytes: 0 }, 'the cancelled sweep left no kept run');
}));

test('disposing the client cancels the running sweep and the requests queued behind it, and returns promptly', async () => {
  const client = runnerClient();
  await client.request('model/load', { model });
  const outcome = (p: Promise<unknown>) => p.then(() => 'resolved', (e: unknown) => e);
  const sweep = outcome(client.request('analysis/run', { spec: sweepSpec, analysis: 0 }));
  const queued = outcome(client.request('trace', { model, input: { ids: [1, 2, 3] } }));
  await new Promise((r) => setTimeout(r, 300));
  const t0 = performance.now();
  await client.dispose();
  const disposeMs = performance.now() - t0;
  console.log(`# dispose during a sweep, a trace queued: ${disposeMs.toFixed(0)} ms`);
  assert.ok(isCancelled(await sweep), `the sweep: ${await sweep}`);
  assert.ok(isCancelled(await queued), `the queued trace: ${await queued}`);
  assert.ok(disposeMs < 2000, `dispose waited ${disposeMs.toFixed(0)} ms: the running sweep was not cancelled`);
});

test('cancelling a logit lens returns promptly; the lens works afterwards', () => withRunner({}, async (client) => {
  const trace = await client.request('trace', { model, input: { ids: randomTokens(1, 200, VOCAB, 6)[0] }, hooks: LOGIT_LENS_HOOKS, keep: true });
  const runId = trace.runId!;
  const { latency } = await cancelAfter('a logit lens', 5, (signal) => client.request('run/slice', { runId, slice: { kind: 'logitLens' } }, { signal }));
  assert.ok(latency < 500, `cancel took ${latency.toFixed(0)} ms`);
  const lens = (await client.request('run/slice', { runId, slice: { kind: 'logitLens', topK: 3 } })) as LogitLensSlice;
  assert.equal(lens.topTexts.length, 13 * 200 * 3); // resid_pre and resid_mid of 6 layers + final, 200 positions, top-3
  assert.equal(lens.topValues.length, 13 * 200 * 3);
}));
