/**
 * Analyses with `"dataset": NAME` against the independent PyTorch reference
 * (test/reference/dataset_reference.py), within 1e-4 on a random GPT-2 checkpoint: patching as a ratio
 * of dataset means and its spread (every target), attribution's mean contributions and their spread,
 * the detectors' mean scores, steering's mean metric shift and mean logit changes. The dataset is a
 * JSONL file of token ids, each line with its own answer, counterfactual and corrupted prompt, run as
 * the worker runs a spec's analysis. Then the errors: a prompt without what the analysis reads, and
 * bounded memory (chunked runs give the same numbers), progress and cancel; and the same through the
 * worker, as the editor's diagnostics and Run ask for it.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadDataset } from '../../src/engine/datasets/load';
import { tokensFromIds } from '../../src/engine/model';
import { runCircuitAnalysis } from '../../src/engine/analysis/run-circuit';
import { scoreDataset } from '../../src/engine/analysis/head-detectors';
import { steerDataset } from '../../src/engine/analysis/steering';
import { parseSpec } from '../../src/engine/spec/parse';
import type { AnalysisOutput } from '../../src/protocol/analysis';
import type { LoadedModel } from '../../src/worker/loaded-model';
import { extremeNextTokens, withModel } from '../helpers/engine';
import { withRunner } from '../helpers/runner';
import { PYTHON, ROOT, makeRandomCheckpoint, randomTokens, tmpDir } from '../helpers/reference';

const REFERENCE = path.join(ROOT, 'test', 'reference', 'dataset_reference.py');
const pyEnv = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', OMP_WAIT_POLICY: 'PASSIVE' };
const TOL = 1e-4;

const dir = makeRandomCheckpoint({ layers: 2, dModel: 32, heads: 4, dMlp: 24, vocab: 100, ctx: 16, dtype: 'F32', seed: 81 });
const prompts = randomTokens(5, 7, 99, 13);
// Each corrupted prompt differs from its clean one at two positions.
const corrupted = prompts.map((p, i) => p.map((t, j) => (j === 2 || j === 5 ? (t + 17 + i) % 99 : t)));
// Repeats inside the prompts, so duplicate-token and induction heads have targets.
const repeated = randomTokens(4, 5, 99, 14).map((h) => [99, ...h, ...h]);
let answers: number[] = [];
let counterfactuals: number[] = [];

async function setAnswers(model: LoadedModel): Promise<void> {
  ({ answers, counterfactuals } = await extremeNextTokens(model, prompts));
}

/** A spec with datasets "p" (prompts with answers and corrupted prompts) and "rep" (repeated tokens) and one analysis. */
function specFile(analysis: Record<string, unknown>, line: (i: number) => Record<string, unknown> = (i) => ({ answer: answers[i], counterfactual: counterfactuals[i], corrupted: corrupted[i] })): string {
  const d = tmpDir('dataset-analyses');
  fs.writeFileSync(path.join(d, 'p.jsonl'), prompts.map((tokens, i) => JSON.stringify({ tokens, ...line(i) })).join('\n') + '\n');
  fs.writeFileSync(path.join(d, 'rep.jsonl'), repeated.map((tokens) => JSON.stringify({ tokens })).join('\n') + '\n');
  const file = path.join(d, 'd.circuit.json');
  fs.writeFileSync(file, JSON.stringify({ datasets: { p: { file: 'p.jsonl' }, rep: { file: 'rep.jsonl' } }, analyses: [analysis] }));
  return file;
}

