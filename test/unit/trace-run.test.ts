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
import { TraceRun, attentionSlice, decoder, headWindow, lensOf, lensSlice, tokenInsights, traceRun } from '../../src/worker/trace-run';
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
  assert.deepEqual([att.layers, att.focus, att.hooks, att.thumbnails.size], [[1], { layer: 1, head: 0 }, ['pattern', 'attn_scores'], pos]);
  assert.equal(att.thumbnails.data.length, 2 * pos * pos);
  const all = attentionSlice(run, undefined, undefined);
  assert.deepEqual([all.layers, all.focus, all.thumbnails.data.length], [[0, 1], { layer: 0, head: 0 }, 2 * 2 * pos * pos]);
  // The large head: a window of the trace's blocks.1 pattern of head 1, exact or max-pooled; masked cells NaN.
  const cached = run.trace.cache.get('blocks.1.attn.hook_pattern').data; // [batch, head, q, k]
  const at = (q: number, k: number) => cached[(pos + q) * pos + k];
  const exactWin = headWindow(run, { layer: 1, head: 1, hook: 'pattern', q: [0, pos], k: [0, pos], maxCells: 1024 });
  assert.deepEqual([exactWin.rows, exactWin.cols], [pos, pos]);
  let max = 0;
  for (let q = 0; q < pos; q++) {
    for (let k = 0; k < pos; k++) {
      const v = exactWin.values[q * pos + k];
      if (k > q) assert.ok(Number.isNaN(v), `masked ${q},${k}`);
      else {
        assert.equal(v, at(q, k));
        max = Math.max(max, v);
      }
    }
  }
  assert.equal(exactWin.max, max);
  const half = Math.floor(pos / 2);
  const pooled = headWindow(run, { layer: 1, head: 1, hook: 'pattern', q: [0, 2 * half], k: [0, 2 * half], maxCells: half });
  assert.deepEqual([pooled.rows, pooled.cols], [half, half]);
  assert.equal(pooled.values[(half - 1) * half + 0], Math.max(at(2 * half - 2, 0), at(2 * half - 2, 1), at(2 * half - 1, 0), at(2 * half - 1, 1)));
  assert.ok(Number.isNaN(pooled.values[0 * half + 1])); // queries 0-1 cannot see keys 2-3
  const scores = run.trace.cache.get('blocks.1.attn.hook_attn_scores').data;
  const part = headWindow(run, { layer: 1, head: 1, hook: 'attn_scores', q: [3, 4], k: [0, pos], maxCells: pos });
  assert.deepEqual([part.rows, part.cols], [1, pos]);
  assert.equal(part.values[2], scores[(pos + 3) * pos + 2]); // query 3, key 2
  assert.ok(Number.isNaN(part.values[4])); // query 3 cannot see key 4
  assert.throws(() => headWindow(run, { layer: 1, head: 1, hook: 'pattern', q: [0, pos + 1], k: [0, 1], maxCells: 4 }), /past the prompt/);
  assert.throws(() => attentionSlice(run, [2], undefined), /layer 2 is out of range: this model has 2/);
  const lens = await lensSlice(model, run, ' the', 5);
  assert.deepEqual([lens.mode, lens.labels], ['resid', ['0_pre', '0_mid', '1_pre', '1_mid', 'final_post']]);
  assert.equal(lens.topTexts.length, 5 * pos * 5);
  assert.equal(lens.target?.values.length, 5 * pos);
  assert.equal(lens.target?.text, ' the');
  assert.equal(lens.tokens[1].text, 'The');
  // Another target unembeds the kept residual stream again (the model does not run); the same one is kept.
  const other = await lensSlice(model, run, ' on', 5);
  assert.ok(other.target!.values.some((p, i) => p !== lens.target!.values[i]));
  assert.deepEqual(other.topValues, lens.topValues);
  assert.equal(run.lenses.size, 2);
  await lensSlice(model, run, ' the', 5);
  assert.equal(run.lenses.size, 2);
  // The decomposed view: the embeddings and each attention and MLP output, as logits, kept apart.
  const dec = await lensSlice(model, run, ' the', 5, undefined, 'decomposed');
  assert.deepEqual([dec.mode, dec.labels], ['decomposed', ['embed', 'pos_embed', '0_attn_out', '0_mlp_out', '1_attn_out', '1_mlp_out']]);
  assert.deepEqual([dec.topValues.length, dec.target?.values.length], [6 * pos * 5, 6 * pos]);
  assert.ok(dec.topValues.some((v) => v > 1), 'logits, not probabilities');
  assert.equal(run.lenses.size, 3);
  // A target that is not one token is refused, naming its tokens; nothing is unembedded for it.
  await assert.rejects(lensSlice(model, run, ' on the', 5), (e: unknown) => e instanceof CircuitLensError && e.code === 'BAD_INPUT'
    && /^target: " on the" is 2 tokens for this model: " on" \+ " the"; the lens is coloured by exactly one\./.test(e.message));
  await assert.rejects(lensSlice(model, run, 'the', 5), /Did you mean " the" \(with a leading space\)\?/);
  assert.equal(run.lenses.size, 3);
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
