import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseSpec, promptOf } from '../../src/engine/spec/parse';
import { literalOffsets } from '../../src/engine/spec/string-map';
import { PROCESSING_FIELDS } from '../../src/engine/spec/vocabulary';
import { NO_PROCESSING, PROCESSING_OPTIONS, TRANSFORMERLENS_PROCESSING } from '../../src/protocol/processing';

const SPEC = `// comment
{
  "model": "demo",
  "prompts": [
    { "name": "ioi", "text": "When Mary and John", "answer": " Mary" },
    "plain prompt",
  ],
  "cache": ["blocks.*.hook_resid_mid"],
  "analyses": [
    { "kind": "attention", "layers": [0, 1], "focus": { "layer": 1, "head": 3 } },
    { "kind": "logitLens", "name": "Lens", "prompt": "prompt1", "target": " x", "topK": 7 },
  ],
}`;

test('parses a commented spec with trailing commas, keeping source ranges', () => {
  const { spec, problems } = parseSpec(SPEC);
  assert.deepEqual(problems, []);
  assert.equal(spec.model?.value, 'demo');
  assert.equal(SPEC.slice(spec.model!.range.offset, spec.model!.range.offset + spec.model!.range.length), '"demo"');
  assert.deepEqual(spec.prompts.map((p) => p.name.value), ['ioi', 'prompt1']);
  assert.equal(spec.prompts[0].answer?.value, ' Mary');
  assert.equal(spec.cache[0].value, 'blocks.*.hook_resid_mid');
  const [att, lens] = spec.analyses;
  assert.equal(att.kind, 'attention');
  assert.equal(att.title, 'attention #1');
  assert.ok(att.kind === 'attention' && att.focus?.head.value === 3 && att.layers?.length === 2);
  assert.ok(lens.kind === 'logitLens' && lens.topK === 7 && lens.target?.value === ' x');
  assert.equal(promptOf(spec, att)?.name.value, 'ioi');
  assert.equal(promptOf(spec, lens)?.name.value, 'prompt1');
  assert.ok(SPEC.slice(att.range.offset).startsWith('{ "kind": "attention"'));
});

test('EXPECTED FAILURE - structural problems carry the range of the offending value', () => {
  const text = '{ "prompts": [{ "name": "a", "text": "x" }, { "name": "a", "text": "y" }], "analyses": [{ "kind": "saliency" }, { "kind": "logitLens", "prompt": "zz", "topK": 0 }] }';
  const { spec, problems } = parseSpec(text);
  const messages = problems.map((p) => p.message);
  assert.ok(messages.some((m) => m.includes('two prompts are named "a"')));
  assert.ok(messages.some((m) => m.startsWith('unknown analysis kind "saliency"')));
  assert.ok(messages.some((m) => m.includes('no prompt is named "zz"')));
  assert.ok(messages.some((m) => m.includes('"topK" must be')));
  const kind = problems.find((p) => p.message.startsWith('unknown analysis kind'))!;
  assert.equal(text.slice(kind.range.offset, kind.range.offset + kind.range.length), '"saliency"');
  assert.equal(spec.analyses.length, 1);
});

test('EXPECTED FAILURE - syntax errors and a non-object root do not throw', () => {
  assert.ok(parseSpec('{ "prompts": [').problems.some((p) => p.message.startsWith('JSON syntax')));
  assert.ok(parseSpec('[1]').problems.some((p) => p.message.includes('JSON object')));
  assert.ok(parseSpec('{}').problems.some((p) => p.message.includes('"prompts" is required')));
});

test('maps prompt characters to source offsets through escapes', () => {
  const literal = String.raw`"a\"b\n\u00e9c"`;
  const value = JSON.parse(literal) as string; // a"b\néc
  const map = literalOffsets(literal);
  assert.equal(map.length, value.length + 1);
  assert.equal(literal[map[0]], 'a');
  assert.equal(literal.slice(map[1], map[2]), '\\"');
  assert.equal(literal.slice(map[3], map[4]), '\\n');
  assert.equal(literal.slice(map[4], map[5]), '\\u00e9');
  assert.equal(literal[map[5]], 'c');
  assert.equal(map[6], literal.length - 1);
});

test('the New Experiment template parses without problems', () => {
  const text = readFileSync(join(__dirname, '..', '..', 'media', 'templates', 'experiment.circuit.json'), 'utf8');
  const { spec, problems } = parseSpec(text);
  assert.deepEqual(problems, []);
  assert.equal(spec.model?.value, 'demo');
  assert.deepEqual(spec.analyses.map((a) => a.kind), ['attention', 'logitLens']);
});

test('circuit analyses parse with defaults, and their prompt references are checked', () => {
  const text = `{ "prompts": [{ "name": "clean", "text": "a b" }, { "name": "bad", "text": "a c" }],
    "analyses": [
      { "kind": "patching", "corrupted": "bad", "target": "heads", "layers": [0, 1] },
      { "kind": "ablation", "unit": "neurons", "method": "mean", "reference": ["bad", "nope"] },
      { "kind": "detectors" },
      { "kind": "steering", "hook": "blocks.0.hook_resid_post", "vector": [1, 2], "coefficient": 2 },
      { "kind": "generation", "temperature": -1 }
    ] }`;
  const { spec, problems } = parseSpec(text);
  assert.deepEqual(spec.analyses.map((a) => a.kind), ['patching', 'ablation', 'detectors', 'steering', 'generation']);
  const [patching, , detectors] = spec.analyses;
  assert.ok(patching.kind === 'patching' && patching.metric === 'logitDiff' && patching.direction === 'denoise' && patching.layers?.length === 2);
  assert.ok(detectors.kind === 'detectors' && detectors.source === 'random' && detectors.detectors.length === 3);
  const messages = problems.map((p) => p.message);
  assert.ok(messages.some((m) => m.includes('no prompt is named "nope"')));
  assert.ok(messages.some((m) => m.includes('"temperature" must be a number from 0 to 100')));
  assert.equal(problems.length, 2);
});

test('"processing" reads the string and object forms; its option names are the protocol\'s', () => {
  const spec = (processing: string) => parseSpec(`{ "model": "demo", "processing": ${processing}, "prompts": ["x"], "analyses": [] }`);
  assert.deepEqual(spec('"transformerlens"').spec.processing?.value, TRANSFORMERLENS_PROCESSING);
  assert.deepEqual(spec('{ "foldLn": true, "centerUnembed": true }').spec.processing?.value, { ...NO_PROCESSING, foldLn: true, centerUnembed: true });
  assert.deepEqual(spec('"foldLn,foldValueBiases"').problems, []);
  assert.equal(parseSpec('{ "prompts": ["x"], "analyses": [] }').spec.processing, undefined);
  assert.deepEqual(Object.keys(PROCESSING_FIELDS), [...PROCESSING_OPTIONS]);
});

test('EXPECTED FAILURE - a bad "processing" names the option and the choices', () => {
  const problems = (processing: string) => parseSpec(`{ "processing": ${processing}, "prompts": ["x"], "analyses": [] }`).problems.map((p) => p.message);
  assert.match(problems('"foldln,centre"').join(), /"processing": "centre" is not a processing option/);
  assert.match(problems('{ "foldLN": true }').join(), /"processing" has no option "foldLN"; options: foldLn, centerWritingWeights/);
  assert.match(problems('{ "foldLn": 1 }').join(), /"processing.foldLn" must be true or false/);
  assert.match(problems('3').join(), /"processing" must be "transformerlens", "none"/);
});
