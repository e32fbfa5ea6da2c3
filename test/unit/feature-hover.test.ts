/**
 * The feature hover's markdown: the token and dictionary, each feature with its activation, label and
 * top/bottom logits, a command link that opens its card with the right arguments, model text escaped;
 * and the Features view's plain data (heatmap columns scaled per feature, quantile bands, snippets).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SHOW_FEATURES_COMMAND, escapeMarkdown, featureHoverMarkdown } from '../../src/host/inline/feature-hover-text';
import type { FeatureExample, FeaturesSlice } from '../../src/protocol/features';
import { quantileBands, snippetRange, tableHeatmap } from '../../webview/features/data';

const logits = (feature: number, up: string[], down: string[]) => ({
  feature, top: up.map((text, i) => ({ id: i, text, value: 2 - i * 0.5 })), bottom: down.map((text, i) => ({ id: 10 + i, text, value: -1 - i })),
});

test('the hover lists each feature with activation, label, logits and a link to its card', () => {
  const md = featureHoverMarkdown({
    token: { pos: 3, text: ' Mary' }, model: 'gpt2', hook: 'blocks.6.hook_resid_post',
    features: [{ id: 1234, act: 5.25 }, { id: 7, act: 0.5 }],
    logits: new Map([[1234, logits(1234, [' Mary', ' she'], [' John', ' he'])]]),
    labels: new Map([[1234, { text: 'female names *and* [pronouns]', source: 'x.jsonl' }]]),
    specUri: 'file:///w/ioi.circuit.json', prompt: 'clean', logitCount: 2,
  });
  const lines = md.split('\n');
  assert.match(lines[0], /token 3 `" Mary"`/);
  assert.match(lines[0], /at `blocks\.6\.hook_resid_post`/);
  const first = lines.find((l) => l.includes('#1234'))!;
  assert.match(first, /5\.250 · \*female names \\\*and\\\* \\\[pronouns\\\]\*/);
  const link = /\]\((command:[^ ]+) "/.exec(first)![1];
  assert.ok(link.startsWith(`command:${SHOW_FEATURES_COMMAND}?`));
  assert.deepEqual(JSON.parse(decodeURIComponent(link.split('?')[1])), [{ specUri: 'file:///w/ioi.circuit.json', prompt: 'clean', hook: 'blocks.6.hook_resid_post', feature: 1234 }]);
  assert.ok(md.includes('↑ `" Mary"` +2.00 `" she"` +1.50'));
  assert.ok(md.includes('↓ `" John"` -1.00 `" he"` -2.00'));
  const second = lines.findIndex((l) => l.includes('#7]'));
  assert.ok(second > 0 && !lines[second].includes('· *'), 'no label for #7');
  assert.ok(!(lines[second + 1] ?? '').includes('↑'), 'no logits for #7 (none were given)');
});

test('a token with no active feature says so; backticks in tokens cannot break the code span', () => {
  const md = featureHoverMarkdown({ token: { pos: 0, text: 'a`b' }, model: 'm', hook: 'h', features: [], logits: new Map(), labels: new Map(), specUri: 'u', prompt: 'p' });
  assert.match(md, /`"a'b"`/);
  assert.match(md, /No feature of this dictionary is active/);
  assert.equal(escapeMarkdown('a_b [c](d) <e>\nf'), 'a\\_b \\[c\\]\\(d\\) \\<e\\> f');
});

test('the table scales each column to its feature\'s largest activation and keeps raw values in the hover', () => {
  const s: FeaturesSlice = {
    view: 'features', model: 'm', hook: 'h', dSae: 100, hooks: ['h'], k: 1,
    tokens: [{ text: 'a', start: 0, end: 1 }, { text: 'b', start: 1, end: 2 }, { text: 'c', start: 2, end: 3 }],
    columns: [5, 9], acts: Float32Array.from([1, 0, 4, 0.5, 2, 0.25]), topIds: new Int32Array(3), topValues: new Float32Array(3), labels: { 9: { text: 'lbl', source: 'f' } },
  };
  const h = tableHeatmap(s, [[0, '#000'], [1, '#fff']]);
  assert.deepEqual(h.z, [[0.25, 0], [1, 1], [0.5, 0.5]]);
  assert.equal(h.hover[1][1], 'token 1 b · #9 lbl · 0.500');
  assert.deepEqual(h.xLabels, ['#5', '#9']);
});

test('samples fall in quantile bands of the largest activation; snippets stay inside the window, after its BOS', () => {
  const ex = (act: number, pos = 3): FeatureExample => ({ window: 0, pos, act, tokens: Array(40).fill('x'), acts: new Float32Array(40) });
  const bands = quantileBands([ex(10), ex(9), ex(5.5), ex(1)], 10);
  assert.deepEqual(bands.map((b) => [b.title, b.examples.map((e) => e.act)]), [
    ['80-100% of the largest activation', [10, 9]], ['40-60% of the largest activation', [5.5]], ['0-20% of the largest activation', [1]],
  ]);
  assert.deepEqual(snippetRange(ex(1, 3)), [1, 10]);
  assert.deepEqual(snippetRange(ex(1, 38)), [22, 40]);
});
