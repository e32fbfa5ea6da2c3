/**
 * The feature vocabulary of specs: the features kind, unit features in ablation, steering by a feature
 * or a clamp, and "HOOK:FEATURE" circuit components parse with their ranges; validation names a
 * dictionary that is not attached (and says how to attach it) and an ambiguous or out-of-range "sae".
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hookPoints } from '../../src/engine/hooks';
import type { ModelConfig } from '../../src/engine/config';
import { parseSpec } from '../../src/engine/spec/parse';
import { ModelFacts, validateSpec } from '../../src/engine/spec/validate';
import { withSaeHooks } from '../../src/engine/sae/attach';
import type { SparseDictionary } from '../../src/engine/sae/types';

const config = { nLayers: 2, nHeads: 4, dModel: 8, dHead: 2, dMlp: 32, nCtx: 16 } as ModelConfig;
const dict = (hookIn: string) => ({ hookIn, dIn: 8, dSae: 16, dOut: 8, dir: `/saes/${hookIn}` }) as SparseDictionary;
const factsWith = (hooks: string[]): ModelFacts => ({
  nLayers: 2, nHeads: 4, nCtx: 16, dMlp: 32, countTokens: null,
  hooks: withSaeHooks(hookPoints(config), hooks.map((h) => ({ dict: dict(h), mode: 'observe' as const }))),
});

const H0 = 'blocks.0.hook_resid_post';
const H1 = 'blocks.1.hook_resid_pre';
const spec = JSON.stringify({
  prompts: [{ name: 'p', text: 'a b c', answer: ' d', counterfactual: ' e' }],
  datasets: { rep: { generate: 'repeatedRandomTokens', count: 2, length: 3 } },
  analyses: [
    { kind: 'features', k: 3 },
    { kind: 'ablation', unit: 'features', method: 'zero', sae: H0, features: [1, 4] },
    { kind: 'steering', hook: H0, feature: 4, coefficient: 3 },
    { kind: 'steering', hook: H0, feature: 4, clamp: 0 },
    { kind: 'circuit', dataset: 'rep', metric: 'loss', components: { features: [`${H0}:4`, `${H1}:2`], heads: ['0.1'] } },
    { kind: 'features', sae: 1 },
  ],
});

test('the feature kinds and fields parse, with source ranges', () => {
  const { spec: s, problems } = parseSpec(spec);
  assert.deepEqual(problems, []);
  const [features, ablation, steer, clamp, circuit, second] = s.analyses;
  assert.ok(features.kind === 'features' && features.k === 3 && features.logitsK === 10 && features.sae === undefined);
  assert.ok(ablation.kind === 'ablation' && ablation.unit === 'features' && ablation.sae?.value === H0);
  assert.deepEqual(ablation.features?.map((f) => f.value), [1, 4]);
  assert.ok(steer.kind === 'steering' && steer.feature?.value === 4 && steer.clamp === undefined && steer.hook.value === H0);
  assert.ok(clamp.kind === 'steering' && clamp.clamp === 0);
  assert.ok(circuit.kind === 'circuit');
  assert.deepEqual(circuit.components.features.map((f) => f.value), [{ hook: H0, feature: 4 }, { hook: H1, feature: 2 }]);
  assert.equal(spec.slice(circuit.components.features[1].range.offset, circuit.components.features[1].range.offset + circuit.components.features[1].range.length), `"${H1}:2"`);
  assert.ok(second.kind === 'features' && second.sae?.value === 1);
});

test('EXPECTED FAILURE - malformed feature components and "sae" values are problems at the value', () => {
  const bad = JSON.stringify({ datasets: { rep: { generate: 'repeatedRandomTokens' } }, prompts: ['a'], analyses: [
    { kind: 'circuit', dataset: 'rep', components: { features: ['blocks.0.hook_resid_post', `${H0}:x`, `${H0}:1`, `${H0}:1`] } },
    { kind: 'features', sae: -1 },
  ] });
  const messages = parseSpec(bad).problems.map((p) => p.message);
  assert.equal(messages.filter((m) => m.startsWith('"components.features" lists features as "HOOK:FEATURE"')).length, 2);
  assert.ok(messages.includes('this feature is listed twice.'));
  assert.ok(messages.some((m) => m.startsWith('"sae" is an attached dictionary\'s index')));
});

test('with both dictionaries attached, only the analysis that names none is a problem (it is ambiguous)', () => {
  assert.deepEqual(validateSpec(parseSpec(spec).spec, factsWith([H0, H1])).map((p) => p.message), [`2 dictionaries are attached (${H0}, ${H1}): name one with "sae".`]);
});

test('EXPECTED FAILURE - without them each feature reference names what is missing', () => {
  const messages = validateSpec(parseSpec(spec).spec, factsWith([H0])).map((p) => p.message);
  assert.deepEqual(messages, [
    `feature ${H1}:2: no dictionary is attached at ${H1}; attached: ${H0}. List it in "saes".`,
    `"sae" 1 names no attached dictionary; attached: ${H0}.`,
  ]);
  const none = validateSpec(parseSpec(spec).spec, factsWith([])).map((p) => p.message);
  assert.ok(none.includes('this analysis reads SAE features, and no dictionary is attached: list one in "saes".'));
  assert.ok(none.includes(`steering by a feature: no dictionary is attached at ${H0}; attached: none. List it in "saes".`));
  const two = validateSpec(parseSpec(spec).spec, factsWith([H0, 'blocks.1.hook_mlp_out', H1])).map((p) => p.message);
  assert.ok(two.includes(`3 dictionaries are attached (${H0}, ${H1}, blocks.1.hook_mlp_out): name one with "sae".`), JSON.stringify(two));
});
