import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hookPoints } from '../../src/engine/hooks';
import type { ModelConfig } from '../../src/engine/config';
import { parseSpec } from '../../src/engine/spec/parse';
import { ModelFacts, validateSpec } from '../../src/engine/spec/validate';
import { isEngineError } from '../../src/engine/errors';
import { issueMessage, requireSingleToken, singleTokenIssue } from '../../src/engine/single-token';

const config = { nLayers: 2, nHeads: 4, dModel: 8, dHead: 2, dMlp: 32, nCtx: 6 } as ModelConfig;
/** A toy tokenizer: one token per word, leading space attached ("a b" -> "a", " b"). */
const facts: ModelFacts = {
  nLayers: 2,
  nHeads: 4,
  nCtx: 6,
  dMlp: 32,
  hooks: hookPoints(config),
  countTokens: (text, bos) => (text.match(/ ?[^ ]+/g)?.length ?? 0) + (bos ? 1 : 0),
};

function problemsOf(spec: string): string[] {
  const parsed = parseSpec(spec);
  return validateSpec(parsed.spec, facts).map((p) => p.message);
}

test('a spec within the model has no semantic problems', () => {
  assert.deepEqual(problemsOf('{"prompts":[{"text":"a b c","answer":" d"}],"cache":["blocks.*.hook_resid_mid"],"analyses":[{"kind":"attention","layers":[1],"focus":{"layer":1,"head":3}},{"kind":"logitLens","target":" e"}]}'), []);
});

test('EXPECTED FAILURE - layer and head out of range', () => {
  const m = problemsOf('{"prompts":["a"],"analyses":[{"kind":"attention","layers":[0,2],"focus":{"layer":1,"head":4}}]}');
  assert.deepEqual(m, ['layer 2 is out of range: this model has 2 (0 to 1).', 'head 4 is out of range: this model has 4 (0 to 3).']);
});

test('EXPECTED FAILURE - unknown hook names suggest the closest one', () => {
  const parsed = parseSpec('{"prompts":["a"],"cache":["blocks.1.attn.hook_patern"]}');
  const [p] = validateSpec(parsed.spec, facts);
  assert.equal(p.message, 'unknown hook point "blocks.1.attn.hook_patern". Closest: blocks.1.attn.hook_pattern.');
  assert.equal(p.suggestion, 'blocks.1.attn.hook_pattern');
});

test('EXPECTED FAILURE - answers must be one token; a missing leading space is pointed out', () => {
  const m = problemsOf('{"prompts":[{"text":"a","answer":"two words","counterfactual":"x y"}],"analyses":[{"kind":"logitLens","target":" p q"}]}');
  assert.equal(m.length, 3);
  assert.match(m[0], /^answer "two words" is 2 tokens/);
  assert.match(m[2], /^target " p q" is 2 tokens/);
});

test('EXPECTED FAILURE - a missing leading space is suggested when the spaced text is one token', () => {
  // A tokenizer that knows " Mary" as one token and spells everything else out.
  const parsed = parseSpec('{"prompts":[{"text":"a","answer":"Mary"}]}');
  const spaced = validateSpec(parsed.spec, { ...facts, countTokens: (t, bos) => (t === ' Mary' ? 1 : t.length) + (bos ? 1 : 0) });
  assert.deepEqual(spaced.map((p) => p.message), ['answer "Mary" is 4 tokens for this model; it must be exactly one. Did you mean " Mary" (with a leading space)?']);
});

test('the run form of the one-token rule throws BAD_INPUT with the same wording', () => {
  const encode = (t: string) => (t === ' Mary' ? [{ id: 7 }] : [...t].map((_, i) => ({ id: i })));
  assert.deepEqual(requireSingleToken(encode, ' Mary', 'ioi.answer'), { id: 7 });
  assert.throws(() => requireSingleToken(encode, 'Mary', 'ioi.answer'), (e: unknown) => {
    assert.ok(isEngineError(e) && e.code === 'BAD_INPUT' && e.field === 'ioi.answer');
    assert.equal(e.message, 'ioi.answer: "Mary" is 4 tokens for this model; it must be exactly one. Did you mean " Mary" (with a leading space)?');
    return true;
  });
  assert.doesNotThrow(() => requireSingleToken(() => 1, 'x', 'f'));
  assert.equal(singleTokenIssue(encode, ' Mary'), undefined);
  const issue = singleTokenIssue(encode, 'ab');
  assert.ok(issue && issue.count === 2 && issue.hint === undefined);
  assert.equal(issueMessage(issue), '"ab" is 2 tokens for this model; it must be exactly one.');
  assert.equal(singleTokenIssue(() => 0, '')?.hint, undefined, 'no hint for an empty text');
});

