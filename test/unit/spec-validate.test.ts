import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hookPoints } from '../../src/engine/hooks';
import type { ModelConfig } from '../../src/engine/config';
import { parseSpec } from '../../src/engine/spec/parse';
import { ModelFacts, validateSpec } from '../../src/engine/spec/validate';

const config = { nLayers: 2, nHeads: 4, dModel: 8, dHead: 2, dMlp: 32, nCtx: 6 } as ModelConfig;
/** A toy tokenizer: one token per word, leading space attached ("a b" -> "a", " b"). */
const facts: ModelFacts = {
  nLayers: 2,
  nHeads: 4,
  nCtx: 6,
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

test('EXPECTED FAILURE - a prompt longer than the context', () => {
  const m = problemsOf('{"prompts":["a b c d e f"]}');
  assert.deepEqual(m, ["this prompt is 7 tokens (with BOS); the model's context is 6."]);
});

test('a model without a tokenizer skips the token checks', () => {
  const parsed = parseSpec('{"prompts":[{"text":"a b c d e f g","answer":"x y"}]}');
  assert.deepEqual(validateSpec(parsed.spec, { ...facts, countTokens: null }), []);
});
