/**
 * The circuit kind against the independent PyTorch reference (test/reference/circuit_reference.py):
 * faithfulness, minimality and completeness within 1e-4 on a random GPT-2 checkpoint, for zero, mean,
 * resample and patch ablation, circuits of heads, of MLP layers, of both, and of neurons (and a Llama with
 * grouped-query attention), with the
 * logit-difference and loss metrics; the dataset comes from a JSONL file of token ids. On the planted
 * model the induction circuit 0.0 + 1.1 is exactly faithful, and a circuit without head 1.1 fails.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadDataset } from '../../src/engine/datasets/load';
import { runCircuitTest } from '../../src/engine/analysis/run-circuit-test';
import { measureCircuit } from '../../src/engine/analysis/circuit';
import { parseSpec } from '../../src/engine/spec/parse';
import type { AnalysisOutput } from '../../src/protocol/analysis';
import type { LoadedModel } from '../../src/worker/loaded-model';
import { extremeNextTokens, withModel } from '../helpers/engine';
import { makeFamilyCheckpoint } from '../helpers/family-reference';
import { BUNDLED_MODELS } from '../helpers/runner';
import { PYTHON, ROOT, makeRandomCheckpoint, randomTokens, tmpDir } from '../helpers/reference';

const REFERENCE = path.join(ROOT, 'test', 'reference', 'circuit_reference.py');
const pyEnv = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', OMP_WAIT_POLICY: 'PASSIVE' };

const dir = makeRandomCheckpoint({ layers: 2, dModel: 32, heads: 4, dMlp: 24, vocab: 100, ctx: 16, dtype: 'F32', seed: 71 });
const prompts = randomTokens(5, 7, 99, 3);
const corrupted = randomTokens(5, 7, 99, 4);
const reference = randomTokens(3, 7, 99, 5);
// Each prompt's most and least likely next token on the model under test: a logit difference the components carry.
let answers: number[] = [];
let counterfactuals: number[] = [];

async function setAnswers(model: LoadedModel): Promise<void> {
  ({ answers, counterfactuals } = await extremeNextTokens(model, prompts));
}

/** A spec whose datasets are JSONL files of token ids, written next to it. */
function specFile(analysis: Record<string, unknown>): string {
  const d = tmpDir('circuit');
  const lines = (rows: number[][], extra: (i: number) => Record<string, unknown>) => rows.map((tokens, i) => JSON.stringify({ tokens, ...extra(i) })).join('\n') + '\n';
  fs.writeFileSync(path.join(d, 'prompts.jsonl'), lines(prompts, (i) => ({ answer: answers[i], counterfactual: counterfactuals[i], corrupted: corrupted[i] })));
  fs.writeFileSync(path.join(d, 'reference.jsonl'), lines(reference, () => ({})));
  const file = path.join(d, 'c.circuit.json');
  fs.writeFileSync(file, JSON.stringify({ datasets: { p: { file: 'prompts.jsonl' }, r: { file: 'reference.jsonl' } }, analyses: [{ kind: 'circuit', dataset: 'p', ...analysis }] }));
  return file;
}

/** Runs the spec's one circuit analysis as the worker does. */
async function engineRun(model: LoadedModel, file: string): Promise<AnalysisOutput> {
  const { spec, problems } = parseSpec(fs.readFileSync(file, 'utf8'));
  assert.deepEqual(problems, []);
  const a = spec.analyses[0];
  assert.ok(a.kind === 'circuit');
  return runCircuitTest({ tracer: model, dataset: (name) => loadDataset(model, spec.datasets.find((d) => d.name.value === name)!, file) }, a);
}

interface ReferenceResult {
  full: number;
  none: number;
  circuit: number;
  faithfulness: number;
  minimality: Record<string, number>;
  completeness: Record<string, number>;
}

function referenceRun(modelDir: string, family: string, c: { heads?: string[]; mlps?: number[]; neurons?: string[] }, ablation: string, metric: string, withReference: boolean): ReferenceResult {
  const rows = (r: number[][]) => r.map((x) => x.join(',')).join(';');
  const args = [REFERENCE, '--family', family, '--model', modelDir, '--tokens', rows(prompts), '--corrupted', rows(corrupted), '--heads', (c.heads ?? []).join(','), '--mlps', (c.mlps ?? []).join(','),
    '--neurons', (c.neurons ?? []).join(','), '--ablation', ablation, '--metric', metric, '--answers', answers.join(','), '--counterfactuals', counterfactuals.join(','),
    ...(withReference ? ['--reference', rows(reference)] : [])];
  return JSON.parse(execFileSync(PYTHON, args, { env: pyEnv, encoding: 'utf8' }));
}

const llama = makeFamilyCheckpoint({ family: 'llama', layers: 2, dModel: 32, heads: 4, dMlp: 24, vocab: 100, ctx: 16, dtype: 'F32', seed: 72, extra: ['--kv-heads', '2'] });

const CASES = [
  { name: 'heads', components: { heads: ['0.1', '1.2', '1.3'] }, model: dir, family: 'gpt2' },
  { name: 'MLP layers', components: { mlps: [1] }, model: dir, family: 'gpt2' },
  { name: 'heads and MLP layers', components: { heads: ['0.0', '1.3'], mlps: [0] }, model: dir, family: 'gpt2' },
  { name: 'neurons', components: { neurons: ['1.3', '1.7', '1.20'], mlps: [0] }, model: dir, family: 'gpt2' },
  { name: 'heads and MLP layers, Llama with grouped-query attention', components: { heads: ['0.2', '1.0'], mlps: [1] }, model: llama, family: 'llama' },
];