test('EXPECTED FAILURE - neuron indices are checked against d_mlp', () => {
  const m = problemsOf('{"prompts":["a"],"analyses":[{"kind":"ablation","unit":"neurons","neurons":[31,32],"metric":"loss"}]}');
  assert.deepEqual(m, ['neuron 32 is out of range: this model has 32 (0 to 31).']);
});

test('EXPECTED FAILURE - a steering vector must have the hook\'s width', () => {
  const spec = '{"prompts":["a"],"analyses":[{"kind":"steering","hook":"blocks.0.hook_resid_post","vector":VECTOR}]}';
  assert.deepEqual(problemsOf(spec.replace('VECTOR', JSON.stringify(Array(8).fill(0)))), []);
  assert.deepEqual(problemsOf(spec.replace('VECTOR', '[1, 2]')), ['"vector" has 2 values; blocks.0.hook_resid_post has 8 per position.']);
});

test('EXPECTED FAILURE - a prompt longer than the context', () => {
  const m = problemsOf('{"prompts":["a b c d e f"]}');
  assert.deepEqual(m, ["this prompt is 7 tokens (with BOS); the model's context is 6."]);
});

test('a model without a tokenizer skips the token checks', () => {
  const parsed = parseSpec('{"prompts":[{"text":"a b c d e f g","answer":"x y"}]}');
  assert.deepEqual(validateSpec(parsed.spec, { ...facts, countTokens: null }), []);
});

test('EXPECTED FAILURE - patching prompts of different token lengths are found in the editor, on the corrupted name', () => {
  const spec = '{"prompts":[{"name":"clean","text":"a b c","answer":" d","counterfactual":" e"},{"name":"bad","text":"a b"}],"analyses":[{"kind":"patching","prompt":"clean","corrupted":"bad"}]}';
  const parsed = parseSpec(spec);
  const problems = validateSpec(parsed.spec, facts);
  assert.equal(problems.length, 1);
  assert.match(problems[0].message, /"clean" is 4 tokens, "bad" 3/);
  assert.equal(spec.slice(problems[0].range.offset, problems[0].range.offset + problems[0].range.length), '"bad"');
  assert.deepEqual(problemsOf('{"prompts":[{"name":"clean","text":"a b c"},{"name":"ok","text":"x y z"}],"analyses":[{"kind":"patching","prompt":"clean","corrupted":"ok","metric":"loss"}]}'), []);
});

test('EXPECTED FAILURE - a metric\'s answer tokens must be on the prompt it runs on, found on the analysis', () => {
  const spec = (prompt: string, analysis: string) => `{"prompts":[${prompt},{"name":"other","text":"x y"}],"analyses":[${analysis}]}`;
  const full = '{"name":"p","text":"a b","answer":" c","counterfactual":" d"}';
  const bare = '{"name":"p","text":"a b"}';
  for (const a of ['{"kind":"patching","corrupted":"other"}', '{"kind":"ablation"}', '{"kind":"attribution"}', '{"kind":"ablation","metric":"answerProb"}']) {
    assert.deepEqual(problemsOf(spec(full, a)), [], a);
  }
  assert.deepEqual(problemsOf(spec(bare, '{"kind":"patching","corrupted":"other","metric":"loss"}')), [], 'loss reads no answer');
  assert.deepEqual(problemsOf(spec(bare, '{"kind":"patching","corrupted":"other"}')), ['"metric" "logitDiff" needs "answer" and "counterfactual" on prompt "p": add them there, one token each, or set "metric": "loss".']);
  assert.deepEqual(problemsOf(spec('{"name":"p","text":"a b","answer":" c"}', '{"kind":"ablation","metric":"answerProb"},{"kind":"ablation"}')), ['"metric" "logitDiff" needs "counterfactual" on prompt "p": add it there, one token, or set "metric": "loss".']);
  const text = spec(bare, '{"kind":"attribution","prompt":"p"}');
  const [p] = validateSpec(parseSpec(text).spec, facts);
  assert.equal(p.message, 'attribution needs "answer" on prompt "p": add it there, one token.');
  assert.equal(text.slice(p.range.offset, p.range.offset + p.range.length), '"p"', 'on the analysis\'s prompt name');
});
