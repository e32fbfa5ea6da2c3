/**
 * Edge attribution against the independent PyTorch reference (test/reference/eap_reference.py, its own
 * graph code and autograd) on random GPT-2 checkpoints: the edge-ablated circuit's metric (patch, zero and
 * mean ablation) within 1e-4 of the reference's edge-ablated forward; EAP and EAP-IG edge scores within
 * 1e-4 of the largest score; the graph's edge count (32,491 for GPT-2 small, as EAP-IG's).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { withModel } from '../helpers/engine';
import { tokensFromIds } from '../../src/engine/model';
import { parseConfig } from '../../src/engine/config';
import { edgeGraph, edgeLabel } from '../../src/engine/analysis/edge-graph';
import { measureEdgeCircuit, pairRuns } from '../../src/engine/analysis/edge-circuit';
import * as path from 'node:path';
import { ROOT, makeRandomCheckpoint } from '../helpers/reference';
import { ReferencePair, referenceEdgeCircuit, referenceEdgeScores } from '../helpers/eap-reference';
import { edgeAttribution } from '../../src/engine/analysis/edge-attribution';
import { EngineError } from '../../src/engine/errors';

test("GPT-2 small's graph has EAP-IG's 157 sources, 445 destinations and 32,491 edges", () => {
  const g = edgeGraph(parseConfig({ model_type: 'gpt2', n_layer: 12, n_embd: 768, n_head: 12, n_positions: 1024, vocab_size: 50257 }, 'config.json'));
  assert.equal(g.sources.length, 157);
  assert.equal(g.destinations.length, 445);
  assert.equal(g.edgeCount, 32491);
  assert.equal(edgeLabel(g, 0), 'input->a0.h0<q>');
  assert.equal(edgeLabel(g, g.edgeCount - 1), 'm11->logits');
  // a0.h3 feeds m0 (attention before the MLP in one block), and nothing of layer 1 feeds layer 1's heads.
  const labels = new Set(Array.from({ length: g.edgeCount }, (_, e) => edgeLabel(g, e)));
  assert.ok(labels.has('a0.h3->m0') && labels.has('m0->a1.h0<k>') && !labels.has('a1.h0->a1.h1<q>') && !labels.has('m1->a1.h0<v>'));
});

test('EXPECTED FAILURE - edge attribution refuses post-norm models and names the reason', () => {
  const olmo = parseConfig({ model_type: 'olmo2', num_hidden_layers: 1, hidden_size: 32, num_attention_heads: 4, intermediate_size: 64, vocab_size: 100, max_position_embeddings: 32 }, 'config.json');
  assert.throws(() => edgeGraph(olmo), (e: unknown) => e instanceof EngineError && /post norms/.test(e.message));
});

const SHAPE = { layers: 2, dModel: 32, heads: 4, dMlp: 64, vocab: 60, ctx: 24, dtype: 'F32' as const, seed: 151 };
const CLEAN = [59, 4, 17, 33, 8, 21, 4, 17];
const CORRUPTED = [59, 4, 17, 12, 8, 21, 40, 17];

/** A seeded kept set: about `share` of the edges. */
function randomKept(n: number, share: number, seed: number): Uint8Array {
  let s = seed;
  return Uint8Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 < share ? 1 : 0));
}

