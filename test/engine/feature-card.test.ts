/**
 * Features through the worker: the token x feature table of features/top against the PyTorch reference's
 * SAE activations, each feature's top and bottom logits against PyTorch (centred W_dec[f] x ln_f weight @ W_U,
 * within 1e-4, on the demo model and on an untied random GPT-2), the card with its index entry and label, and label files
 * (Neuronpedia exports, gzipped or not, and feature-labels.json) with their errors.
 */
import { before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { buildFeatureIndex } from '../../src/cli/features-index';
import { writeFileAtomic } from '../../src/cli/atomic';
import { readFeatureEntry } from '../../src/engine/features/index-files';
import { readLabels } from '../../src/engine/features/labels';
import { decodeNpy } from '../../src/protocol/npy';
import type { FeatureLogits } from '../../src/protocol/features';
import type { ModelRef } from '../../src/protocol/runner';
import { NO_PROCESSING } from '../../src/protocol/processing';
import { PYTHON, ROOT, makeRandomCheckpoint } from '../helpers/reference';
import { readNpyDir, runReferenceJobs, tmpDir } from '../helpers/sae-reference';
import { withRunner } from '../helpers/runner';

const DEMO = path.join(ROOT, 'media', 'models', 'demo');
const HOOK = 'blocks.1.hook_resid_pre';
const D_SAE = 64;
const root = tmpDir('feature-card');
const demoSae = path.join(root, 'demo-sae');
const untied = makeRandomCheckpoint({ layers: 2, dModel: 48, heads: 4, dMlp: 96, vocab: 300, ctx: 32, dtype: 'F32', seed: 51, untied: true });
const untiedSae = path.join(root, 'untied-sae');
const PROMPT = 'When Mary and John went to the store, John gave a drink to';

function referenceLogits(modelDir: string, sae: string, features: number[]): Float32Array[] {
  const out = path.join(root, `logits-${path.basename(sae)}-${features.join('_')}.npy`);
  execFileSync(PYTHON, [path.join(ROOT, 'test', 'reference', 'feature_logits_reference.py'), '--model', modelDir, '--sae', sae, '--features', features.join(','), '--out', out],
    { env: { ...process.env, OMP_NUM_THREADS: '1' }, stdio: 'pipe', cwd: path.join(ROOT, 'test', 'reference') });
  const t = decodeNpy(fs.readFileSync(out));
  const v = t.dims[1];
  return features.map((_, i) => t.data.slice(i * v, (i + 1) * v));
}

/** Our top/bottom lists against a full reference row: same ids in the same order (values within 1e-4). */
function checkLogits(got: FeatureLogits, ref: Float32Array, k: number): void {
  const order = [...ref.keys()].sort((a, b) => ref[b] - ref[a]);
  const near = (a: number, b: number) => Math.abs(a - b) <= 1e-4;
  got.top.forEach((t, i) => assert.ok(near(t.value, ref[order[i]]) && near(ref[t.id], t.value), `top ${i}: ${t.id} ${t.value} vs ${order[i]} ${ref[order[i]]}`));
  got.bottom.forEach((t, i) => assert.ok(near(t.value, ref[order[order.length - 1 - i]]) && near(ref[t.id], t.value), `bottom ${i}`));
  assert.equal(got.top.length, k);
  assert.equal(got.bottom.length, k);
}

before(() => {
  runReferenceJobs([
    ['make-random', '--format', 'saelens', '--architecture', 'standard', '--d-in', '128', '--d-sae', String(D_SAE), '--hook', HOOK, '--out', demoSae, '--seed', '52'],
    ['make-random', '--format', 'saelens', '--architecture', 'topk', '--k', '6', '--d-in', '48', '--d-sae', '32', '--hook', 'blocks.0.hook_resid_post', '--out', untiedSae, '--seed', '53'],
  ]);
  fs.writeFileSync(path.join(demoSae, 'feature-labels.json'), JSON.stringify({ 3: 'names of people', 10: 'the word "to"' }));
});

describe('features through the worker', () => {
  test('the token x feature table, logits, the card with its index and label (demo model)', { timeout: 120_000 }, async () => {
    // Unprocessed weights, as the reference reads them (the fixture's cfg.json asks for SAELens' processing otherwise).
    const model: ModelRef = { ref: 'demo', processing: NO_PROCESSING, saes: [{ path: demoSae }] };
    await withRunner({}, async (client) => {
      const ids = (await client.request('tokenize', { model, input: { text: PROMPT } })).map((t) => t.id);
      const top = await client.request('features/top', { model, input: { text: PROMPT }, slice: { k: 5, columns: 12 } });
      const refDir = path.join(root, 'ref-demo');
      runReferenceJobs([['attach', '--family', 'gpt2', '--model', DEMO, '--tokens', ids.join(','), '--format', 'saelens', '--dir', demoSae, '--hook', HOOK, '--out', refDir]]);
      const ref = readNpyDir(refDir).get(`${HOOK}.hook_sae_acts_post`)!.data; // [1, pos, d_sae]
      assert.equal(top.hook, HOOK);
      assert.equal(top.tokens.length, ids.length);
      for (let p = 0; p < ids.length; p++) {
        const row = ref.slice(p * D_SAE, (p + 1) * D_SAE);
        const want = [...row.keys()].filter((f) => row[f] > 0).sort((a, b) => row[b] - row[a]).slice(0, 5);
        const got = [...top.topIds.slice(p * 5, (p + 1) * 5)].filter((f) => f >= 0);
        assert.deepEqual(got, want, `token ${p}`);
        got.forEach((f, j) => assert.ok(Math.abs(top.topValues[p * 5 + j] - row[f]) <= 1e-4));
        top.columns.forEach((f, j) => assert.ok(Math.abs(top.acts[p * top.columns.length + j] - row[f]) <= 1e-4));
      }
      // Columns rank features by their largest activation after the BOS.
      const peak = Array.from({ length: D_SAE }, (_, f) => Math.max(...ids.slice(1).map((_, p) => ref[(p + 1) * D_SAE + f])));
      assert.deepEqual(top.columns, [...peak.keys()].filter((f) => peak[f] > 0).sort((a, b) => peak[b] - peak[a]).slice(0, 12));
      const shown = new Set([...top.columns, ...top.topIds]);
      assert.deepEqual(Object.keys(top.labels).map(Number).sort((a, b) => a - b), [3, 10].filter((f) => shown.has(f)), 'labels of the shown features only');

      const features = [top.columns[0], top.columns[1], 3, 10, D_SAE - 1];
      const logits = await client.request('features/logits', { runId: top.runId, hook: HOOK, features, logits: 10 });
      const refRows = referenceLogits(DEMO, demoSae, features);
      logits.forEach((l, i) => {
        assert.equal(l.feature, features[i]);
        checkLogits(l, refRows[i], 10);
      });

      const indexDir = path.join(root, 'demo-index');
      const r = await buildFeatureIndex({
        out: indexDir, corpus: path.join(ROOT, 'media', 'sae-sample.txt'), bos: (await client.request('tokenize', { model, input: { text: 'a' } }))[0].id, batch: 8, checkpointEvery: 1000,
        fingerprint: { model: DEMO, saeDir: demoSae, hook: HOOK, corpus: 'sample', corpusBytes: 0, dSae: D_SAE, context: 32, top: 8, samples: 6 },
      }, {
        tokenize: (text) => client.request('corpus/tokenize', { model, text }),
        acts: async (windows) => (await client.request('features/acts', { model, hook: HOOK, windows })).data,
        write: writeFileAtomic, signal: new AbortController().signal,
      });
      assert.equal(r.complete, true);
      const f = top.columns[0];
      const card = await client.request('features/card', { runId: top.runId, hook: HOOK, feature: f, featureIndex: indexDir });
      assert.equal(card.feature, f);
      assert.equal(card.dSae, D_SAE);
      checkLogits(card.logits, refRows[0], 10);
      assert.deepEqual([...card.prompt.acts].map((a, p) => Math.abs(a - ref[p * D_SAE + f]) <= 1e-4), ids.map(() => true));
      const entry = readFeatureEntry(indexDir, f, () => '');
      assert.ok(card.index && card.index.top.length > 0);
      assert.deepEqual(card.index.top.map((e) => [e.window, e.pos, e.act]), entry.top.map((e) => [e.window, e.pos, e.act]));
      assert.equal(card.index.density, entry.density);
      assert.ok(card.index.top[0].tokens.join('').length > 10, 'example tokens are decoded text');
      const labelled = await client.request('features/card', { runId: top.runId, hook: HOOK, feature: 3 });
      assert.deepEqual(labelled.label, { text: 'names of people', source: path.join(demoSae, 'feature-labels.json') });
      assert.equal(labelled.index, undefined);
      await assert.rejects(client.request('features/card', { runId: top.runId, hook: HOOK, feature: D_SAE }), /feature 64 is outside \[0, 64\)/);
      await assert.rejects(client.request('features/card', { runId: top.runId, hook: 'blocks.0.hook_resid_pre', feature: 1 }), /no longer loaded|no dictionary/);
    });
  });

  test('logits of a TopK dictionary on an untied random GPT-2 (lm_head) match the reference', { timeout: 60_000 }, async () => {
    const model: ModelRef = { ref: untied, processing: NO_PROCESSING, saes: [{ path: untiedSae }] };
    await withRunner({}, async (client) => {
      const top = await client.request('features/top', { model, input: { ids: [299, 5, 17, 250, 3, 99, 120] } });
      const features = [0, 7, 31];
      const logits = await client.request('features/logits', { runId: top.runId, hook: 'blocks.0.hook_resid_post', features, logits: 10 });
      const refRows = referenceLogits(untied, untiedSae, features);
      logits.forEach((l, i) => checkLogits(l, refRows[i], 10));
    });
  });
});

describe('feature labels', () => {
  const dir = tmpDir('labels');
  const lines = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  test('a Neuronpedia export (plain or gzipped) and feature-labels.json; later files override earlier ones', () => {
    const np = path.join(dir, 'explanations.jsonl');
    fs.writeFileSync(np, lines([
      { modelId: 'gpt2-small', layer: '6-res-jb', index: '12', description: 'the letter q', explanationModelName: 'x' },
      { modelId: 'gpt2-small', layer: '6-res-jb', index: 12, description: 'a second explanation' },
      { modelId: 'gpt2-small', layer: '6-res-jb', index: '40', description: 'legal terms' },
    ]));
    fs.writeFileSync(np + '.gz', zlib.gzipSync(fs.readFileSync(np)));
    const json = path.join(dir, 'feature-labels.json');
    fs.writeFileSync(json, JSON.stringify({ 40: 'contracts', 7: 'numbers' }));
    const a = readLabels([np]);
    assert.deepEqual([...a.entries()], [[12, { text: 'the letter q', source: np }], [40, { text: 'legal terms', source: np }]]);
    assert.deepEqual([...readLabels([np + '.gz']).values()].map((l) => l.text), ['the letter q', 'legal terms']);
    const b = readLabels([np, json]);
    assert.equal(b.get(40)?.text, 'contracts');
    assert.equal(b.get(7)?.source, json);
  });

  test('an export of several sources needs one named; bad files name the file and field', () => {
    const mixed = path.join(dir, 'mixed.jsonl');
    fs.writeFileSync(mixed, lines([{ layer: '6-res-jb', index: '1', description: 'a' }, { layer: '7-res-jb', index: '1', description: 'b' }]));
    assert.throws(() => readLabels([mixed]), (e: Error) => e.message.includes(mixed) && /2 sources/.test(e.message) && e.message.includes(`${mixed}#6-res-jb`));
    assert.equal(readLabels([`${mixed}#7-res-jb`]).get(1)?.text, 'b');
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ seven: 'x' }));
    assert.throws(() => readLabels([bad]), (e: Error) => e.message.includes(bad) && e.message.includes('seven') && /not a feature id/.test(e.message));
    const badLine = path.join(dir, 'bad.jsonl');
    fs.writeFileSync(badLine, '{"index": "3", "description": "ok"}\n{"index": "x", "description": "no"}\n');
    assert.throws(() => readLabels([badLine]), /line 2 index/);
    assert.throws(() => readLabels([path.join(dir, 'missing.json')]), /no such label file/);
  });
});
