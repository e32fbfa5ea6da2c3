/**
 * The Test Explorer's pure parts: a spec's circuits and claims as an item tree (ids, labels, ranges,
 * leaves per ablation), which leaves a run request picks, what each outcome is marked and says, and the
 * kept results' keys and invalidation.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { claimReport } from '../../src/host/testing/claim-messages';
import { leafOf, pickLeaves, positionAt, specTree } from '../../src/host/testing/claim-tree';
import { ResultCache, type StateStore, cacheKey, contentHash } from '../../src/host/testing/result-cache';
import type { ClaimResult } from '../../src/protocol/circuit';

const EXAMPLE = readFileSync(new URL('../../examples/circuits.circuit.json', import.meta.url), 'utf8');

test('every claim of every circuit is an item, with a leaf per ablation when a claim names several', () => {
  const tree = specTree(EXAMPLE);
  assert.equal(tree.problem, undefined);
  const shape = tree.circuits.map((c) => [c.id, c.label, c.children.map((k) => [k.id, k.label, k.children.map((l) => [l.id, l.label])])]);
  const abl = (claim: string) => ['mean', 'resample', 'zero'].map((a) => [`analyses[0]/${claim}/${a}`, a]);
  assert.deepEqual(shape, [
    ['analyses[0]', 'induction circuit', [
      ['analyses[0]/faithfulness', 'faithfulness', abl('faithfulness')],
      ['analyses[0]/minimality', 'minimality', abl('minimality')],
      ['analyses[0]/completeness', 'completeness', abl('completeness')],
    ]],
    ['analyses[1]', 'previous-token head alone', [['analyses[1]/faithfulness', 'faithfulness (mean)', []]]],
  ]);
  // Ranges are the claims' own text, so the gutter's button sits on the claim's line.
  const claim = tree.circuits[1].children[0];
  assert.match(EXAMPLE.slice(claim.range.offset, claim.range.offset + claim.range.length), /^\{ "min": 0\.8, "expect": "fail" \}$/);
  assert.equal(EXAMPLE.split('\n')[positionAt(EXAMPLE, claim.range.offset).line].trim(), '"claims": { "faithfulness": { "min": 0.8, "expect": "fail" } }');
});

test('specs without claims have no circuits; a circuit the parser cannot read is listed with its problem; shared problems name their line', () => {
  assert.deepEqual(specTree('{"prompts": [{"name": "a", "text": "x"}], "analyses": [{"kind": "attention"}]}').circuits, []);
  assert.deepEqual(specTree('{"datasets": {"d": {"generate": "repeatedRandomTokens", "count": 2, "length": 4, "seed": 0}}, "analyses": [{"kind": "circuit", "dataset": "d", "components": {"heads": ["0.0"]}}]}').circuits, [], 'no claims: nothing to pass or fail');
  const broken = specTree('{"datasets": {"d": {"generate": "repeatedRandomTokens", "count": 2, "length": 4, "seed": 0}},\n "analyses": [\n  {"kind": "circuit", "dataset": "d", "claims": {"faithfulness": {"min": 0.8}}}]}');
  assert.equal(broken.circuits.length, 1);
  assert.equal(broken.circuits[0].label, 'analyses[0]');
  assert.match(broken.circuits[0].problem!, /^line 3: "components" is required/);
  assert.match(specTree('{"analyses": [{"kind": "circuit", "claims": {}},]\n,,}').problem!, /^line \d+: JSON syntax/);
});

test('a result lands on its claim, or on its ablation\'s leaf', () => {
  const [induction, alone] = specTree(EXAMPLE).circuits;
  assert.equal(leafOf(induction, { claim: 'minimality', ablation: 'zero' })?.id, 'analyses[0]/minimality/zero');
  assert.equal(leafOf(alone, { claim: 'faithfulness', ablation: 'mean' })?.id, 'analyses[1]/faithfulness');
  assert.equal(leafOf(alone, { claim: 'faithfulness', ablation: 'zero' }), undefined);
  assert.equal(leafOf(alone, { claim: 'metric', ablation: 'mean' }), undefined);
});

test('a run picks the leaves below what it includes, less what it excludes', () => {
  const [induction] = specTree(EXAMPLE).circuits;
  assert.equal(pickLeaves(induction, 'all', new Set()).length, 9);
  assert.deepEqual(pickLeaves(induction, new Set(['analyses[0]/completeness']), new Set(['analyses[0]/completeness/resample'])), ['analyses[0]/completeness/mean', 'analyses[0]/completeness/zero']);
  assert.deepEqual(pickLeaves(induction, new Set(['analyses[0]']), new Set(['analyses[0]/faithfulness', 'analyses[0]/minimality'])), ['analyses[0]/completeness/mean', 'analyses[0]/completeness/resample', 'analyses[0]/completeness/zero']);
  assert.deepEqual(pickLeaves(induction, new Set(['analyses[1]']), new Set()), []);
});

test('positions count lines as VS Code does', () => {
  assert.deepEqual(positionAt('ab\ncd', 4), { line: 1, character: 1 });
  assert.deepEqual(positionAt('ab\r\ncd', 4), { line: 1, character: 0 });
  assert.deepEqual(positionAt('ab\r\ncd', 3), { line: 0, character: 3 });
  assert.deepEqual(positionAt('a\rb', 2), { line: 1, character: 0 });
});

const means = { full: 0.446, none: 5.38, circuit: 0.45 };
const result = (r: Partial<ClaimResult>): ClaimResult => ({ claim: 'faithfulness', ablation: 'mean', value: 0.99, bound: { min: 0.8 }, holds: true, expect: 'pass', outcome: 'passed', means, range: { offset: 0, length: 1 }, ...r });

test('a failure gives the value, the bound and the ablation, and a per-component claim each component and the worst', () => {
  assert.deepEqual(claimReport(result({})), { mark: 'passed' });
  const r = claimReport(result({ claim: 'minimality', ablation: 'resample', value: 0.01, bound: { min: 0.05 }, holds: false, outcome: 'failed', components: { '0.0': 0.01, '1.1': 0.7 }, worst: '0.0', spread: 0.3 }));
  assert.equal(r.mark, 'failed');
  assert.equal(r.actual, '0.0100');
  assert.equal(r.expected, '>= 0.05');
  assert.deepEqual(r.message!.split('\n'), [
    'minimality of component 0.0 is 0.0100 with resample ablation; the claim needs >= 0.05.',
    'Components: 0.0 0.0100, 1.1 0.7000 (worst 0.0).',
    'Spread across ablations: 0.3000.',
    'Dataset means of the metric: full model 0.4460, every component ablated 5.3800, the circuit alone 0.4500.',
  ]);
});

test('an expected failure is skipped with a note; a documented false claim that holds fails', () => {
  const xfail = claimReport(result({ value: 0.01, holds: false, expect: 'fail', outcome: 'expected failure' }));
  assert.equal(xfail.mark, 'skipped');
  assert.match(xfail.message!, /^Expected to fail \("expect": "fail"\), and it does: faithfulness is 0\.0100 with mean ablation; the claim needs >= 0\.8\./);
  const xpass = claimReport(result({ expect: 'fail', outcome: 'unexpected pass' }));
  assert.equal(xpass.mark, 'failed');
  assert.match(xpass.message!, /^faithfulness is 0\.9900 with mean ablation and holds \(>= 0\.8\), but the claim is marked "expect": "fail"\./);
  assert.equal(xpass.expected, 'not >= 0.8 ("expect": "fail")');
});

/** workspaceState's shape over a Map. */
function memento(): StateStore & { map: Map<string, unknown> } {
  const map = new Map<string, unknown>();
  return { map, get: <T>(k: string) => map.get(k) as T | undefined, update: (k, v) => (v === undefined ? map.delete(k) : map.set(k, v), Promise.resolve()) };
}