test('the edge-ablated circuit metric equals the reference edge-ablated forward (patch, zero, mean) within 1e-4', async () => {
  const dir = makeRandomCheckpoint(SHAPE);
  const ref: ReferencePair = { model: dir, clean: CLEAN, corrupted: CORRUPTED, answer: 17, counterfactual: 40 };
  await withModel(dir, async (m) => {
    const graph = edgeGraph(m.ckpt.config);
    const metric = { kind: 'logitDiff' as const, answer: ref.answer, counterfactual: ref.counterfactual };
    const runs = [await pairRuns(m, graph, { clean: tokensFromIds(m.ckpt, CLEAN), corrupted: tokensFromIds(m.ckpt, CORRUPTED), metric })];
    const kept = randomKept(graph.edgeCount, 0.4, 7);
    for (const ablation of ['patch', 'zero', 'mean'] as const) {
      const mine = await measureEdgeCircuit(m, graph, runs, kept, { ablation });
      const theirs = referenceEdgeCircuit(ref, kept, ablation);
      assert.ok(Math.abs(mine.full - theirs.full) < 1e-4, `${ablation} full: ${mine.full} vs ${theirs.full}`);
      assert.ok(Math.abs(mine.none - theirs.none) < 1e-4, `${ablation} none: ${mine.none} vs ${theirs.none}`);
      assert.ok(Math.abs(mine.circuit - theirs.circuit) < 1e-4, `${ablation} circuit: ${mine.circuit} vs ${theirs.circuit}`);
      // Not vacuous: the circuit is neither the full model nor everything ablated.
      assert.ok(Math.abs(mine.circuit - mine.full) > 1e-2 && Math.abs(mine.circuit - mine.none) > 1e-2, `${ablation}: ${JSON.stringify(mine)}`);
      if (ablation === 'patch') assert.ok(Math.abs(mine.none - runs[0].mCorrupted) < 1e-4, 'every edge patched is the corrupted run');
    }
    // Keeping every edge is the full model.
    const all = await measureEdgeCircuit(m, graph, runs, new Uint8Array(graph.edgeCount).fill(1), { ablation: 'zero' });
    assert.ok(Math.abs(all.circuit - all.full) < 1e-4 && Math.abs(all.faithfulness - 1) < 1e-4);
  });
});

for (const method of ['eap', 'eapIg'] as const) {
  test(`${method} edge scores equal the reference's autograd scores within 1e-4 of the largest, and its circuit's faithfulness the reference's`, async () => {
    const dir = makeRandomCheckpoint({ ...SHAPE, seed: method === 'eap' ? 152 : 153 });
    const ref: ReferencePair = { model: dir, clean: CLEAN, corrupted: CORRUPTED, answer: 17, counterfactual: 40 };
    const theirs = referenceEdgeScores(ref, method, 5);
    await withModel(dir, async (m) => {
      const metric = { kind: 'logitDiff' as const, answer: ref.answer, counterfactual: ref.counterfactual };
      const pair = { clean: tokensFromIds(m.ckpt, CLEAN), corrupted: tokensFromIds(m.ckpt, CORRUPTED), metric };
      const r = await edgeAttribution(m, [pair], { method, steps: 5, topN: 40, ablation: 'patch' });
      assert.equal(r.scores.length, theirs.edges);
      assert.ok(Math.abs(r.clean - theirs.clean) < 1e-4 && Math.abs(r.corrupted - theirs.corrupted) < 1e-4);
      const largest = Math.max(...Array.from(theirs.scores, Math.abs));
      let worst = 0;
      r.scores.forEach((s, e) => (worst = Math.max(worst, Math.abs(s - theirs.scores[e]))));
      assert.ok(largest > 1e-2, `scores are not vacuous (largest ${largest})`);
      assert.ok(worst <= 1e-4 * largest, `worst ${worst} vs largest ${largest}`);
      const circuit = referenceEdgeCircuit(ref, r.kept, 'patch');
      const expected = (circuit.circuit - circuit.none) / (circuit.full - circuit.none);
      assert.ok(Math.abs(r.faithfulness.faithfulness - expected) < 1e-4, `faithfulness ${r.faithfulness.faithfulness} vs ${expected}`);
      assert.equal(r.backwards, method === 'eap' ? 1 : 5);
    });
  });
}

