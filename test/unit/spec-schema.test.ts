/**
 * The spec vocabulary is the one source of truth: media/circuit-spec.schema.json is what it generates,
 * and the parser reads every declared kind and field with the declared options, bounds and defaults.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseSpec } from '../../src/engine/spec/parse';
import { SCHEMA_COMMAND, SCHEMA_FILE, circuitSpecSchema, circuitSpecSchemaText } from '../../src/engine/spec/schema';
import type { AnalysisSpec } from '../../src/engine/spec/types';
import { ANALYSIS_KINDS, AnalysisKind, COMMON_FIELDS, Field, Fields, KINDS, KindDecl, PROMPT_FIELDS, SAMPLING_FIELDS, SPEC_FIELDS } from '../../src/engine/spec/vocabulary';

const ROOT = join(__dirname, '..', '..');

const fieldsOf = (kind: AnalysisKind): Fields => KINDS[kind].fields;
const declOf = (kind: AnalysisKind): KindDecl => KINDS[kind];

/** A valid value of a field. */
function sample(f: Field): unknown {
  switch (f.type) {
    case 'string': return f.refersTo === 'prompt' ? 'p' : f.refersTo === 'dataset' ? 'd' : f.examples?.[0] ?? 'x';
    case 'enum': return f.options[0];
    case 'integer':
    case 'number': return f.minimum ?? 0;
    case 'boolean': return true;
    case 'array': return [sample(f.items)];
    case 'object': return Object.fromEntries(Object.entries(f.fields).map(([k, g]) => [k, sample(g)]));
    case 'oneOf': return sample(f.alternatives[0]);
    case 'map': return { k: sample(f.values) };
    case 'analyses': return [];
  }
}

/** The smallest analysis of a kind: its required fields and the first of the alternatives it needs. */
function minimal(kind: AnalysisKind): Record<string, unknown> {
  const fields = fieldsOf(kind);
  const keys = [...Object.keys(fields).filter((k) => fields[k].required), ...(declOf(kind).needsOneOf?.[0] ?? [])];
  return { kind, ...Object.fromEntries(keys.map((k) => [k, sample(fields[k])])) };
}

function specText(analysis: Record<string, unknown>): string {
  return JSON.stringify({ prompts: [{ name: 'p', text: 'a b' }], datasets: { d: { generate: 'repeatedRandomTokens' } }, analyses: [analysis] });
}

/** The parsed value of a field: sampling settings are gathered under `generation`. */
function parsedField(a: AnalysisSpec, key: string): unknown {
  const obj = a as unknown as Record<string, unknown>;
  return key in SAMPLING_FIELDS && 'generation' in obj ? (obj.generation as Record<string, unknown>)[key] : obj[key];
}

/** Without source ranges, to compare with declared defaults. */
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object' && 'value' in v && 'range' in v) return (v as { value: unknown }).value;
  return v;
}

test(`${SCHEMA_FILE} is what the vocabulary generates`, () => {
  const onDisk = readFileSync(join(ROOT, SCHEMA_FILE), 'utf8');
  assert.ok(onDisk === circuitSpecSchemaText(), `${SCHEMA_FILE} differs from the schema generated from src/engine/spec/vocabulary.ts. Run: ${SCHEMA_COMMAND}`);
  const kinds = (circuitSpecSchema().properties as { analyses: { items: { properties: { kind: { enum: string[] } } } } }).analyses.items.properties.kind.enum;
  assert.deepEqual(kinds, [...ANALYSIS_KINDS]);
  assert.deepEqual(Object.keys(KINDS), [...ANALYSIS_KINDS]);
});

test('every kind of the vocabulary parses from its smallest spec, without problems', () => {
  for (const kind of ANALYSIS_KINDS) {
    const { spec, problems } = parseSpec(specText(minimal(kind)));
    assert.deepEqual(problems, [], kind);
    assert.equal(spec.analyses[0]?.kind, kind);
  }
});

test('every default of the vocabulary is what parseSpec yields when the field is absent', () => {
  let checked = 0;
  for (const kind of ANALYSIS_KINDS) {
    const given = minimal(kind);
    const [a] = parseSpec(specText(given)).spec.analyses;
    for (const [key, f] of Object.entries(fieldsOf(kind))) {
      if (key in given || f.type === 'analyses' || f.type === 'oneOf') continue;
      const expected = 'default' in f ? f.default : undefined;
      assert.deepEqual(plain(parsedField(a, key)), expected === undefined ? undefined : structuredClone(expected), `${kind}.${key}`);
      checked++;
    }
  }
  assert.ok(checked > 30, `${checked} defaults checked`);
});

