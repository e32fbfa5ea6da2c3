// The host's run layer in plain Node against the bundled planted-induction model (needs `npm run build`
// for dist/worker.js; `npm test` builds first).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Engine } from '../../src/worker/engine';
import { tokenInsights } from '../../src/host/run/inline-data';
import { softmax, topK } from '../../src/engine/math';
import { attentionPayload, logitLensPayload } from '../../src/host/run/payloads';
import { PromptRun, cacheBytes, runPrompt } from '../../src/host/run/prompt-run';

const root = join(__dirname, '..', '..');
let engine: Engine;
let run: PromptRun;
const PROMPT = 'The cat sat on the mat. The cat sat on the';

before(async () => {
  engine = await Engine.open('planted-induction', { resolve: { bundledModelsDir: join(root, 'media', 'models') }, workerPath: join(root, 'dist', 'worker.js'), session: { threads: 1 } });
  run = await runPrompt(engine, PROMPT, { target: ' the' });
});
after(() => engine.dispose());

test('payloads have the shapes the panels expect', () => {
  const pos = run.tokens.length;
  const source = { kind: 'prompt', model: 'planted-induction', prompt: PROMPT } as const;
  const att = attentionPayload(run, source, [1], { layer: 1, head: 0 });
  assert.deepEqual(att.patterns.dims, [1, 2, pos, pos]);
  // layer 1 of the payload is the trace's blocks.1 pattern, batch item 0
  assert.deepEqual(att.patterns.data.subarray(0, 2 * pos * pos), run.trace.cache.get('blocks.1.attn.hook_pattern').data.subarray(0, 2 * pos * pos));
  const decode = (id: number) => engine.ckpt.tokenizer!.decode([id]);
  const lens = logitLensPayload(run, source, decode, ' the');
  assert.deepEqual(lens.labels, ['0_pre', '1_pre', 'final_post']);
  assert.equal(lens.topTexts.length, 3 * pos * 5);
  assert.equal(lens.target?.probs.length, 3 * pos);
  assert.equal(lens.tokens[1].text, 'The');
});

test('inline insights: each position\'s predictions match the softmax of the model\'s own logits', async () => {
  const decode = (id: number) => engine.ckpt.tokenizer!.decode([id]);
  const ins = tokenInsights(run, decode);
  assert.equal(ins.length, run.tokens.length);
  const full = await engine.trace([run.tokens]); // all logits [1, pos, d_vocab], independent of the lens
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
  await assert.rejects(runPrompt(engine, PROMPT, { maxTokens: 4 }), /circuitLens\.maxPromptTokens: the prompt is 18 tokens, over the limit of 4/);
  await assert.rejects(runPrompt(engine, PROMPT, { maxCacheBytes: 1000 }), /circuitLens\.cacheMemoryLimitMB: this run would cache/);
  assert.equal(cacheBytes(engine.ckpt.hooks.filter((h) => h.name === 'blocks.0.attn.hook_pattern'), 10), 4 * 2 * 10 * 10);
});
