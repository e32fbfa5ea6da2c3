/**
 * `"dataset": NAME` in the spec for the kinds that take it (patching, ablation, attribution, detectors,
 * steering): parsed with its range, an unknown name is a problem naming it, and the fields that mean
 * nothing over a dataset are problems naming why; the views and generation refuse it. An analysis on a
 * dataset has no prompt, so validation reads no prompt's answers for it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { datasetOf, parseSpec, promptOf } from '../../src/engine/spec/parse';
import { validateSpec } from '../../src/engine/spec/validate';

const DATASETS = { ioi: { file: 'ioi.jsonl' }, rep: { generate: 'repeatedRandomTokens', count: 4, length: 10 } };
const spec = (analysis: Record<string, unknown>, extra: Record<string, unknown> = {}) => JSON.stringify({ model: 'demo', datasets: DATASETS, ...extra, analyses: [analysis] }, null, 1);

/** The problems' messages, each with the text it points at. */
function problems(text: string): string[] {
  return parseSpec(text).problems.map((p) => `${p.message} @ ${text.slice(p.range.offset, p.range.offset + p.range.length)}`);
}

const STEER = { hook: 'blocks.0.hook_resid_post', vector: [1, 2] };

test('every kind that takes "dataset" parses it with its range, needs no prompts, and runs on no prompt', () => {
  for (const a of [
    { kind: 'patching', dataset: 'ioi', target: 'heads' },
    { kind: 'ablation', dataset: 'ioi' },
    { kind: 'attribution', dataset: 'ioi' },
    { kind: 'detectors', dataset: 'rep', detectors: ['induction'] },
    { kind: 'steering', dataset: 'ioi', metric: 'answerProb', ...STEER },
  ]) {
    const text = spec(a);
    const parsed = parseSpec(text);
    assert.deepEqual(parsed.problems, [], a.kind);
    const [analysis] = parsed.spec.analyses;
    const d = datasetOf(analysis)!;
    assert.equal(d.value, a.dataset);
    assert.equal(text.slice(d.range.offset, d.range.offset + d.range.length), JSON.stringify(a.dataset));
    assert.equal(promptOf(parsed.spec, analysis), undefined, `${a.kind} on a dataset runs on no prompt`);
  }
  const steering = parseSpec(spec({ kind: 'steering', dataset: 'ioi', metric: 'answerProb', ...STEER })).spec.analyses[0];
  assert.ok(steering.kind === 'steering' && steering.metric === 'answerProb');
  const patching = parseSpec(spec({ kind: 'patching', dataset: 'ioi' })).spec.analyses[0];
  assert.ok(patching.kind === 'patching' && patching.corrupted === undefined && patching.target === 'resid_pre');
});

test('EXPECTED FAILURE - an unknown dataset name is a problem naming it and the datasets there are, on the name', () => {
  for (const kind of ['patching', 'ablation', 'attribution', 'detectors']) {
    assert.deepEqual(problems(spec({ kind, dataset: 'nope' })), ['no dataset is named "nope"; datasets: ioi, rep. @ "nope"'], kind);
  }
  assert.deepEqual(problems(spec({ kind: 'steering', dataset: 'nope', ...STEER })), ['no dataset is named "nope"; datasets: ioi, rep. @ "nope"']);
});

test('EXPECTED FAILURE - fields that mean nothing over a dataset are problems on their key, saying why', () => {
  const prompts = { prompts: [{ name: 'a', text: 'x' }, { name: 'b', text: 'y' }] };
  assert.deepEqual(problems(spec({ kind: 'patching', dataset: 'ioi', corrupted: 'b' }, prompts)), [
    '"corrupted" does not go with "dataset": each prompt of the dataset is patched with its own corrupted prompt (its "corrupted" field, or the template\'s). Remove it, or the "dataset". @ "corrupted"',
  ]);
  assert.deepEqual(problems(spec({ kind: 'patching' }, prompts)), ['patching needs "corrupted", or "dataset". @ {\n   "kind": "patching"\n  }']);
  assert.deepEqual(problems(spec({ kind: 'attribution', dataset: 'ioi', prompt: 'a' }, prompts)), [
    '"prompt" does not go with "dataset": the analysis runs on every prompt of the dataset. Remove one of them. @ "a"',
  ]);
  assert.deepEqual(problems(spec({ kind: 'detectors', dataset: 'rep', source: 'random', length: 5 })).map((p) => p.split(':')[0]), ['"source" does not go with "dataset"', '"length" does not go with "dataset"']);
  assert.deepEqual(problems(spec({ kind: 'steering', dataset: 'ioi', maxNewTokens: 5, ...STEER })), [
    '"maxNewTokens" does not go with "dataset": over a dataset steering reports the mean metric shift, not continuations. Remove it, or the "dataset". @ "maxNewTokens"',
  ]);
});

test('EXPECTED FAILURE - attention, the logit lens and generation refuse "dataset", saying why and what to do instead', () => {
  for (const [kind, shows] of [['attention', 'attention patterns'], ['logitLens', 'the logit lens'], ['generation', 'a continuation']]) {
    assert.deepEqual(problems(spec({ kind, dataset: 'ioi' })), [
      `${kind} does not take "dataset": it shows ${shows} of one prompt, token by token, and a mean over prompts of that means nothing. Add the prompt to "prompts" and name it with "prompt". @ "dataset"`,
    ]);
  }
});

test('validation reads no prompt answers or lengths for an analysis on a dataset (its rows are checked when it loads)', () => {
  const text = JSON.stringify({ prompts: [{ name: 'a', text: 'x y' }], datasets: DATASETS, analyses: [{ kind: 'patching', dataset: 'ioi' }, { kind: 'attribution', dataset: 'ioi' }, { kind: 'attribution' }] });
  const { spec: s } = parseSpec(text);
  const facts = { nLayers: 2, nHeads: 2, nCtx: 64, dMlp: 8, hooks: [], countTokens: (t: string) => t.split(' ').length + 1 };
  // Only the attribution on prompt "a" (which has no answer) is a problem.
  assert.deepEqual(validateSpec(s, facts).map((p) => p.message), ['attribution needs "answer" on prompt "a": add it there, one token.']);
});
