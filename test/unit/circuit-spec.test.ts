/**
 * Parsing the circuit vocabulary: datasets (file, template, generated), the circuit kind's components
 * and claims, and problems that name the field at fault, on its range.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSpec } from '../../src/engine/spec/parse';
import { validateSpec } from '../../src/engine/spec/validate';

const spec = (datasets: unknown, analysis: Record<string, unknown>) => JSON.stringify({ model: 'planted-induction', datasets, analyses: [{ kind: 'circuit', ...analysis }] }, null, 1);
const REP = { rep: { generate: 'repeatedRandomTokens', count: 8, length: 20, seed: 1 } };
const CIRCUIT = { dataset: 'rep', components: { heads: ['0.0', '1.1'], mlps: [1], neurons: ['0.7'] } };

/** The problems' messages, each with the text it points at. */
function problems(text: string): string[] {
  return parseSpec(text).problems.map((p) => `${p.message} @ ${text.slice(p.range.offset, p.range.offset + p.range.length)}`);
}

test('datasets: a file, a template with slots, generated tokens; a spec with datasets needs no prompts', () => {
  const text = spec({
    f: { file: 'data/ioi.jsonl' },
    t: { template: 'When {A} and {B}', slots: { A: ['x', 'y'], B: ['z'] }, answer: ' {A}', counterfactual: ' {B}', corrupted: 'When {B} and {A}', count: 5, seed: 2 },
    ...REP,
  }, CIRCUIT);
  const { spec: s, problems: ps } = parseSpec(text);
  assert.deepEqual(ps, []);
  const [f, t, g] = s.datasets;
  assert.ok(f.source === 'file' && f.file.value === 'data/ioi.jsonl' && f.name.value === 'f');
  assert.ok(t.source === 'template' && t.count === 5 && t.seed === 2 && t.slots.map((x) => x.name).join() === 'A,B' && t.answer?.value === ' {A}' && t.corrupted?.value === 'When {B} and {A}');
  assert.ok(g.source === 'generate' && g.count === 8 && g.length === 20 && g.seed === 1);
  const defaults = parseSpec(spec({ rep: { generate: 'repeatedRandomTokens' } }, CIRCUIT)).spec.datasets[0];
  assert.ok(defaults.source === 'generate' && defaults.count === 32 && defaults.length === 50 && defaults.seed === 0);
});

test('the circuit kind: components, ablation, reference, metric and claims with their ablations and expectation', () => {
  const { spec: s, problems: ps } = parseSpec(spec(REP, {
    ...CIRCUIT, ablation: 'resample', reference: 'rep', metric: 'loss',
    claims: { faithfulness: { min: 0.8, ablations: ['mean', 'zero', 'mean'] }, minimality: { min: 0.05 }, completeness: { max: 0.1 }, metric: { min: 0, max: 2, expect: 'fail' } },
  }));
  assert.deepEqual(ps, []);
  const a = s.analyses[0];
  assert.ok(a.kind === 'circuit');
  assert.deepEqual(a.components.heads.map((h) => h.value), [{ layer: 0, head: 0 }, { layer: 1, head: 1 }]);
  assert.deepEqual(a.components.mlps.map((m) => m.value), [1]);
  assert.deepEqual(a.components.neurons.map((n) => n.value), [{ layer: 0, neuron: 7 }]);
  assert.equal(a.ablation, 'resample');
  assert.equal(a.reference?.value, 'rep');
  assert.equal(a.metric, 'loss');
  assert.deepEqual(a.claims!.map((c) => [c.kind, c.min, c.max, c.ablations, c.expect]), [
    ['faithfulness', 0.8, undefined, ['mean', 'zero'], 'pass'],
    ['minimality', 0.05, undefined, ['resample'], 'pass'],
    ['completeness', undefined, 0.1, ['resample'], 'pass'],
    ['metric', 0, 2, ['resample'], 'fail'],
  ]);
  const plain = parseSpec(spec(REP, CIRCUIT)).spec.analyses[0];
  assert.ok(plain.kind === 'circuit' && plain.ablation === 'mean' && plain.metric === 'logitDiff' && plain.claims === undefined);
});