/** Runs the spec's one analysis as the worker does. */
async function engineRun(model: LoadedModel, file: string, extra: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<AnalysisOutput> {
  const { spec, problems } = parseSpec(fs.readFileSync(file, 'utf8'));
  assert.deepEqual(problems, []);
  const a = spec.analyses[0];
  assert.ok(a.kind !== 'attention' && a.kind !== 'logitLens');
  return runCircuitAnalysis({ tracer: model, prompts: spec.prompts, dataset: (name) => loadDataset(model, spec.datasets.find((d) => d.name.value === name)!, file), ...extra }, a);
}

function reference<T>(cmd: string, args: string[]): T {
  return JSON.parse(execFileSync(PYTHON, [REFERENCE, cmd, '--model', dir, ...args], { env: pyEnv, encoding: 'utf8' })) as T;
}

const rows = (r: number[][]) => r.map((x) => x.join(',')).join(';');
const close = (what: string, ours: ArrayLike<number>, theirs: ArrayLike<number>) => {
  assert.equal(ours.length, theirs.length, `${what}: length`);
  for (let i = 0; i < ours.length; i++) assert.ok(Math.abs(ours[i] - theirs[i]) < TOL, `${what}[${i}]: ${ours[i]} vs ${theirs[i]}`);
};

for (const target of ['resid_pre', 'attn_out', 'mlp_out', 'heads', 'heads_pos'] as const) {
  test(`${target} patching over a dataset: ratios of dataset means and their spread match the reference within 1e-4`, () => withModel(dir, async (model) => {
    await setAnswers(model);
    const out = await engineRun(model, specFile({ kind: 'patching', dataset: 'p', target }));
    const ref = reference<{ values: number[][]; spread: number[][]; clean: number; corrupted: number }>('patch', [
      '--tokens', rows(prompts), '--corrupted', rows(corrupted), '--target', target, '--answers', answers.join(','), '--counterfactuals', counterfactuals.join(','),
    ]);
    assert.ok(Math.abs(ref.clean - ref.corrupted) > 0.5, `the corruption moves the metric (${ref.clean} vs ${ref.corrupted})`);
    close(`${target} values`, out.values, ref.values.flat());
    close(`${target} spread`, out.spread!, ref.spread.flat());
    close(`${target} spread part`, out.parts![0].values, ref.spread.flat());
    assert.ok(Math.abs((out.notes!['mean clean logit difference'] as number) - ref.clean) < TOL);
    assert.ok(Math.abs((out.notes!['mean corrupted logit difference'] as number) - ref.corrupted) < TOL);
    assert.ok(ref.spread.flat().some((s) => s > 1e-3), 'the prompts differ, so the spread is not all zero');
    assert.equal(out.notes!.prompts, prompts.length);
  }));
}

test('attribution over a dataset: mean contributions of components and heads, and their spread, match the reference within 1e-4', () => withModel(dir, async (model) => {
  await setAnswers(model);
  for (const contrast of [true, false]) {
    const line = (i: number) => ({ answer: answers[i], ...(contrast ? { counterfactual: counterfactuals[i] } : {}) });
    const out = await engineRun(model, specFile({ kind: 'attribution', dataset: 'p' }, line));
    const ref = reference<{ values: number[]; spread: number[]; heads: number[]; headsSpread: number[]; logitDiff: number }>('dla', [
      '--tokens', rows(prompts), '--answers', answers.join(','), ...(contrast ? ['--counterfactuals', counterfactuals.join(',')] : []),
    ]);
    const what = contrast ? 'logit difference' : 'logit';
    close(`${what}: components`, out.values, ref.values);
    close(`${what}: component spread`, out.spread!, ref.spread);
    close(`${what}: heads`, out.parts![0].values, ref.heads);
    close(`${what}: head spread`, out.parts![0].spread!, ref.headsSpread);
    assert.ok(Math.abs((out.notes![`mean ${what}`] as number) - ref.logitDiff) < TOL, `${what}: mean ${out.notes![`mean ${what}`]} vs ${ref.logitDiff}`);
    assert.ok(Math.abs((out.notes!['sum of mean contributions'] as number) - ref.logitDiff) < TOL, 'the mean contributions add up to the mean logit difference');
  }
}));

test('detectors over a dataset: mean scores and their spread match the reference within 1e-4; a small byte bound splits layers and prompts', () => withModel(dir, async (model) => {
  const out = await engineRun(model, specFile({ kind: 'detectors', dataset: 'rep' }));
  const ref = reference<Record<string, { scores: number[]; spread: number[] }>>('detect', ['--tokens', rows(repeated)]);
  assert.equal(out.parts!.length, 3);
  for (const part of out.parts!) {
    const kind = part.name.split(': ')[1];
    close(`${kind} scores`, part.values, ref[kind].scores);
    close(`${kind} spread`, part.spread!, ref[kind].spread);
  }
  assert.ok(ref.induction.spread.some((s) => s > 1e-3), 'the prompts differ');
  let runs = 0;
  const toks = repeated.map((r) => tokensFromIds(model.ckpt, r));
  // One layer's patterns of one prompt are 4 x 11 x 11 x 4 bytes: a bound of 2000 fetches one layer of one prompt a run.
  const small = await scoreDataset(model, toks, ['induction'], { maxRunBytes: 2000, onProgress: () => runs++ });
  assert.equal(runs, 2 * repeated.length);
  close('chunked induction scores', small[0].scores, ref.induction.scores);
}));

test('steering over a dataset: the mean shift of the logit difference, its spread and the mean logit changes match the reference within 1e-4', () => withModel(dir, async (model) => {
  await setAnswers(model);
  const vector = Array.from({ length: 32 }, (_, i) => Math.sin(i + 1) * 0.8);
  const hook = 'blocks.0.hook_resid_post';
  const out = await engineRun(model, specFile({ kind: 'steering', dataset: 'p', hook, vector, coefficient: 1.5 }));
  const ref = reference<{ before: number; after: number; shift: number; spread: number; logitChange: number[] }>('steer', [
    '--tokens', rows(prompts), '--answers', answers.join(','), '--counterfactuals', counterfactuals.join(','), '--hook', hook, '--coefficient', '1.5', '--vector', vector.join(','),
  ]);
  const n = out.notes!;
  for (const [key, theirs] of [['mean metric without steering', ref.before], ['mean metric with steering', ref.after], ['mean metric shift', ref.shift], ['standard deviation of the shift', ref.spread]] as const) {
    assert.ok(Math.abs((n[key] as number) - theirs) < TOL, `${key}: ${n[key]} vs ${theirs}`);
  }
  assert.ok(Math.abs(ref.shift) > 0.1 && ref.spread > 1e-3, `steering moves the metric, differently per prompt (${ref.shift} ± ${ref.spread})`);
  // The bars: the tokens whose mean logit rose and fell most, with the reference's mean change of each.
  const byChange = ref.logitChange.map((v, id) => ({ v, id })).sort((x, y) => y.v - x.v);
  const r = await steerDataset(model, prompts.map((p, i) => ({ tokens: tokensFromIds(model.ckpt, p), metric: { kind: 'logitDiff' as const, answer: answers[i], counterfactual: counterfactuals[i] } })), {
    hook, coefficient: 1.5, vector: Float32Array.from(vector), k: 3, maxRunBytes: 1,
  });
  assert.deepEqual(r.increased.map((c) => c.id), byChange.slice(0, 3).map((c) => c.id));
  assert.deepEqual(r.decreased.map((c) => c.id), byChange.slice(-3).reverse().map((c) => c.id));
  for (const c of [...r.increased, ...r.decreased]) assert.ok(Math.abs(c.after - c.before - ref.logitChange[c.id]) < TOL);
  assert.ok(Math.abs(r.shift - ref.shift) < TOL, 'one prompt a run gives the same shift');
  close('per-prompt shifts', out.parts![0].values, r.shifts);
}));

test('a prompt without what the analysis reads is an error naming the dataset, the prompt and the fix', () => withModel(dir, async (model) => {
  await setAnswers(model);
  const noCorrupted = (i: number) => ({ answer: answers[i], counterfactual: counterfactuals[i], ...(i === 3 ? {} : { corrupted: corrupted[i] }) });
  await assert.rejects(engineRun(model, specFile({ kind: 'patching', dataset: 'p' }, noCorrupted)), (e: Error & { field?: string; hint?: string }) => {
    assert.equal(e.field, 'datasets.p');
    assert.match(e.message, /p\.jsonl:4 has no "corrupted" prompt/);
    assert.match(e.hint ?? e.message, /"corrupted" field on each JSONL line, or the template's/);
    return true;
  });
  const someCounterfactuals = (i: number) => ({ answer: answers[i], ...(i === 1 ? {} : { counterfactual: counterfactuals[i] }) });
  await assert.rejects(engineRun(model, specFile({ kind: 'attribution', dataset: 'p' }, someCounterfactuals)), /p\.jsonl:2 has no "counterfactual" where other prompts of the dataset have one/);
  await assert.rejects(engineRun(model, specFile({ kind: 'attribution', dataset: 'rep' })), /rep\.jsonl:1 has no "answer"/);
  await assert.rejects(engineRun(model, specFile({ kind: 'steering', dataset: 'rep', hook: 'blocks.0.hook_resid_post', vector: new Array(32).fill(1) })), /rep\.jsonl:1 has no "answer", and the metric logitDiff needs it/);
  // The same clean and corrupted prompts on average: nothing to normalize by.
  const same = (i: number) => ({ answer: answers[i], counterfactual: counterfactuals[i], corrupted: prompts[i] });
  await assert.rejects(engineRun(model, specFile({ kind: 'patching', dataset: 'p', target: 'heads' }, same)), /the mean clean and mean corrupted metrics over the 5 prompts are equal/);
}));

test('patching over a dataset reports progress over every prompt and stops between runs on cancel', () => withModel(dir, async (model) => {
  await setAnswers(model);
  const file = specFile({ kind: 'patching', dataset: 'p', target: 'heads' });
  const seen: [number, number][] = [];
  await engineRun(model, file, { onProgress: (done, total) => seen.push([done, total]) });
  assert.equal(seen.length, prompts.length * 2, 'one run per layer and prompt');
  assert.deepEqual(seen.map(([d]) => d), seen.map((_, i) => i + 1));
  assert.ok(seen.every(([, t]) => t === seen.length), 'the total is known from the start');
  const abort = new AbortController();
  const cancelled: number[] = [];
  await assert.rejects(engineRun(model, file, { signal: abort.signal, onProgress: (done) => (cancelled.push(done), done === 3 && abort.abort()) }), (e: Error & { code?: string }) => e.code === 'CANCELLED');
  assert.deepEqual(cancelled, [1, 2, 3], 'no run after the cancel');
}));

test('through the worker, as the editor asks: spec/check names an unknown dataset on its text, and a spec with datasets only runs patching over one', () => withRunner({}, async (client) => {
  const text = JSON.stringify({
    model: dir,
    datasets: { p: { file: 'p.jsonl' } },
    analyses: [{ kind: 'patching', dataset: 'p', target: 'heads' }, { kind: 'attribution', dataset: 'nope' }],
  });
  await withModel(dir, setAnswers);
  const file = specFile({});
  fs.writeFileSync(file, text);
  const problems = await client.request('spec/check', { spec: { text, path: file } });
  assert.deepEqual(problems.map((p) => `${p.message} @ ${text.slice(p.range.offset, p.range.offset + p.range.length)}`), ['no dataset is named "nope"; datasets: p. @ "nope"']);
  const events: number[] = [];
  const r = await client.request('analysis/run', { spec: { text, path: file }, analysis: 0 }, { onEvent: (e) => e.done !== undefined && events.push(e.done) });
  assert.equal(r.prompt.name, 'p', 'the dataset stands where a prompt would');
  const out = (await client.request('run/slice', { runId: r.runId, slice: { kind: 'output' } })) as AnalysisOutput;
  assert.equal(out.values.length, 2 * 4);
  assert.equal(out.spread!.length, 2 * 4);
  assert.equal(events.length, prompts.length * 2, 'progress over every prompt');
  // The other analysis's own problem stops only it, naming the field.
  await assert.rejects(client.request('analysis/run', { spec: { text, path: file }, analysis: 1 }), /no dataset is named "nope"/);
}));
