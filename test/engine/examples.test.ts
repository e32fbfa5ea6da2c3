/**
 * Every example shows what its comments say. Each examples/*.circuit.json runs as `circuit-lens run`
 * runs it (the built CLI and its --json output, so `node tools/build.mjs` first), and the claims its
 * comments make are checked on the numbers: values and axis labels, not the wording of notes. An
 * example without checks here fails, so a new example comes with the claims of its comments.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AnalysisOutput } from '../../src/protocol/analysis';
import { CLI, ROOT, tmpDir } from '../helpers/reference';
import { lastLogits, withRunner } from '../helpers/runner';

const EXAMPLES = path.join(ROOT, 'examples');
const STAFF = 'Moses took the staff of God, and Aaron took the staff of';

/** The analyses of one run of an example, as `circuit-lens run --json` writes them. */
function run(example: string): AnalysisOutput[] {
  const json = path.join(tmpDir('example'), 'out.json');
  const r = spawnSync(process.execPath, [CLI, 'run', path.join(EXAMPLES, example), '--json', json, '--threads', '1'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(fs.readFileSync(json, 'utf8')).analyses;
}

/** logit(answer) - logit(counterfactual) after a prompt, from a plain trace: the baseline the analyses report against. */
function logitDiff(model: string, text: string, answer: string, counterfactual: string): Promise<number> {
  return withRunner({}, async (client) => {
    const ref = { ref: model };
    const { dVocab } = await client.request('model/facts', { model: ref });
    const logits = lastLogits(await client.request('trace', { model: ref, input: { text }, topK: dVocab }), dVocab);
    const id = async (t: string) => {
      const tokens = await client.request('tokenize', { model: ref, input: { text: t, bos: false } });
      assert.equal(tokens.length, 1, `${JSON.stringify(t)} is one token`);
      return tokens[0].id;
    };
    return logits[await id(answer)] - logits[await id(counterfactual)];
  });
}

/** The plots of an analysis that hold values: itself and its parts, in order (one per detector). */
const plots = (a: AnalysisOutput) => [a, ...(a.parts ?? [])].filter((p) => p.values.length > 0);

/** The value at row i, column j of a two-axis output. */
function cell(a: AnalysisOutput, i: number, j: number): number {
  assert.equal(a.axes.length, 2, `${a.name}: two axes`);
  return a.values[i * a.axes[1].labels.length + j];
}

/** Head "L.H" of a layer x head output, found by its labels. */
function head(a: AnalysisOutput, name: string): number {
  const [layer, h] = name.split('.');
  const [i, j] = [a.axes[0].labels.indexOf(layer), a.axes[1].labels.indexOf(`H${h}`)];
  assert.ok(i >= 0 && j >= 0, `${a.name}: no head ${name}`);
  return cell(a, i, j);
}

const HEADS = ['0.0', '0.1', '1.0', '1.1'];

/** The cells of a two-axis output other than those listed as [row, column]. */
function others(a: AnalysisOutput, except: [number, number][]): number[] {
  const n = a.axes[1].labels.length;
  return a.values.filter((_, k) => !except.some(([i, j]) => i * n + j === k));
}

/** A position axis labels each position with its token: `8 " God"`. */
function assertToken(a: AnalysisOutput, axis: number, pos: number, token: string): void {
  assert.ok(a.axes[axis].labels[pos].includes(JSON.stringify(token)), `${a.name}: position ${pos} is ${JSON.stringify(token)} (${a.axes[axis].labels[pos]})`);
}

const below = (xs: number[], limit: number, what: string) => assert.ok(xs.every((x) => Math.abs(x) < limit), `${what}: every |value| < ${limit}, got ${xs.map((x) => x.toFixed(3)).join(', ')}`);

const CLAIMS: Record<string, (analyses: AnalysisOutput[]) => void | Promise<void>> = {
  'ablation.circuit.json': async ([zero, mean, resample, neurons]) => {
    const base = await logitDiff('demo', STAFF, ' God', ' Israel');
    assert.ok(Math.abs(base - 3.05) < 0.01, `unablated logit difference 3.05, got ${base}`);
    assert.ok(head(zero, '0.0') < -base && head(zero, '1.1') < -0.8 * base, 'zeroing 0.0 removes more than the difference, 1.1 most of it');
    below([head(zero, '0.1'), head(zero, '1.0')], 0.5, 'zeroing heads 0.1 and 1.0');
    assert.ok(head(mean, '1.1') < -0.75 * base, 'mean-ablating head 1.1');
    below(['0.0', '0.1', '1.0'].map((h) => head(mean, h)), 0.3, 'mean-ablating the other heads');
    assert.equal(resample.values.length, 2, 'one value per layer');
    for (const v of resample.values) assert.ok(Math.abs(v + base) < 0.15, `resampling a layer removes the whole difference: ${v}`);
    assert.equal(neurons.axes[1].labels[41], 'N41');
    const n41 = cell(neurons, 0, 41);
    assert.ok(Math.abs(n41 + base / 3) < 0.1, `neuron 41 carries a third of the difference: ${n41}`);
    below(others(neurons, [[0, 41]]), 0.35, 'every other neuron');
  },

  'attention.circuit.json': ([attention, lens]) => {
    const [layers, heads, query] = attention.axes;
    assert.deepEqual([layers.labels, heads.labels], [['0', '1'], ['H0', 'H1']]);
    const n = query.labels.length;
    assertToken(attention, 2, 17, ' of');
    assertToken(attention, 3, 8, ' God');
    const pattern = (l: number, h: number, q: number) => attention.values.slice(((l * 2 + h) * n + q) * n, ((l * 2 + h) * n + q + 1) * n);
    const from17 = pattern(1, 1, 17);
    assert.equal(from17.indexOf(Math.max(...from17)), 8, 'head 1.1 attends from the last " of" to " God"');
    assert.ok(from17[8] > 0.6, `with 0.66 of its attention, got ${from17[8]}`);
    const previous = Array.from({ length: n - 1 }, (_, q) => pattern(0, 0, q + 1)[q]);
    assert.ok(previous.reduce((x, y) => x + y, 0) / previous.length > 0.97, 'head 0.0 attends to the previous token');
    const rows = lens.axes[0].labels;
    assert.equal(rows[rows.length - 1], 'final_post');
    assertToken(lens, 1, 17, ' of');
    below(rows.slice(0, -1).map((_, i) => cell(lens, i, 17)), 0.01, 'P(" God") at the last position before the output');
    assert.ok(Math.abs(cell(lens, rows.length - 1, 17) - 0.46) < 0.01, 'P(" God") at the output');
  },

  'attribution.circuit.json': async ([a]) => {
    const base = await logitDiff('demo', STAFF, ' God', ' Israel');
    const sum = a.values.reduce((x, y) => x + y, 0);
    assert.ok(Math.abs(sum - base) < 1e-3, `the components sum to the logit difference: ${sum} vs ${base}`);
    const part = (label: string) => a.values[a.axes[0].labels.indexOf(label)];
    assert.ok(part('L1 mlp') > 3.8 && part('L0 mlp') < -0.9, `layer 1's MLP writes most (${part('L1 mlp')}), layer 0's against it (${part('L0 mlp')})`);
    const [, heads] = plots(a);
    assert.deepEqual(heads.axes.map((x) => x.labels.length), [2, 2]);
    below(HEADS.map((h) => head(heads, h)), 0.25, 'each head\'s direct part');
  },

  'circuits.circuit.json': ([induction, alone]) => {
    const claims = induction.claims!;
    assert.equal(claims.length, 9, 'three claims under three ablations');
    for (const c of claims) assert.equal(c.outcome, 'passed', `${c.claim} (${c.ablation}) ${c.value}`);
    for (const c of claims.filter((x) => x.claim === 'faithfulness')) assert.ok(Math.abs(c.value - 1) < 1e-4 && c.spread! < 1e-4, `faithfulness (${c.ablation}) 1: ${c.value}`);
    const byAblation = Object.fromEntries(claims.filter((c) => c.claim === 'faithfulness').map((c) => [c.ablation, c.means]));
    assert.ok(Math.abs(byAblation.zero.none - Math.log(1024)) < 1e-3 && byAblation.resample.none > 20 && Math.abs(byAblation.mean.full - 0.446) < 1e-3, 'the baselines in the comment');
    const minimality = claims.filter((c) => c.claim === 'minimality');
    assert.ok(minimality.every((c) => c.value > 0.26) && minimality.find((c) => c.ablation === 'resample')!.worst === '0.0', 'the lowest share: head 0.0 under resample');
    assert.ok(claims.filter((c) => c.claim === 'completeness').every((c) => c.value < 1e-4), 'completeness 0');
    const [xfail] = alone.claims!;
    assert.ok(xfail.outcome === 'expected failure' && Math.abs(xfail.value) < 0.05, `without 1.1, faithfulness about 0: ${xfail.value}`);
  },

  'ioi.circuit.json': ([both, alone, zeroed, patching, attribution, detectors]) => {
    const value = (a: AnalysisOutput, ablation: string) => a.claims!.find((c) => c.claim === 'faithfulness' && c.ablation === ablation)!.value;
    assert.ok(Math.abs(both.claims![0].means.full - 6.97) < 0.01, `logit difference 6.97: ${both.claims![0].means.full}`);
    for (const a of [both, alone]) for (const c of a.claims!) assert.equal(c.outcome, 'passed', `${a.name}: ${c.claim} (${c.ablation}) ${c.value}`);
    const range = ['mean', 'resample', 'zero', 'patch'].map((x) => value(both, x));
    assert.ok(Math.min(...range) > 0.92 && Math.max(...range) < 1.05, `both heads: 0.92 to 1.04 (${range})`);
    assert.ok(['mean', 'resample', 'patch'].every((x) => value(alone, x) > 0.98), 'head 1.1 alone under mean, resample, patch');
    assert.ok(zeroed.claims![0].outcome === 'expected failure' && Math.abs(value(zeroed, 'zero')) < 0.01, 'head 1.1 alone under zero ablation: 0.00');
    // Over the dataset: ratios of dataset means, each with its spread over the 32 prompts.
    assert.ok(Math.abs(head(patching, '1.1') - 0.99) < 0.01 && Math.abs(patching.spread![3] - 0.52) < 0.01, `patching head 1.1: 0.99 ± 0.52 (${head(patching, '1.1')} ± ${patching.spread![3]})`);
    below(['0.0', '0.1', '1.0'].map((h) => head(patching, h)), 0.02, 'patching the other heads');
    const part = (label: string) => attribution.values[attribution.axes[0].labels.indexOf(label)];
    assert.ok(Math.abs(attribution.values.reduce((x, y) => x + y, 0) - 6.97) < 0.01, 'the mean contributions add up to the mean logit difference 6.97');
    assert.ok(Math.abs(part('L1 attn') - 3.52) < 0.01 && Math.abs(part('L1 mlp') - 3.57) < 0.01, `layer 1's attention ${part('L1 attn')} and MLP ${part('L1 mlp')}`);
    below(attribution.values.filter((_, i) => !attribution.axes[0].labels[i].startsWith('L1')), 0.1, 'every other component');
    assert.ok(Math.abs(head(plots(attribution)[1], '1.1') - 3.62) < 0.01, 'head 1.1\'s mean part');
    const [previous, , induction] = plots(detectors);
    assert.ok(Math.abs(head(previous, '0.0') - 0.98) < 0.01, 'previous-token head 0.0');
    assert.ok(Math.abs(head(induction, '1.1') - 0.61) < 0.01 && Math.abs(head(induction, '1.0') - 0.32) < 0.01, 'induction heads 1.1, then 1.0');
  },

  'detectors.circuit.json': ([random, prompt]) => {
    const [previous, duplicate, induction] = plots(random);
    assert.ok(head(previous, '0.0') > 0.98, 'previous-token head 0.0');
    below(['0.1', '1.0', '1.1'].map((h) => head(previous, h)), 0.1, 'other previous-token scores');
    assert.ok(head(induction, '1.1') > 0.9 && head(induction, '1.0') > 0.25 && head(induction, '1.0') < 0.4, 'induction heads 1.1 and, weaker, 1.0');
    below(duplicate.values, 0.02, 'duplicate-token scores');
    const [onPrompt, inductionOnPrompt] = plots(prompt);
    assert.equal(plots(prompt).length, 2, 'the two detectors asked for');
    assert.ok(head(onPrompt, '0.0') > 0.97 && Math.max(...onPrompt.values) === head(onPrompt, '0.0'), 'previous-token head 0.0 on the prompt');
    assert.ok(Math.abs(head(inductionOnPrompt, '1.1') - 0.6) < 0.02 && head(inductionOnPrompt, '1.1') > head(inductionOnPrompt, '1.0'), 'induction head 1.1 on the prompt, ahead of 1.0');
  },

  'generation.circuit.json': ([greedy, sampled]) => {
    const continuation = (a: AnalysisOutput) => a.texts![0].text.slice('In the beginning'.length);
    assert.match(continuation(greedy), /^ of the\s+$/, 'greedy: " of the", then only whitespace');
    assert.notEqual(continuation(sampled), continuation(greedy));
    assert.equal(continuation(run('generation.circuit.json')[1]), continuation(sampled), 'the seed makes the sample reproducible');
  },

  'attribution-patching.circuit.json': ([resid, heads, input]) => {
    assertToken(resid, 1, 8, ' God');
    for (const l of [0, 1]) assert.ok(Math.abs(cell(resid, l, 8) - 0.85) < 0.01, `AtP resid_pre ${l} at " God"`);
    below(others(resid, [[0, 8], [1, 8]]), 0.02, 'every other resid_pre estimate');
    const v = resid.verification!;
    assert.equal(v.cells.filter((c) => c.chosen === 'top').length, 8);
    const exact = (l: number) => v.cells.find((c) => c.layer === l && c.unit.startsWith('pos 8 '))!.exact;
    assert.ok(exact(0) > 0.99 && exact(1) > 0.98, 'exact patching at " God": 1.0 and 0.99');
    assert.ok(v.spearman > 0.9 && v.falseNegatives === 0, `Spearman ${v.spearman}, ${v.falseNegatives} false negatives`);
    assert.ok(Math.abs(head(heads, '1.1') - 0.9) < 0.01 && heads.verification!.cells.some((c) => c.unit === 'H1' && c.layer === 1 && Math.abs(c.exact - 0.93) < 0.01), 'head 1.1: 0.90, exact 0.93');
    below(['0.0', '0.1', '1.0'].map((h) => head(heads, h)), 0.1, 'the other heads');
    assertToken(input, 0, 8, ' God');
    assert.equal(input.values.indexOf(Math.max(...input.values)), 8, '" God" gets the largest attribution');
    const sum = input.values.reduce((a, b) => a + b, 0);
    const delta = input.notes!['metric - baseline metric'] as number;
    assert.ok(Math.abs(sum - delta) <= 0.02 * Math.abs(delta), `attributions ${sum} add up to ${delta}`);
  },

  'edge-attribution.circuit.json': ([ig, eap]) => {
    const induction = ['input->a0.h0<v>', 'a0.h0->a1.h1<k>', 'a1.h1->logits'];
    assert.deepEqual(ig.axes[0].labels.slice(0, 3).sort(), [...induction].sort(), 'EAP-IG: the three largest edges are the induction circuit');
    assert.ok(ig.values.slice(0, 3).every((v) => v < -0.5), `EAP-IG: they score negative (${ig.values.slice(0, 3)})`);
    assert.ok((ig.notes!.faithfulness as number) > 0.99, `EAP-IG's 4-edge circuit recovers all of it (${ig.notes!.faithfulness})`);
    const keyEdge = eap.axes[0].labels.indexOf('a0.h0->a1.h1<k>');
    assert.ok(keyEdge < 0 || keyEdge >= 4 || Math.abs(eap.values[keyEdge]) < 0.05, 'EAP misses the previous-token -> key edge');
    assert.ok(Math.abs(eap.notes!.faithfulness as number) < 0.05, `EAP's 4-edge circuit recovers none of it (${eap.notes!.faithfulness})`);
  },

  'patching.circuit.json': ([resid, heads, attn, mlp]) => {
    assertToken(resid, 1, 8, ' God');
    for (const l of [0, 1]) assert.ok(cell(resid, l, 8) > 0.98, `resid_pre ${l} at " God"`);
    below(others(resid, [[0, 8], [1, 8]]), 0.01, 'every other resid_pre cell');
    assert.ok(head(heads, '1.1') > 0.9, 'head 1.1 carries the answer');
    below(['0.0', '0.1', '1.0'].map((h) => head(heads, h)), 0.1, 'the other heads');
    assert.ok(cell(attn, 1, 17) > 0.99, 'layer 1\'s attention output at the last position');
    below(others(attn, [[1, 17]]), 0.01, 'every other attention output');
    assert.ok(cell(mlp, 0, 8) > 0.95 && Math.abs(cell(mlp, 1, 17) - 0.74) < 0.02, 'layer 0\'s MLP at " God", layer 1\'s at the last position');
    below(others(mlp, [[0, 8], [1, 17]]), 0.01, 'every other MLP output');
  },

  'planted-induction.circuit.json': async ([detectors, heads, attribution]) => {
    const [previous, duplicate, induction] = plots(detectors);
    assert.ok(head(previous, '0.0') > 0.99 && head(induction, '1.1') > 0.99, 'heads 0.0 and 1.1 score 1.00');
    below([...others(previous, [[0, 0]]), ...duplicate.values, ...others(induction, [[1, 1]])], 0.06, 'every other score');
    for (const h of ['0.0', '1.1']) assert.ok(Math.abs(head(heads, h)) < 0.01, `noising ${h} removes the whole difference`);
    for (const h of ['0.1', '1.0']) assert.ok(Math.abs(head(heads, h) - 1) < 0.01, `noising ${h} removes none of it`);
    const base = await logitDiff('planted-induction', 'The people said that the game was good. The people said that the game', ' was', ' good');
    assert.ok(Math.abs(base - 39.4) < 0.1, `logit difference 39.4, got ${base}`);
    const labels = attribution.axes[0].labels;
    assert.ok(Math.abs(attribution.values[labels.indexOf('L1 attn')] - base) < 1e-3, 'layer 1\'s attention writes it all');
    below(attribution.values.filter((_, i) => labels[i] !== 'L1 attn'), 1e-3, 'every other component');
    const [, perHead] = plots(attribution);
    assert.ok(Math.abs(head(perHead, '1.1') - base) < 1e-3, 'head 1.1 writes it all');
    below(['0.0', '0.1', '1.0'].map((h) => head(perHead, h)), 1e-3, 'every other head');
  },

  'steering.circuit.json': ([steering]) => {
    const rose = steering.axes[0].labels.slice(0, 10);
    assert.ok(rose.every((t) => !/[A-Za-z]/.test(t)), `the ten logits that rise most are code symbols, none a word: ${JSON.stringify(rose)}`);
    assert.ok(steering.values.slice(0, 10).every((v) => v > 7), 'each by more than 7');
    const [without, withSteering] = steering.texts!.map((t) => t.text.slice('And the LORD said unto'.length));
    assert.match(without, /[A-Za-z]/, 'without steering: words');
    assert.match(withSteering, /^ +$/, 'with steering: spaces only');
  },
};

const examples = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.circuit.json')).sort();

test('every example has its claims checked here', () => {
  assert.deepEqual(examples, Object.keys(CLAIMS).sort());
});

for (const example of examples) {
  test(`examples/${example} shows what its comments say`, async () => {
    const analyses = run(example);
    const kinds = [...fs.readFileSync(path.join(EXAMPLES, example), 'utf8').matchAll(/"kind": "(\w+)"/g)].map((m) => m[1]);
    assert.deepEqual(analyses.map((a) => a.kind), kinds, 'every analysis ran');
    await CLAIMS[example]?.(analyses);
  });
}
