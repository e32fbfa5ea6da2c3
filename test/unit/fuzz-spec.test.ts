/**
 * Fuzzing the experiment-spec parser and validator with 10,000 seeded cases: valid specs mutated
 * (characters deleted, inserted, duplicated, truncated) and generated from hostile values (wrong types,
 * huge numbers, deep nesting, unknown kinds). parseSpec never throws; every problem's range lies inside
 * the text; validateSpec on what parsed ends in problems, never an exception.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseSpec } from '../../src/engine/spec/parse';
import { validateSpec } from '../../src/engine/spec/validate';
import { parseConfig } from '../../src/engine/config';
import { hookPoints } from '../../src/engine/hooks';
import { ROOT } from '../helpers/reference';
import { Rng, fuzz } from '../helpers/fuzz';

const examples = fs.readdirSync(path.join(ROOT, 'examples')).map((f) => fs.readFileSync(path.join(ROOT, 'examples', f), 'utf8'));
const config = parseConfig({ model_type: 'gpt2', n_layer: 2, n_embd: 16, n_head: 2, n_positions: 32, vocab_size: 100 }, 'config.json');
const facts = { nLayers: 2, nHeads: 2, nCtx: 32, dMlp: 64, hooks: hookPoints(config), countTokens: (t: string) => Math.ceil(t.length / 3) + 1 };

function hostile(r: Rng, depth = 0): unknown {
  switch (r.int(0, 8)) {
    case 0: return r.int(-3, 3);
    case 1: return 2 ** r.int(40, 70);
    case 2: return r.pick(['attention', 'logitLens', 'patching', 'ablation', 'steering', 'generation', 'detectors', 'attribution', '', '\uD800', 'x'.repeat(r.int(0, 500))]);
    case 3: return null;
    case 4: return depth > 4 ? [] : Array.from({ length: r.int(0, 4) }, () => hostile(r, depth + 1));
    case 5: return depth > 4 ? {} : Object.fromEntries(Array.from({ length: r.int(0, 4) }, () => [r.pick(['kind', 'prompt', 'layers', 'corrupted', 'text', 'name', 'hook', 'vector', 'reference', 'metric']), hostile(r, depth + 1)]));
    case 6: return r.next() < 0.5;
    case 7: return -r.next();
    default: return r.pick(['blocks.0.hook_resid_post', 'blocks.9.attn.hook_z', 'clean', 'corrupted']);
  }
}

function mutate(r: Rng, text: string): string {
  let s = text;
  for (let k = r.int(1, 6); k > 0; k--) {
    const at = r.int(0, s.length);
    switch (r.int(0, 3)) {
      case 0: s = s.slice(0, at) + s.slice(at + r.int(1, 20)); break;
      case 1: s = s.slice(0, at) + r.pick(['{', '}', '[', ']', ',', '"', ':', '//', '/*', '0', '-1e999', 'null', '\\u']) + s.slice(at); break;
      case 2: s = s.slice(0, at) + s.slice(at, at + r.int(1, 40)).repeat(r.int(2, 5)) + s.slice(at); break;
      default: s = s.slice(0, at);
    }
  }
  return s;
}

test('10,000 fuzzed specs parse and validate without throwing; problem ranges lie in the text', () => {
  let withProblems = 0;
  const outcome = fuzz('spec', 10_000, 5, (r) => {
    const text = r.next() < 0.6 ? mutate(r, r.pick(examples))
      : r.next() < 0.95 ? JSON.stringify({ model: hostile(r), prompts: hostile(r), analyses: Array.from({ length: r.int(0, 5) }, () => hostile(r)), cache: hostile(r), ...(r.next() < 0.3 ? { saes: r.next() < 0.5 ? hostile(r) : Array.from({ length: r.int(0, 3) }, () => ({ path: hostile(r), hook: hostile(r), mode: hostile(r) })) } : {}) })
        : '['.repeat(r.int(1000, 50000));
    const { spec, problems } = parseSpec(text);
    const all = [...problems, ...validateSpec(spec, facts)];
    if (all.length) withProblems++;
    for (const p of all) assert.ok(p.range.offset >= 0 && p.range.offset + p.range.length <= text.length + 1, `range ${JSON.stringify(p.range)} in ${text.length} chars`);
  });
  assert.equal(outcome.engineErrors, 0);
  assert.ok(withProblems > 5000, `${withProblems} specs with problems`);
  console.log(`# spec fuzz: ${outcome.ok} cases, ${withProblems} with problems reported, none thrown`);
});
