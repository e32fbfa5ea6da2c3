/**
 * Ablation: zero ablation of a head and of a layer against the PyTorch reference with the same
 * intervention; mean ablation with the mean over the prompt itself changes nothing; resample ablation
 * averages over its sources; neuron ablation in bounded chunks; over a dataset, the mean over its prompts.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { tokensFromIds } from '../../src/engine/model';
import { ablate } from '../../src/engine/analysis/ablation';
import { metricValues } from '../../src/engine/analysis/metrics';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadDataset } from '../../src/engine/datasets/load';
import { runCircuitAnalysis } from '../../src/engine/analysis/run-circuit';
import type { CircuitAnalysis } from '../../src/engine/spec/circuit-kinds';
import { parseSpec } from '../../src/engine/spec/parse';
import { withModel } from '../helpers/engine';
import { makeRandomCheckpoint, referenceActivations } from '../helpers/reference';

const dir = makeRandomCheckpoint({ layers: 2, dModel: 32, heads: 4, dMlp: 48, vocab: 100, ctx: 16, dtype: 'F32', seed: 61 });
const ids = [4, 8, 15, 16, 23, 42, 7];
const metric = { kind: 'logitDiff' as const, answer: 3, counterfactual: 9 };
const one = (dims: number[], f: (i: number) => number) => ({ dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => f(i)) });

test('zero ablation of heads and layers matches the reference with the same interventions', () => withModel(dir, async (engine) => {
  const prompt = tokensFromIds(engine.ckpt, ids);
  const heads = await ablate(engine, prompt, { unit: 'heads', kind: 'zero', metric });
  const layers = await ablate(engine, prompt, { unit: 'layers', kind: 'zero', metric });
  const ld = (ivs: Parameters<typeof referenceActivations>[2]) => metricValues(referenceActivations(dir, [ids], ivs).get('logits')!, metric, [ids])[0];
  const base = ld([]);
  assert.ok(Math.abs(heads.baseline - base) < 1e-4);
  for (const [l, h] of [[0, 1], [1, 3]]) {
    const ref = ld([{ hook: `blocks.${l}.attn.hook_z`, keep: one([1, 1, 4, 1], (i) => (i === h ? 0 : 1)), add: one([1], () => 0) }]);
    assert.ok(Math.abs(heads.change[l * 4 + h] - (ref - base)) < 1e-4, `head ${l}.${h}`);
  }
  const zero = one([1], () => 0);
  const refLayer1 = ld([{ hook: 'blocks.1.hook_attn_out', keep: zero, add: zero }, { hook: 'blocks.1.hook_mlp_out', keep: zero, add: zero }]);
  assert.ok(Math.abs(layers.change[1] - (refLayer1 - base)) < 1e-4);
  assert.ok(heads.change.some((c) => Math.abs(c) > 1e-2), 'some head matters');
}));

test('mean ablation with the mean over the prompt itself is no change', () => withModel(dir, async (engine) => {
  const prompt = tokensFromIds(engine.ckpt, ids);
  for (const unit of ['heads', 'neurons', 'layers'] as const) {
    const r = await ablate(engine, prompt, { unit, kind: 'mean', metric, reference: [prompt], neurons: [0, 5, 47] });
    assert.ok(r.change.every((c) => c === 0), `${unit}: ${[...r.change]}`);
  }
}));

test('resample ablation averages the change over its sources; chosen positions only', () => withModel(dir, async (engine) => {
  const prompt = tokensFromIds(engine.ckpt, ids);
  const [a, b] = [[1, 2, 3, 4, 5, 6, 7], [9, 9, 9, 9, 9, 9, 9]].map((r) => tokensFromIds(engine.ckpt, r));
  const both = await ablate(engine, prompt, { unit: 'heads', kind: 'resample', metric, reference: [a, b], positions: [6] });
  const ra = await ablate(engine, prompt, { unit: 'heads', kind: 'resample', metric, reference: [a], positions: [6] });
  const rb = await ablate(engine, prompt, { unit: 'heads', kind: 'resample', metric, reference: [b], positions: [6] });
  both.change.forEach((c, i) => assert.ok(Math.abs(c - (ra.change[i] + rb.change[i]) / 2) < 1e-5));
}));

test('neuron ablation runs in chunks bounded by maxPatchBytes, with the same result', () => withModel(dir, async (engine) => {
  const prompt = tokensFromIds(engine.ckpt, ids);
  let runs = 0;
  const small = await ablate(engine, prompt, { unit: 'neurons', kind: 'zero', metric, layers: [1], maxPatchBytes: 4000, onProgress: () => runs++ });
  const big = await ablate(engine, prompt, { unit: 'neurons', kind: 'zero', metric, layers: [1] });
  assert.ok(runs > 4);
  assert.equal(small.units.length, 48);
  small.change.forEach((c, i) => assert.ok(Math.abs(c - big.change[i]) < 1e-5));
}));

test('ablation over a dataset: the mean change over its prompts, each with its own answer tokens, and the spread', () => withModel(dir, async (engine) => {
  const rows = [[4, 8, 15, 16, 23, 42, 7], [1, 2, 3, 4, 5, 6, 7], [9, 9, 8, 8, 7, 7, 6]];
  const answers = [[3, 9], [5, 1], [2, 8]];
  const specDir = fs.mkdtempSync(path.join(os.tmpdir(), 'circuit-lens-ablation-'));
  fs.writeFileSync(path.join(specDir, 'd.jsonl'), rows.map((tokens, i) => JSON.stringify({ tokens, answer: answers[i][0], counterfactual: answers[i][1] })).join('\n'));
  const file = path.join(specDir, 'a.circuit.json');
  const text = JSON.stringify({ datasets: { d: { file: 'd.jsonl' } }, analyses: [{ kind: 'ablation', dataset: 'd', method: 'mean' }] });
  const { spec, problems } = parseSpec(text);
  assert.deepEqual(problems, []);
  const out = await runCircuitAnalysis({ tracer: engine, prompts: [], dataset: () => loadDataset(engine, spec.datasets[0], file) }, spec.analyses[0] as CircuitAnalysis);
  const reference = rows.map((r) => tokensFromIds(engine.ckpt, r));
  const each = await Promise.all(rows.map((r, i) => ablate(engine, tokensFromIds(engine.ckpt, r), { unit: 'heads', kind: 'mean', reference, metric: { kind: 'logitDiff', answer: answers[i][0], counterfactual: answers[i][1] } })));
  out.values.forEach((v, k) => {
    const xs = each.map((r) => r.change[k]);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(Math.abs(v - mean) < 1e-5, `cell ${k}: ${v} vs ${mean}`);
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    assert.ok(Math.abs(out.parts![0].values[k] - sd) < 1e-5, `spread of cell ${k}`);
  });
  assert.match(out.summary!, /logitDiff on 3 prompts from d\.jsonl/);
}));
