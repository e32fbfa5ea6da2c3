/**
 * The spec's top-level "saes": a path string or {"path", "hook"?, "mode"?}, each entry's source range
 * kept for diagnostics, errors naming the field and the fix, and the entries flowing into the ModelRef
 * of every analysis with their paths relative to the spec's folder (whoever names the model).
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { specModelRef } from '../../src/engine/spec/model-ref';
import { parseSpec } from '../../src/engine/spec/parse';
import { SAE_FIELDS, SAE_MODES, SPEC_FIELDS } from '../../src/engine/spec/vocabulary';

const withSaes = (saes: string) => `{ "model": "demo", "prompts": ["x"], "saes": ${saes}, "analyses": [] }`;
const slice = (text: string, r: { offset: number; length: number }) => text.slice(r.offset, r.offset + r.length);

test('a string entry and an object entry, with their ranges', () => {
  const text = withSaes('["./sae-a", { "path": "org/name/blocks.1.hook_resid_pre", "hook": "blocks.1.hook_resid_pre", "mode": "splice" }]');
  const { spec, problems } = parseSpec(text);
  assert.deepEqual(problems, []);
  const [a, b] = spec.saes!;
  assert.equal(a.path.value, './sae-a');
  assert.equal(a.mode.value, 'observe', 'the default mode');
  assert.equal(a.hook, undefined);
  assert.equal(slice(text, a.range), '"./sae-a"');
  assert.equal(b.index, 1);
  assert.equal(b.hook?.value, 'blocks.1.hook_resid_pre');
  assert.equal(b.mode.value, 'splice');
  assert.equal(slice(text, b.mode.range), '"splice"');
  assert.ok(slice(text, b.range).startsWith('{ "path"') && slice(text, b.range).endsWith('}'));
});

test('no "saes": the spec has none, and the model ref names none', () => {
  const { spec } = parseSpec('{ "prompts": ["x"], "analyses": [] }');
  assert.equal(spec.saes, undefined);
  assert.equal(specModelRef(spec, '/w/a.circuit.json', undefined, 'demo')!.saes, undefined);
});

test('bad entries name the field and the fix, and the good entries still parse', () => {
  const cases: [string, RegExp, string][] = [
    ['"./sae"', /"saes" must be an array/, '"./sae"'],
    ['[3]', /"saes\[0\]" must be a folder path \(a string\) or an object \{"path", "hook"\?, "mode"\?\}/, '3'],
    ['[""]', /"saes\[0\]" is empty: give the dictionary's folder/, '""'],
    ['[{ "hook": "blocks.0.hook_resid_post" }]', /"path" is required/, '{ "hook": "blocks.0.hook_resid_post" }'],
    ['[{ "path": 7 }]', /"path" must be a string/, '7'],
    ['[{ "path": "./s", "mode": "spliced" }]', /"saes\[0\]\.mode" must be one of "observe", "splice"/, '"spliced"'],
    ['[{ "path": "./s", "hook": "" }]', /"saes\[0\]\.hook" is empty: name a hook point/, '""'],
    ['[{ "path": "./s", "layer": 3 }]', /"saes\[0\]" has no field "layer"; fields: path, hook, mode/, '"layer"'],
  ];
  for (const [saes, message, at] of cases) {
    const text = withSaes(saes);
    const { problems } = parseSpec(text);
    assert.equal(problems.length, 1, `${saes}: ${JSON.stringify(problems)}`);
    assert.match(problems[0].message, message);
    assert.equal(slice(text, problems[0].range), at, saes);
  }
  const { spec, problems } = parseSpec(withSaes('[3, "./ok"]'));
  assert.equal(problems.length, 1);
  assert.deepEqual(spec.saes!.map((s) => [s.index, s.path.value]), [[1, './ok']], 'the good entry keeps its index');
});

test('the vocabulary declares the fields the parser reads', () => {
  assert.deepEqual(Object.keys(SAE_FIELDS), ['path', 'hook', 'mode']);
  assert.deepEqual(SAE_FIELDS.mode.options, SAE_MODES);
  assert.equal(SPEC_FIELDS.saes.type, 'array');
});

test('entries flow into the model ref with the spec folder as their base, also under a model override', () => {
  const text = withSaes('["./sae-a", { "path": "org/name/sub", "mode": "splice" }]');
  const { spec } = parseSpec(text);
  const specPath = path.join('/work', 'exp', 'a.circuit.json');
  const own = specModelRef(spec, specPath)!;
  assert.equal(own.ref, 'demo');
  assert.deepEqual(own.saes, [
    { path: './sae-a', baseDir: path.join('/work', 'exp'), mode: 'observe' },
    { path: 'org/name/sub', baseDir: path.join('/work', 'exp'), mode: 'splice' },
  ]);
  // The CLI's --model (relative to its working directory) does not move the spec's dictionaries; its own come first.
  const cli = specModelRef(spec, specPath, { ref: './m', baseDir: '/cwd', saes: [{ path: './x', hook: 'blocks.0.hook_resid_pre' }] })!;
  assert.equal(cli.baseDir, '/cwd');
  assert.deepEqual(cli.saes!.map((s) => [s.path, s.baseDir]), [['./x', undefined], ['./sae-a', path.join('/work', 'exp')], ['org/name/sub', path.join('/work', 'exp')]]);
});
