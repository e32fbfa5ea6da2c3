// A traced prompt and the slices and inline insights the worker derives from it (src/worker/trace-run.ts),
// in plain Node against the bundled planted-induction model: what the attention and logit-lens panels
// and the editor's inline view receive, and the limits every run is checked against.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { selectHooks } from '../../src/engine/hooks';
import { softmax, topK } from '../../src/engine/math';
import { runBytes } from '../../src/engine/memory';
import { CircuitLensError } from '../../src/protocol/errors';
import { ATTENTION_HOOKS, LOGIT_LENS_HOOKS } from '../../src/protocol/runner';
import { Limits, LoadedModel } from '../../src/worker/loaded-model';
import { TraceRun, attentionSlice, decoder, lensOf, lensSlice, tokenInsights, traceRun } from '../../src/worker/trace-run';
import { openModel } from '../helpers/engine';

const root = join(__dirname, '..', '..');
let model: LoadedModel;
let run: TraceRun;
let limits: Limits = {};
const PROMPT = 'The cat sat on the mat. The cat sat on the';

before(async () => {
  model = await openModel('planted-induction', { resolve: { bundledModelsDir: join(root, 'media', 'models') }, limits: () => limits });
  // As the runner traces a spec prompt for its views: patterns and the residual stream, last-position logits.
  const tokens = model.tokenize(PROMPT);
  const trace = await model.trace([tokens], { hooks: selectHooks(model.ckpt.hooks, `${ATTENTION_HOOKS},${LOGIT_LENS_HOOKS}`, 'cache'), logits: 'last' });
  run = traceRun(model, tokens, trace);
});
after(() => model.dispose());

test('slices have the shapes the panels expect', async () => {
  const pos = run.tokens.length;
  const att = attentionSlice(run, [1], { layer: 1, head: 0 });
  assert.deepEqual(att.patterns.dims, [1, 2, pos, pos]);
  assert.deepEqual(att.layers, [1]);
  assert.deepEqual(att.focus, { layer: 1, head: 0 });
  // layer 1 of the slice is the trace's blocks.1 pattern, batch item 0
  assert.deepEqual(att.patterns.data.subarray(0, 2 * pos * pos), run.trace.cache.get('blocks.1.attn.hook_pattern').data.subarray(0, 2 * pos * pos));
  const all = attentionSlice(run, undefined, undefined);
  assert.deepEqual([all.layers, all.focus, all.patterns.dims], [[0, 1], { layer: 0, head: 0 }, [2, 2, pos, pos]]);
  assert.throws(() => attentionSlice(run, [2], undefined), /layer 2 is out of range: this model has 2/);
  const lens = await lensSlice(model, run, ' the', 5);
  assert.deepEqual(lens.labels, ['0_pre', '1_pre', 'final_post']);
  assert.equal(lens.topTexts.length, 3 * pos * 5);
  assert.equal(lens.target?.probs.length, 3 * pos);
  assert.equal(lens.target?.text, ' the');
  assert.equal(lens.tokens[1].text, 'The');
  // Another target unembeds the kept residual stream again (the model does not run); the same one is kept.
  const other = await lensSlice(model, run, ' on', 5);
  assert.ok(other.target!.probs.some((p, i) => p !== lens.target!.probs[i]));
  assert.deepEqual(other.topProbs, lens.topProbs);
  assert.equal(run.lenses.size, 2);
  await lensSlice(model, run, ' the', 5);
  assert.equal(run.lenses.size, 2);
  // A target that is not one token colours the lens by the top token, with a note.
  const many = await lensSlice(model, run, ' the cat', 5);
  assert.equal(many.target, undefined);
  assert.match(many.targetNote ?? '', /coloured by the top token/);
});

test('inline insights: each position\'s predictions match the softmax of the model\'s own logits', async () => {
  const decode = decoder(model);
  const ins = tokenInsights(run, await lensOf(model, run, 5, undefined), decode);
  assert.equal(ins.length, run.tokens.length);
  const full = await model.trace([run.tokens]); // all logits [1, pos, d_vocab], independent of the lens
  const vocab = full.logits.dims[2];
  for (const [q, insight] of ins.entries()) {
    const probs = softmax(full.logits.data.subarray(q * vocab, (q + 1) * vocab));
    const want = topK(probs, 5);
    // Rank by rank the same probabilities (ties may list equal tokens in another order).
    insight.next.forEach((p, j) => assert.ok(Math.abs(p.prob - want[j].value) < 1e-4, `position ${q}, rank ${j}: ${p.prob} vs ${want[j].value}`));
    const byText = new Map(want.map((w) => [decode(w.index), w.value]));
    for (const p of insight.next) if (!byText.has(p.text)) assert.ok(Math.abs(p.prob - want[4].value) < 1e-4, `${p.text} is in the top 5 or tied with the 5th`);
  }
  const last = ins[ins.length - 1];
  assert.equal(last.next.length, 5);
  assert.equal(last.heads.length, 3);
  // The three heads are the ones with the largest single weight from the last token (brute force).
  const pos = run.tokens.length;
  const best = [0, 1].flatMap((l) => [0, 1].map((h) => {
    const row = run.trace.cache.get(`blocks.${l}.attn.hook_pattern`).data.subarray((h * pos + pos - 1) * pos, (h * pos + pos) * pos);
    return Math.max(...row);
  })).sort((a, b) => b - a);
  assert.deepEqual(last.heads.map((h) => h.weight), best.slice(0, 3));
  for (const h of last.heads) assert.ok(h.key <= last.pos && h.weight > 0 && h.weight <= 1 + 1e-6);
});

test('EXPECTED FAILURE - limits on prompt length and cache size', async () => {
  const overLimit = (pattern: RegExp, name: string) => (e: unknown) => e instanceof CircuitLensError && e.code === 'OVER_LIMIT' && e.field === name && pattern.test(e.message);
  try {
    limits = { promptTokens: { value: 4, name: 'circuitLens.maxPromptTokens' } };
    assert.throws(() => model.tokenize(PROMPT), overLimit(/circuitLens\.maxPromptTokens: the prompt is 18 tokens, over the limit of 4\. .*raise circuitLens\.maxPromptTokens/, 'circuitLens.maxPromptTokens'));
    limits = { cacheBytes: { value: 1000, name: 'circuitLens.cacheMemoryLimitMB' } };
    const hooks = selectHooks(model.ckpt.hooks, `${ATTENTION_HOOKS},${LOGIT_LENS_HOOKS}`, 'cache');
    await assert.rejects(model.trace([run.tokens], { hooks, logits: 'last' }),
      overLimit(/circuitLens\.cacheMemoryLimitMB: A run of 1 x 18 tokens caching \d+ hook points needs about .* MB for its activations, over the limit of 0\.0 MB\. .*raise circuitLens\.cacheMemoryLimitMB/, 'circuitLens.cacheMemoryLimitMB'));
  } finally {
    limits = {};
  }
  const pattern = model.ckpt.hooks.filter((h) => h.name === 'blocks.0.attn.hook_pattern');
  assert.equal(runBytes(model.ckpt.config, pattern, 1, 10, true), 4 * 2 * 10 * 10 + 4 * model.ckpt.config.dVocab);
});
