/**
 * Datasets as the worker loads them: templates fill to one token length or name the slot value that
 * breaks it; JSONL errors name the file, the line and the field; repeated random tokens are BOS, then
 * `length` tokens, then the same again, with the loss on the repeated half.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadDataset } from '../../src/engine/datasets/load';
import { openCheckpoint, tokenizePrompt } from '../../src/engine/model';
import { parseSpec } from '../../src/engine/spec/parse';
import type { Tracer } from '../../src/engine/tracer';
import { BUNDLED_MODELS } from '../helpers/runner';
import { tmpDir } from '../helpers/reference';

/** Tokenizing is all a dataset needs of the model. */
function tracerOf(model: string): Tracer {
  const ckpt = openCheckpoint(model, { bundledModelsDir: BUNDLED_MODELS });
  return { ckpt, tokenize: (t) => tokenizePrompt(ckpt, t), trace: () => assert.fail('a dataset runs nothing'), contract: () => assert.fail('a dataset runs nothing') };
}
const demo = tracerOf('demo');

function load(datasets: Record<string, unknown>, files: Record<string, string> = {}, tracer = demo) {
  const dir = tmpDir('datasets');
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
  const { spec, problems } = parseSpec(JSON.stringify({ datasets, analyses: [] }));
  assert.deepEqual(problems, []);
  return loadDataset(tracer, spec.datasets[0], path.join(dir, 'x.circuit.json'));
}

const IOI = { template: 'When{A} and{B} went to the store,{B} gave a drink to', slots: { A: [' John', ' David', ' Paul', ' James'], B: [' John', ' David', ' Paul', ' James'] }, answer: '{A}', counterfactual: '{B}', count: 12, seed: 3 };

test('a template draws every slot with the seed, never one value twice in a prompt, all prompts one length', () => {
  const ds = load({ ioi: IOI });
  assert.equal(ds.rows.length, 12);
  assert.ok(ds.rows.every((r) => r.tokens.length === ds.length));
  assert.ok(ds.rows.every((r) => r.answer !== r.counterfactual), 'A and B differ in every prompt');
  assert.ok(new Set(ds.rows.map((r) => r.answer)).size > 1, 'the draw varies');
  const again = load({ ioi: IOI });
  assert.deepEqual(again.rows.map((r) => r.answer), ds.rows.map((r) => r.answer), 'the seed makes it reproducible');
  const other = load({ ioi: { ...IOI, seed: 4 } });
  assert.notDeepEqual(other.rows.map((r) => r.answer), ds.rows.map((r) => r.answer));
});

test('EXPECTED FAILURE - a slot value of another token length is named', () => {
  assert.throws(() => load({ ioi: { ...IOI, slots: { ...IOI.slots, B: [' John', ' Christopher', ' Paul'] } } }),
    /datasets\.ioi\.slots\.B: " Christopher" makes the prompt \d+ tokens where " \w+" makes it \d+\. Every value of a slot must fill the template to the same token length/);
  assert.throws(() => load({ ioi: { ...IOI, corrupted: 'When{A} and{B} went to the store,{C} gave a drink to', slots: { ...IOI.slots, C: [' Mark', ' Moses'] } } }),
    /datasets\.ioi\.slots\.C: " Moses" makes the corrupted prompt/);
});

test('EXPECTED FAILURE - an answer that is not one token names the prompt and its values', () => {
  assert.throws(() => load({ ioi: { ...IOI, answer: '{A} and' } }), /datasets\.ioi\.answer \(prompt 0: A=" \w+", B=" \w+"\): " \w+ and" is 2 tokens/);
});

test('a JSONL file (relative to the spec) of text or token ids, with answers as strings or ids', () => {
  const ds = load({ p: { file: 'p.jsonl' } }, { 'p.jsonl': '{"text": "In the beginning", "answer": " God", "counterfactual": 5, "corrupted": "In the end"}\n\n{"tokens": [4095, 1, 2, 3], "answer": 7}\n' });
  assert.equal(ds.rows.length, 2);
  assert.equal(ds.rows[0].tokens[0].id, 4095, 'text prompts get BOS');
  assert.equal(ds.rows[0].counterfactual, 5);
  assert.deepEqual(ds.rows[1].tokens.map((t) => t.id), [4095, 1, 2, 3]);
  assert.equal(ds.rows[1].origin, 'p.jsonl:3');
});

test('EXPECTED FAILURE - JSONL errors name the file, the line and the field', () => {
  const bad = (text: string) => () => load({ p: { file: 'p.jsonl' } }, { 'p.jsonl': text });
  assert.throws(bad('{"text": "a b"}\n{"text": "a", "answer": " in the"}\n'), /p\.jsonl: line 2: answer: " in the" is 2 tokens/);
  assert.throws(bad('{"text": "a b"}\n{"txt": "a"}\n'), /p\.jsonl: line 2: txt: is not a field of a dataset line\. Fields: text, tokens/);
  assert.throws(bad('{"text": "a b"}\nnot json\n'), /p\.jsonl: line 2: is not JSON/);
  assert.throws(bad('{"text": "In the beginning"}\n{"text": "In"}\n'), /p\.jsonl: line 2: is \d tokens, the first prompt \d/);
  assert.throws(bad('{"text": "In", "tokens": [1]}\n'), /p\.jsonl: line 1: text: give exactly one of "text" and "tokens"/);
  assert.throws(bad('{"tokens": [1, 99999]}\n'), /p\.jsonl: line 1: tokens: token id 99999 is outside the vocabulary/);
  assert.throws(() => load({ p: { file: 'missing.jsonl' } }), /missing\.jsonl: datasets\.p: cannot read .*missing\.jsonl\. The path is relative to the spec file/);
});

test('repeated random tokens: BOS, length non-BOS tokens, the same again; loss on the repeated half', () => {
  const planted = tracerOf('planted-induction');
  const ds = load({ rep: { generate: 'repeatedRandomTokens', count: 4, length: 10, seed: 9 } }, {}, planted);
  const bos = planted.ckpt.tokenizer!.bosTokenId!;
  assert.equal(ds.length, 21);
  assert.deepEqual(ds.lossTargets, [11, 21]);
  for (const r of ds.rows) {
    const ids = r.tokens.map((t) => t.id);
    assert.equal(ids[0], bos);
    assert.ok(!ids.slice(1).includes(bos));
    assert.deepEqual(ids.slice(1, 11), ids.slice(11));
  }
  assert.throws(() => load({ rep: { generate: 'repeatedRandomTokens', length: 64 } }, {}, planted), /datasets\.rep\.length: 2 x 64 \+ 1 tokens exceed the context of 128/);
});