for (const c of CASES) {
  test(`circuit of ${c.name}: faithfulness, minimality and completeness match the reference within 1e-4 (zero, mean, resample, patch)`, () => withModel(c.model, async (model) => {
    await setAnswers(model);
    for (const [ablation, metric, withReference] of [['zero', 'logitDiff', false], ['mean', 'logitDiff', true], ['resample', 'loss', false], ['patch', 'logitDiff', false], ['mean', 'loss', false]] as const) {
      const claims = { faithfulness: { min: 0 }, minimality: { min: -1e9 }, completeness: { max: 1e9 } };
      const out = await engineRun(model, specFile({ components: c.components, ablation, metric, ...(withReference ? { reference: 'r' } : {}), claims }));
      const ref = referenceRun(c.model, c.family, c.components, ablation, metric, withReference);
      const what = `${c.name}, ${ablation}, ${metric}`;
      assert.ok(Math.abs(ref.full - ref.none) > 0.05, `${what}: the ablation changes the metric (${ref.full} vs ${ref.none})`);
      const [faith, minimality, completeness] = out.claims!;
      for (const [k, v] of Object.entries(faith.means)) assert.ok(Math.abs(v - ref[k as 'full']) < 1e-4, `${what}: M(${k}) ${v} vs ${ref[k as 'full']}`);
      assert.ok(Math.abs(faith.value - ref.faithfulness) < 1e-4, `${what}: faithfulness ${faith.value} vs ${ref.faithfulness}`);
      for (const [claim, theirs] of [[minimality, ref.minimality], [completeness, ref.completeness]] as const) {
        assert.deepEqual(Object.keys(claim.components!), Object.keys(theirs), `${what}: ${claim.claim} components`);
        for (const [k, v] of Object.entries(theirs)) assert.ok(Math.abs(claim.components![k] - v) < 1e-4, `${what}: ${claim.claim} of ${k}: ${claim.components![k]} vs ${v}`);
      }
    }
  }));
}

test('a chunked run (small byte bound) gives the same means, and counts its forward passes; progress, and a cancel between runs', () => withModel(dir, async (model) => {
  await setAnswers(model);
  const file = specFile({ components: { heads: ['0.1'] } });
  const { spec } = parseSpec(fs.readFileSync(file, 'utf8'));
  const ds = loadDataset(model, spec.datasets[0], file);
  let runs = 0;
  const opts = { circuit: [{ kind: 'head' as const, layer: 0, head: 1 }], ablation: 'resample' as const, metric: 'logitDiff' as const, withoutEach: true, fullWithoutEach: true };
  const small = await measureCircuit(model, ds, { ...opts, maxRunBytes: 3000, onProgress: () => runs++ });
  const big = await measureCircuit(model, ds, opts);
  assert.ok(runs > 5, `${runs} runs`);
  for (const k of ['full', 'none', 'circuit'] as const) assert.ok(Math.abs(small[k] - big[k]) < 1e-6);
  // 5 prompts: 5 for the reference values, 5 full, then 5 x (none, circuit, without 0.1, full without 0.1).
  assert.equal(big.forwardPasses, 5 + 5 + 5 * 4);
  const abort = new AbortController();
  const seen: [number, number][] = [];
  await assert.rejects(measureCircuit(model, ds, { ...opts, maxRunBytes: 3000, signal: abort.signal, onProgress: (done, total) => (seen.push([done, total]), done === 2 && abort.abort()) }), (e: Error & { code?: string }) => e.code === 'CANCELLED');
  assert.deepEqual(seen.map(([d]) => d), [1, 2], 'no run after the cancel');
  assert.ok(seen.every(([, t]) => t === runs), 'the total is known from the start');
}));

const PLANTED = path.join(BUNDLED_MODELS, 'planted-induction');

function plantedSpec(heads: string[], claims: Record<string, unknown>): string {
  const file = path.join(tmpDir('planted'), 'p.circuit.json');
  fs.writeFileSync(file, JSON.stringify({ datasets: { rep: { generate: 'repeatedRandomTokens', count: 6, length: 30, seed: 2 } }, analyses: [{ kind: 'circuit', dataset: 'rep', metric: 'loss', components: { heads }, claims }] }));
  return file;
}

test('planted-induction: the circuit 0.0 + 1.1 has faithfulness 1 within 1e-4 under zero, mean and resample; without 1.1 the claim fails', () => withModel(PLANTED, async (model) => {
  const ablations = ['zero', 'mean', 'resample'];
  const out = await engineRun(model, plantedSpec(['0.0', '1.1'], { faithfulness: { min: 0.9, ablations }, minimality: { min: 0.2, ablations }, completeness: { max: 1e-4, ablations } }));
  const results = out.claims!;
  assert.equal(results.length, 9, 'one result per claim and ablation');
  for (const r of results) assert.equal(r.outcome, 'passed', `${r.claim} (${r.ablation}) ${r.value}`);
  for (const r of results.filter((x) => x.claim === 'faithfulness')) {
    assert.ok(Math.abs(r.value - 1) < 1e-4, `${r.ablation}: ${r.value}`);
    assert.ok(r.spread! < 1e-4);
    assert.ok(r.means.none - r.means.full > 2, `ablating every head loses the induction: loss ${r.means.none} vs ${r.means.full}`);
  }
  const missing = await engineRun(model, plantedSpec(['0.0'], { faithfulness: { min: 0.8 } }));
  const [claim] = missing.claims!;
  assert.equal(claim.outcome, 'failed');
  assert.ok(claim.value < 0.1, `faithfulness without head 1.1: ${claim.value}`);
}));