test('the parser reads every declared field: a wrong-typed value is a problem at that value', () => {
  const at = (text: string) => {
    const offset = text.indexOf('true');
    assert.ok(offset >= 0 && text.indexOf('true', offset + 1) < 0);
    return offset;
  };
  const expectProblemAt = (text: string, what: string) => {
    const offset = at(text);
    const { problems } = parseSpec(text);
    assert.ok(problems.some((p) => p.range.offset === offset && p.range.length === 4), `${what}: ${JSON.stringify(problems)}`);
  };
  for (const kind of ANALYSIS_KINDS) {
    for (const key of [...Object.keys(COMMON_FIELDS), ...Object.keys(fieldsOf(kind))]) expectProblemAt(specText({ ...minimal(kind), [key]: true }), `${kind}.${key}`);
  }
  for (const key of Object.keys(PROMPT_FIELDS)) {
    expectProblemAt(JSON.stringify({ prompts: [{ text: 'a', [key]: true }] }), `prompt.${key}`);
  }
  for (const key of Object.keys(SPEC_FIELDS)) {
    if (key === '$schema') continue; // for the editor only; the parser ignores it
    expectProblemAt(JSON.stringify({ prompts: ['a'], [key]: true }), key);
  }
});

test('options and bounds of the vocabulary are the ones the parser enforces', () => {
  for (const kind of ANALYSIS_KINDS) {
    for (const [key, f] of Object.entries(fieldsOf(kind))) {
      const problemsWith = (v: unknown) => parseSpec(specText({ ...minimal(kind), [key]: v })).problems.map((p) => p.message);
      if (f.type === 'enum') {
        for (const o of f.options) {
          const { spec, problems } = parseSpec(specText({ ...minimal(kind), [key]: o }));
          assert.deepEqual(problems, [], `${kind}.${key} = ${o}`);
          assert.equal(parsedField(spec.analyses[0], key), o);
        }
        assert.ok(problemsWith('bogus').some((m) => m.startsWith(`"${key}" must be one of ${f.options.join(', ')}`)), `${kind}.${key}`);
      }
      if (f.type === 'integer' || f.type === 'number') {
        for (const ok of [f.minimum, f.maximum]) if (ok !== undefined) assert.deepEqual(problemsWith(ok), [], `${kind}.${key} = ${ok}`);
        if (f.minimum !== undefined) assert.equal(problemsWith(f.minimum - 1).length, 1, `${kind}.${key} below its minimum`);
        if (f.maximum !== undefined) assert.equal(problemsWith(f.maximum + 1).length, 1, `${kind}.${key} above its maximum`);
      }
      if (f.type === 'array' && f.items.type === 'enum') {
        assert.equal(problemsWith(['bogus']).length, 1, `${kind}.${key} item`);
      }
      if (f.type === 'array' && f.items.type === 'integer' && f.items.minimum === 0) {
        assert.equal(problemsWith([-1]).length, 1, `${kind}.${key} item below 0`);
      }
    }
  }
});

test('every field the vocabulary marks as a prompt name is checked against the prompts', () => {
  let checked = 0;
  for (const kind of ANALYSIS_KINDS) {
    const fields: Fields = { ...COMMON_FIELDS, ...fieldsOf(kind) };
    for (const [key, f] of Object.entries(fields)) {
      const one = f.type === 'string' && f.refersTo === 'prompt';
      const many = f.type === 'array' && f.items.type === 'string' && f.items.refersTo === 'prompt';
      if (!one && !many) continue;
      const { problems } = parseSpec(specText({ ...minimal(kind), [key]: one ? 'nope' : ['nope'] }));
      assert.ok(problems.some((p) => p.message.startsWith('no prompt is named "nope"')), `${kind}.${key}`);
      checked++;
    }
  }
  assert.equal(checked, ANALYSIS_KINDS.length + 7); // every kind's "prompt", plus corrupted (patching, attributionPatching, inputAttribution, edgeAttribution), reference, positive, negative
});

test("a kind's needsOneOf is enforced: steering needs a vector, or positive and negative prompts", () => {
  const { problems } = parseSpec(specText({ kind: 'steering', hook: 'blocks.0.hook_resid_post', positive: ['p'] }));
  assert.deepEqual(problems.map((p) => p.message), ['steering needs "vector", or "positive" and "negative" prompt names, or "feature".']);
  assert.deepEqual(parseSpec(specText({ kind: 'steering', hook: 'h', positive: ['p'], negative: ['p'] })).problems, []);
});