test('kept results: one key per spec, valid while the spec has the text they were measured on', async () => {
  assert.equal(cacheKey('file:///w/a.circuit.json'), 'circuitLens.claimResults:file:///w/a.circuit.json');
  assert.equal(contentHash('x'), contentHash('x'));
  assert.notEqual(contentHash('x'), contentHash('x '));
  const store = memento();
  const cache = new ResultCache(store);
  const uri = 'file:///w/a.circuit.json';
  await cache.set(uri, 'v1', [{ id: 'a', mark: 'passed' }, { id: 'b', mark: 'failed', message: 'm' }]);
  // A run of one claim on the same text keeps its neighbours' results.
  await cache.set(uri, 'v1', [{ id: 'b', mark: 'passed' }]);
  assert.deepEqual(cache.get(uri, 'v1'), [{ id: 'a', mark: 'passed' }, { id: 'b', mark: 'passed' }]);
  assert.equal(cache.get('file:///w/other.circuit.json', 'v1'), undefined);
  // Another text: the entry is stale and is dropped.
  assert.equal(cache.get(uri, 'v2'), undefined);
  assert.equal(store.map.size, 0);
  await cache.set(uri, 'v2', [{ id: 'a', mark: 'errored', message: 'e' }]);
  await cache.set(uri, 'v3', [{ id: 'b', mark: 'passed' }]);
  assert.deepEqual(cache.get(uri, 'v3'), [{ id: 'b', mark: 'passed' }]);
  await cache.drop(uri);
  assert.equal(store.map.size, 0);
});
