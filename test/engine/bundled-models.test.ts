/**
 * The bundled models through the engine, on the shipped weights (issue 3's bar):
 * - demo: on BOS + 50 random tokens repeated once, a head in layer >= 1 with induction score >= 0.7, a
 *   layer-0 head with previous-token score >= 0.7, and the repeated half's loss at least 2 nats lower.
 * - planted-induction: the detectors rank the planted heads (0.0 previous-token, 1.1 induction) first
 *   with scores >= 0.95, on sequences the build script never saw.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { openModel } from '../helpers/engine';
import { selectHooks } from '../../src/engine/hooks';
import { tokensFromIds } from '../../src/engine/model';
import { detectHeads, rankHeads, repeatedRandomTokens, runHeadDetectors } from '../../src/engine/analysis/head-detectors';
import { activationPatching } from '../../src/engine/analysis/patching';
import { ROOT } from '../helpers/reference';
import { tokenLosses } from '../helpers/tensors';

const MODELS = path.join(ROOT, 'media', 'models');
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function repeatedTrace(name: string, seed: number) {
  const engine = await openModel(name, { resolve: { bundledModelsDir: MODELS } });
  const { dVocab } = engine.ckpt.config;
  const bos = engine.ckpt.tokenizer!.bosTokenId!;
  const rows = repeatedRandomTokens(16, 50, dVocab, bos, seed); // [16][101]
  const trace = await engine.trace(rows.map((r) => tokensFromIds(engine.ckpt, r)), { hooks: selectHooks(engine.ckpt.hooks, 'blocks.*.attn.hook_pattern') });
  await engine.dispose();
  const losses = tokenLosses(trace.logits, rows); // losses[b][p] predicts token p + 1
  return {
    rows,
    trace,
    firstHalfLoss: mean(losses.flatMap((r) => r.slice(0, 50))), // targets 1..50
    repeatedHalfLoss: mean(losses.flatMap((r) => r.slice(51, 100))), // targets 52..100
  };
}

test('demo model: an induction head after layer 0, a previous-token head in layer 0, and in-context copying', async () => {
  const r = await repeatedTrace('demo', 2026);
  const induction = rankHeads(detectHeads(r.trace.cache, r.rows, 'induction')).filter((h) => h.layer >= 1);
  const previous = rankHeads(detectHeads(r.trace.cache, r.rows, 'previous-token')).filter((h) => h.layer === 0);
  assert.ok(induction[0].score >= 0.7, `best induction head ${induction[0].layer}.${induction[0].head}: ${induction[0].score.toFixed(3)}`);
  assert.ok(previous[0].score >= 0.7, `best previous-token head 0.${previous[0].head}: ${previous[0].score.toFixed(3)}`);
  assert.ok(r.firstHalfLoss - r.repeatedHalfLoss >= 2, `loss ${r.firstHalfLoss.toFixed(2)} -> ${r.repeatedHalfLoss.toFixed(2)}`);
});

test('runHeadDetectors on generated repeated random tokens finds the planted heads', async () => {
  const engine = await openModel('planted-induction', { resolve: { bundledModelsDir: MODELS } });
  try {
    const r = await runHeadDetectors(engine, { random: { rows: 4, length: 30, seed: 99 } });
    const [prev, , induction] = r.scores.map(rankHeads);
    assert.deepEqual([prev[0].layer, prev[0].head, induction[0].layer, induction[0].head], [0, 0, 1, 1]);
    assert.ok(prev[0].score >= 0.95 && induction[0].score >= 0.95);
  } finally {
    await engine.dispose();
  }
});

test('planted-induction model: detectors rank the planted heads first with scores >= 0.95', async () => {
  const r = await repeatedTrace('planted-induction', 777);
  const previous = rankHeads(detectHeads(r.trace.cache, r.rows, 'previous-token'));
  const induction = rankHeads(detectHeads(r.trace.cache, r.rows, 'induction'));
  assert.deepEqual([previous[0].layer, previous[0].head], [0, 0]);
  assert.ok(previous[0].score >= 0.95, `0.0 previous-token ${previous[0].score}`);
  assert.deepEqual([induction[0].layer, induction[0].head], [1, 1]);
  assert.ok(induction[0].score >= 0.95, `1.1 induction ${induction[0].score}`);
  assert.ok(previous[1].score < 0.5 && induction[1].score < 0.5, 'no other head looks planted');
  assert.ok(r.firstHalfLoss - r.repeatedHalfLoss >= 2, `the induction head copies: loss ${r.firstHalfLoss.toFixed(2)} -> ${r.repeatedHalfLoss.toFixed(2)}`);
});

test('demo model: patching the induction head\'s output on a repeated sequence moves the metric more than any other head', async () => {
  const engine = await openModel('demo', { resolve: { bundledModelsDir: MODELS } });
  try {
    const { dVocab } = engine.ckpt.config;
    const bos = engine.ckpt.tokenizer!.bosTokenId!;
    const [repeated] = repeatedRandomTokens(1, 30, dVocab, bos, 4242); // BOS A A
    const [other] = repeatedRandomTokens(1, 30, dVocab, bos, 4343);
    const broken = [...repeated.slice(0, 31), ...other.slice(31)]; // BOS A B: nothing to copy
    const metric = { kind: 'loss' as const, from: 32, to: 61 }; // the second half's tokens
    const r = await activationPatching(engine, tokensFromIds(engine.ckpt, repeated), tokensFromIds(engine.ckpt, broken), { target: 'heads', metric, direction: 'noise' });
    const moved = Array.from(r.values, (v, i) => ({ head: `${r.layers[Math.floor(i / r.units.length)]}.${i % r.units.length}`, by: Math.abs(1 - v) }));
    moved.sort((a, b) => b.by - a.by);
    const detectors = await runHeadDetectors(engine, { random: { rows: 8, length: 50, seed: 7 } }, ['induction']);
    const best = rankHeads(detectors.scores[0])[0];
    assert.equal(moved[0].head, `${best.layer}.${best.head}`, JSON.stringify(moved));
    assert.ok(moved[0].by > 2 * moved[1].by, JSON.stringify(moved));
  } finally {
    await engine.dispose();
  }
});