test('planted-induction: EAP-IG ranks the induction circuit first (prev-token output -> 1.1 key, embeddings -> 1.1 value and 0.0 value, 1.1 -> logits); EAP misses the key edge (saturated softmax)', async () => {
  // BOS + A + A[0..18], the answer A[19]; corrupted: BOS + B + A[0..18], where A[18] never occurred before.
  let s = 7;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const A = Array.from({ length: 20 }, () => 5 + Math.floor(rnd() * 1000));
  const B = Array.from({ length: 20 }, () => 5 + Math.floor(rnd() * 1000));
  await withModel(path.join(ROOT, 'media', 'models', 'planted-induction'), async (m) => {
    const pair = { clean: tokensFromIds(m.ckpt, [1023, ...A, ...A.slice(0, 19)]), corrupted: tokensFromIds(m.ckpt, [1023, ...B, ...A.slice(0, 19)]), metric: { kind: 'logitDiff' as const, answer: A[19], counterfactual: B[0] } };
    const induction = ['a1.h1->logits', 'input->a1.h1<v>', 'input->a0.h0<v>', 'a0.h0->a1.h1<k>'];
    const ig = await edgeAttribution(m, [pair], { method: 'eapIg', steps: 8, topN: 4, ablation: 'patch' });
    const top = (r: typeof ig, n: number) => Array.from(r.scores.keys()).sort((a, b) => Math.abs(r.scores[b]) - Math.abs(r.scores[a])).slice(0, n).map((e) => edgeLabel(r.graph, e));
    assert.deepEqual(new Set(top(ig, 4)), new Set(induction), top(ig, 6).join(', '));
    // Every edge of the circuit matters the way the task needs (noising lowers the metric).
    for (const e of ig.kept.keys()) if (ig.kept[e]) assert.ok(ig.scores[e] < -0.1, `${edgeLabel(ig.graph, e)} ${ig.scores[e]}`);
    assert.ok(ig.faithfulness.faithfulness > 0.99, `faithfulness ${ig.faithfulness.faithfulness}`);
    const eap = await edgeAttribution(m, [pair], { method: 'eap', topN: 4, ablation: 'patch' });
    assert.deepEqual(top(eap, 2), ['a1.h1->logits', 'input->a1.h1<v>']);
    const keyEdge = Array.from(eap.scores.keys()).find((e) => edgeLabel(eap.graph, e) === 'a0.h0->a1.h1<k>')!;
    assert.ok(Math.abs(eap.scores[keyEdge]) < 1e-3, `EAP's key edge ${eap.scores[keyEdge]}`);
  });
});

test("an intervention on one head's hook_q_input and the edge ablation of that input's edges agree (patched from the corrupted run)", async () => {
  const dir = makeRandomCheckpoint({ ...SHAPE, seed: 154 });
  await withModel(dir, async (m) => {
    const graph = edgeGraph(m.ckpt.config);
    const metric = { kind: 'logitDiff' as const, answer: 17, counterfactual: 40 };
    const pair = { clean: tokensFromIds(m.ckpt, CLEAN), corrupted: tokensFromIds(m.ckpt, CORRUPTED), metric };
    const runs = [await pairRuns(m, graph, pair)];
    // Every edge into a1.h2<q> ablated: that input becomes the corrupted run's resid_pre of layer 1.
    const dest = graph.destinations.findIndex((d) => d.label === 'a1.h2<q>');
    const kept = Uint8Array.from({ length: graph.edgeCount }, (_, e) => (e >= graph.offsets[dest] && e < graph.offsets[dest + 1] ? 0 : 1));
    const edges = await measureEdgeCircuit(m, graph, runs, kept, { ablation: 'patch' });
    const corrupted = await m.trace([pair.corrupted], { hooks: m.ckpt.hooks.filter((h) => h.name === 'blocks.1.hook_resid_pre') });
    const resid = corrupted.cache.get('blocks.1.hook_resid_pre').data; // [1, pos, d_model]
    const [pos, d, heads] = [CLEAN.length, SHAPE.dModel, SHAPE.heads];
    const keep = new Float32Array(pos * heads).fill(1); // [1, pos, head, 1]
    const add = new Float32Array(pos * heads * d); // [1, pos, head, d_model]
    for (let p = 0; p < pos; p++) {
      keep[p * heads + 2] = 0;
      add.set(resid.subarray(p * d, (p + 1) * d), (p * heads + 2) * d);
    }
    const run = await m.trace([pair.clean], { interventions: [{ hook: 'blocks.1.hook_q_input', keep: { dims: [1, pos, heads, 1], data: keep }, add: { dims: [1, pos, heads, d], data: add } }], logits: 'last' });
    const intervened = run.logits.data[metric.answer] - run.logits.data[metric.counterfactual];
    assert.ok(Math.abs(intervened - edges.circuit) < 1e-4, `${intervened} vs ${edges.circuit}`);
    assert.ok(Math.abs(intervened - edges.full) > 1e-3, 'the patched query input changes the metric');
  });
});
