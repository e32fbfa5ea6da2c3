/** Which analyses a spec problem stops: an analysis's own problems only it, everything else all of them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSpec } from '../../src/engine/spec/parse';
import { analysisField, scopeProblems } from '../../src/engine/spec/problem-scope';
import { validateSpec, type ModelFacts } from '../../src/engine/spec/validate';
import { hookPoints } from '../../src/engine/hooks';
import type { ModelConfig } from '../../src/engine/config';

const config = { nLayers: 2, nHeads: 4, dModel: 8, dHead: 2, dMlp: 32, nCtx: 64 } as ModelConfig;
/** One token per word, leading space attached. */
const facts: ModelFacts = {
  nLayers: 2, nHeads: 4, nCtx: 64, dMlp: 32, hooks: hookPoints(config),
  countTokens: (text, bos) => (text.match(/ ?[^ ]+/g)?.length ?? 0) + (bos ? 1 : 0),
};

/** Every problem (structural and semantic) of a spec, scoped, as messages. */
function scoped(text: string): { shared: string[]; byAnalysis: Record<number, string[]> } {
  const parsed = parseSpec(text);
  const s = scopeProblems(text, [...parsed.problems, ...validateSpec(parsed.spec, facts)]);
  return { shared: s.shared.map((p) => p.message), byAnalysis: Object.fromEntries([...s.byAnalysis].map(([i, ps]) => [i, ps.map((p) => p.message)])) };
}

const spec = (analyses: string[], prompts = '[{"name":"p","text":"a b c","answer":" d","counterfactual":" e"},{"name":"q","text":"x y z"}]') =>
  `{\n  "model": "demo",\n  "prompts": ${prompts},\n  "analyses": [\n    ${analyses.join(',\n    ')}\n  ]\n}`;

test('EXPECTED FAILURE - each analysis\'s own problems belong to it alone, parsed or not', () => {
  const s = scoped(spec([
    '{"kind":"attention","focus":{"layer":1,"head":1}}',
    '{"kind":"attention","focus":{"layer":7,"head":0}}',
    '{"kind":"patchng"}',
    '{"kind":"patching","corrupted":"nope"}',
    '{"kind":"patching","corrupted":"q","metric":"accuracy","layers":[9]}',
    '"not an object"',
    '{"kind":"logitLens"}',
  ]));
  assert.deepEqual(s.shared, []);
  assert.deepEqual(Object.keys(s.byAnalysis).map(Number), [1, 2, 3, 4, 5], 'analyses 0 and 6 have none');
  assert.deepEqual(s.byAnalysis[1], ['layer 7 is out of range: this model has 2 (0 to 1).']);
  assert.match(s.byAnalysis[2][0], /^unknown analysis kind "patchng"/);
  assert.match(s.byAnalysis[3][0], /^no prompt is named "nope"/);
  assert.equal(s.byAnalysis[4].length, 2, 'a bad option and a layer out of range');
  assert.match(s.byAnalysis[5][0], /^an analysis is an object/);
});

test('EXPECTED FAILURE - problems of the model, the prompts and the cache are shared by every analysis', () => {
  const s = scoped(spec(['{"kind":"attention"}', '{"kind":"logitLens","target":" two words"}'], '[{"name":"p","text":"a","answer":" two words"},{"name":"p","text":"b"}]'));
  assert.equal(s.shared.length, 2);
  assert.match(s.shared[0], /^two prompts are named "p"/);
  assert.match(s.shared[1], /^answer " two words" is 2 tokens/);
  assert.deepEqual(Object.keys(s.byAnalysis), ['1'], 'the lens target is the lens\'s own');
  const cache = scoped('{"prompts":["a"],"cache":["blocks.9.hook_resid_pre"],"analyses":[{"kind":"attention"}]}');
  assert.equal(cache.shared.length, 1);
  assert.match(cache.shared[0], /^unknown hook point/);
  const notArray = scoped('{"prompts":["a"],"analyses":{"kind":"attention"}}');
  assert.deepEqual(notArray.shared, ['"analyses" must be an array.']);
});

test('EXPECTED FAILURE - with JSON syntax errors every problem is shared', () => {
  const s = scoped('{"prompts":["a"],"analyses":[{"kind":"attention","focus":{"layer":7,"head":0}},{"kind":"attention"} "x"]}');
  assert.ok(s.shared.some((m) => m.startsWith('JSON syntax')));
  assert.ok(s.shared.some((m) => m.startsWith('layer 7')), 'the out-of-range layer too: the tree around a syntax error is not trusted');
  assert.deepEqual(s.byAnalysis, {});
});

test('an analysis\'s problems are reported under its index in "analyses"', () => {
  assert.equal(analysisField(3), 'analyses[3]');
});