test('EXPECTED FAILURE - bad circuits and datasets name the field, on its text', () => {
  assert.deepEqual(problems(spec(REP, { dataset: 'nope', components: { heads: ['0.0'] } })), ['no dataset is named "nope"; datasets: rep. @ "nope"']);
  assert.deepEqual(problems(spec(REP, { dataset: 'rep', components: { heads: ['0-0', 3] } })), [
    '"components.heads" lists heads as "LAYER.HEAD" strings, such as "1.3". @ "0-0"',
    '"components.heads" lists heads as "LAYER.HEAD" strings, such as "1.3". @ 3',
  ]);
  assert.deepEqual(problems(spec(REP, { dataset: 'rep', components: { heads: ['0.0', '0.0'], attn: [1] } })), [
    '"components" has no "attn": heads, mlps, neurons or features. @ "attn"',
    'this head is listed twice. @ "0.0"',
  ]);
  assert.deepEqual(problems(spec(REP, { dataset: 'rep', components: {} })), ['"components" lists no heads, MLP layers, neurons or features. @ {}']);
  assert.deepEqual(problems(spec(REP, { dataset: 'rep', components: { mlps: [0], neurons: ['0.3'] } })), ['neuron 0.3 is in MLP layer 0, which the circuit lists whole. @ "0.3"']);
  assert.deepEqual(problems(spec(REP, { dataset: 'rep' })).map((p) => p.split(' @')[0]), ['"components" is required: {"heads": ["0.0", ...], "mlps": [0, ...], "neurons": ["1.37", ...]}.']);
  const claims = (c: unknown) => problems(spec(REP, { ...CIRCUIT, claims: c })).map((p) => p.replace(/\s+/g, ' '));
  assert.deepEqual(claims({ faithfulness: {} }), ['"claims.faithfulness" needs a bound: "min", "max" or both. @ {}']);
  assert.deepEqual(claims({ faithfulness: { min: '0.8' } }), ['"claims.faithfulness.min" must be a number. @ "0.8"']);
  assert.deepEqual(claims({ faithfulness: { min: 0.8, ablations: ['mean', 'noise'] } }), ['an ablation is one of mean, resample, zero, patch. @ "noise"']);
  assert.deepEqual(claims({ faithfulness: { min: 0.8, expect: 'maybe' } }), ['"expect" must be one of pass, fail. @ "maybe"']);
  assert.deepEqual(claims({ faithfulness: { min: 0.8, bound: 1 } }), ['"claims.faithfulness" has no "bound": min, max, ablations or expect. @ "bound"']);
  assert.deepEqual(claims({ sparsity: { min: 1 } }), ['unknown claim "sparsity": one of faithfulness, minimality, completeness, metric. @ "sparsity"']);
  const datasets = (d: unknown) => problems(spec(d, CIRCUIT)).filter((p) => !p.startsWith('no dataset'));
  assert.deepEqual(datasets({ rep: { generate: 'noise' } }), ['"generate" must be one of repeatedRandomTokens. @ "noise"']);
  assert.deepEqual(datasets({ rep: { template: 'x {A} {C}', slots: { A: ['a'] } } }), ['dataset "rep": {C} is not a slot; slots: A. @ "x {A} {C}"']);
  assert.deepEqual(datasets({ rep: { template: 'x {A}', slots: { A: [] } } }), ['dataset "rep": slot "A" is a non-empty list of strings. @ []']);
  assert.deepEqual(datasets({ rep: { file: 'a.jsonl', count: 3 } }), ['dataset "rep" has no "count"; its fields: file. @ "count"']);
  assert.deepEqual(datasets({ rep: {} }), ['dataset "rep" needs "file", "template" or "generate". @ {}']);
  assert.deepEqual(problems(JSON.stringify({ analyses: [] })).map((p) => p.split(' @')[0]), ['"prompts" is required: at least one prompt (or "datasets").']);
});

test('components out of the model\'s range are diagnostics on their text', () => {
  const text = spec(REP, { dataset: 'rep', components: { heads: ['0.0', '2.1', '1.5'], mlps: [3], neurons: ['1.2000'] } });
  const { spec: s } = parseSpec(text);
  const found = validateSpec(s, { nLayers: 2, nHeads: 2, nCtx: 128, dMlp: 1168, hooks: [], countTokens: null })
    .map((p) => `${p.message} @ ${text.slice(p.range.offset, p.range.offset + p.range.length)}`);
  assert.deepEqual(found, [
    'layer 2 is out of range: this model has 2 (0 to 1). @ "2.1"',
    'head 5 is out of range: this model has 2 (0 to 1). @ "1.5"',
    'layer 3 is out of range: this model has 2 (0 to 1). @ 3',
    'neuron 2000 is out of range: this model has 1168 (0 to 1167). @ "1.2000"',
  ]);
});
