/**
 * The feature index against a brute-force computation over the same corpus from the PyTorch reference's
 * SAE activations (sae_reference.py attach: the GPT-2 reference model with the dictionary at its hook):
 * each feature's top windows, their activations, density, maximum and sample. The activations the index
 * is built from come through the worker's features/acts (the trace's code path). Resuming after a stop
 * gives byte-identical files to an uninterrupted build; a checkpoint made with other options is refused.
 */
import { before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { buildFeatureIndex, IndexIo, IndexOptions } from '../../src/cli/features-index';
import { writeFileAtomic } from '../../src/cli/atomic';
import { HISTOGRAM, sampleKey } from '../../src/engine/features/index-builder';
import { readFeatureEntry, readIndexMeta } from '../../src/engine/features/index-files';
import type { ModelRef } from '../../src/protocol/runner';
import { NO_PROCESSING } from '../../src/protocol/processing';
import type { RunnerClient } from '../../src/client/runner-client';
import { rng } from '../helpers/fuzz';
import { CLI, ROOT, makeRandomCheckpoint } from '../helpers/reference';
import { readNpyDir, runReferenceJobs, tmpDir } from '../helpers/sae-reference';
import { runnerClient } from '../helpers/runner';

const shape = { layers: 2, dModel: 48, heads: 4, dMlp: 96, vocab: 256, ctx: 32, dtype: 'F32' as const };
const CONTEXT = 16;
const D_SAE = 40;
const HOOK = 'blocks.1.hook_resid_pre';
const BOS = shape.vocab - 1; // make-random's bos_token_id
const root = tmpDir('feature-index');
const modelDir = makeRandomCheckpoint({ ...shape, seed: 41 });
const saeDir = path.join(root, 'sae');
const refDir = path.join(root, 'ref');
const corpus = path.join(root, 'corpus.txt');

/** Paragraphs of token ids (the random checkpoint has no tokenizer: the test's tokenize reads the ids). */
const docs: number[][] = (() => {
  const r = rng(42);
  return Array.from({ length: 14 }, (_, i) => Array.from({ length: 20 + ((i * 7) % 31) }, () => Math.floor(r.next() * (shape.vocab - 1))));
})();
/** The windows, cut independently of the engine: BOS then the next CONTEXT - 1 tokens of the joined stream. */
const windows: number[][] = (() => {
  const stream = docs.flat();
  const out: number[][] = [];
  for (let at = 0; at + CONTEXT - 1 <= stream.length; at += CONTEXT - 1) out.push([BOS, ...stream.slice(at, at + CONTEXT - 1)]);
  return out;
})();

let refActs: Float32Array; // [windows, CONTEXT, D_SAE]
const model: ModelRef = { ref: modelDir, processing: NO_PROCESSING, saes: [{ path: saeDir, hook: HOOK }] }; // the reference's unprocessed weights
const fingerprint = (top = 5) => ({ model: modelDir, saeDir, hook: HOOK, corpus, corpusBytes: fs.statSync(corpus).size, dSae: D_SAE, context: CONTEXT, top, samples: 4 });
const options = (out: string, top = 5): IndexOptions => ({ out, corpus, fingerprint: fingerprint(top), bos: BOS, batch: 4, checkpointEvery: 3 });

function io(client: RunnerClient, signal: AbortSignal, afterActs?: (calls: number) => void): IndexIo {
  let calls = 0;
  return {
    tokenize: async (text) => text.split(/\s+/).filter(Boolean).map(Number),
    acts: async (w) => {
      const t = await client.request('features/acts', { model, hook: HOOK, windows: w });
      assert.deepEqual(t.dims, [w.length, CONTEXT, D_SAE]);
      afterActs?.(++calls);
      return t.data;
    },
    write: writeFileAtomic,
    signal,
  };
}

before(() => {
  fs.writeFileSync(corpus, docs.map((d) => d.join(' ')).join('\n\n') + '\n');
  runReferenceJobs([
    ['make-random', '--format', 'saelens', '--architecture', 'standard', '--d-in', String(shape.dModel), '--d-sae', String(D_SAE), '--hook', HOOK, '--out', saeDir, '--seed', '43'],
    ['attach', '--family', 'gpt2', '--model', modelDir, '--tokens', windows.map((w) => w.join(',')).join(';'), '--format', 'saelens', '--dir', saeDir, '--hook', HOOK, '--out', refDir],
  ]);
  refActs = readNpyDir(refDir).get(`${HOOK}.hook_sae_acts_post`)!.data;
});

/** Brute force from the reference: per feature, each window's largest activation (first position of it) after BOS. */
function bruteForce(f: number) {
  const perWindow = windows.map((_, w) => {
    let best = 0;
    let pos = -1;
    for (let p = 1; p < CONTEXT; p++) {
      const a = refActs[(w * CONTEXT + p) * D_SAE + f];
      if (a > best) [best, pos] = [a, p];
    }
    return { window: w, pos, act: best };
  }).filter((x) => x.pos >= 0);
  let fired = 0;
  for (let w = 0; w < windows.length; w++) for (let p = 1; p < CONTEXT; p++) if (refActs[(w * CONTEXT + p) * D_SAE + f] > 0) fired++;
  const top = [...perWindow].sort((a, b) => b.act - a.act || a.window - b.window).slice(0, 5);
  const sample = [...perWindow].sort((a, b) => sampleKey(a.window, f) - sampleKey(b.window, f)).slice(0, 4).sort((a, b) => b.act - a.act || a.window - b.window);
  return { top, sample, fired, max: Math.max(0, ...perWindow.map((x) => x.act)) };
}

const same = (a: string, b: string) => fs.readdirSync(a).sort().every((f) => Buffer.compare(fs.readFileSync(path.join(a, f)), fs.readFileSync(path.join(b, f))) === 0);

describe('feature index', () => {
  test('top examples, density, maximum and sample match a brute force over the reference activations', async () => {
    const out = path.join(root, 'full');
    const client = runnerClient();
    try {
      const r = await buildFeatureIndex(options(out), io(client, new AbortController().signal));
      assert.equal(r.complete, true);
    } finally {
      await client.dispose();
    }
    const meta = readIndexMeta(out);
    assert.equal(meta.windows, windows.length);
    assert.equal(meta.tokens, windows.length * (CONTEXT - 1));
    let active = 0;
    for (let f = 0; f < D_SAE; f++) {
      const want = bruteForce(f);
      const got = readFeatureEntry(out, f, String);
      if (want.top.length) active++;
      assert.deepEqual(got.top.map((e) => [e.window, e.pos]), want.top.map((e) => [e.window, e.pos]), `feature ${f} top windows`);
      got.top.forEach((e, i) => {
        assert.ok(Math.abs(e.act - want.top[i].act) <= 1e-4, `feature ${f} top ${i}: ${e.act} vs ${want.top[i].act}`);
        assert.deepEqual(e.tokens, windows[e.window].map(String));
        for (let p = 0; p < CONTEXT; p++) assert.ok(Math.abs(e.acts[p] - refActs[(e.window * CONTEXT + p) * D_SAE + f]) <= 1e-4);
      });
      assert.deepEqual(got.samples.map((e) => e.window), want.sample.map((e) => e.window), `feature ${f} sample`);
      assert.ok(Math.abs(got.density * meta.tokens - want.fired) <= 1e-3, `feature ${f} density ${got.density} vs ${want.fired / meta.tokens}`);
      assert.ok(Math.abs(got.maxAct - want.max) <= 1e-4);
      assert.equal(got.histogram.counts.length, HISTOGRAM.bins);
      assert.equal(got.histogram.counts.reduce((a, b) => a + b, 0), want.fired);
    }
    assert.ok(active > D_SAE / 2, `${active} of ${D_SAE} features fire: the fixture exercises the index`);
  });

  test('stopped halfway and run again, the index equals an uninterrupted one', async () => {
    const full = path.join(root, 'full');
    const out = path.join(root, 'resumed');
    const client = runnerClient();
    try {
      const stop = new AbortController();
      const first = await buildFeatureIndex(options(out), io(client, stop.signal, (calls) => calls === 3 && stop.abort()));
      assert.equal(first.complete, false);
      assert.ok(first.complete === false && first.windows === 12 && first.windows < windows.length);
      assert.ok(fs.existsSync(path.join(out, 'checkpoint.json')) && !fs.existsSync(path.join(out, 'index.json')));
      assert.throws(() => readIndexMeta(out), /not finished/);
      await assert.rejects(buildFeatureIndex(options(out, 6), io(client, new AbortController().signal)), /checkpoint was made with top 5, this run has 6/);
      const second = await buildFeatureIndex(options(out), io(client, new AbortController().signal));
      assert.equal(second.complete, true);
      assert.equal(second.resumedFrom, 12);
    } finally {
      await client.dispose();
    }
    assert.ok(!fs.existsSync(path.join(out, 'checkpoint.json')));
    assert.deepEqual(fs.readdirSync(out).sort(), fs.readdirSync(full).sort());
    assert.ok(same(full, out), 'every file byte for byte');
  });

  test('circuit-lens features index on the demo model: its files, and clear errors for a missing or unreadable corpus', { timeout: 120_000 }, () => {
    const sae = path.join(root, 'demo-sae');
    runReferenceJobs([['make-random', '--format', 'saelens', '--d-in', '128', '--d-sae', '48', '--hook', 'blocks.0.hook_resid_post', '--out', sae, '--seed', '44']]);
    const out = path.join(root, 'cli-index');
    const args = ['features', 'index', '--model', 'demo', '--sae', sae, '--corpus', path.join(ROOT, 'media', 'sae-sample.txt'), '--out', out, '--context', '24', '--top', '4', '--max-windows', '5', '--threads', '1'];
    const stdout = execFileSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
    assert.match(stdout, /indexed 5 windows of 24 tokens \(115 tokens without BOS\), 48 features at blocks\.0\.hook_resid_post/);
    const meta = readIndexMeta(out);
    assert.deepEqual([meta.windows, meta.context, meta.top, meta.sae.dSae], [5, 24, 4, 48]);
    assert.ok(readFeatureEntry(out, 0, String).top.every((e) => e.tokens.length === 24));
    const missing = spawnSync(process.execPath, [CLI, 'features', 'index', '--model', 'demo', '--sae', sae, '--out', out], { encoding: 'utf8' });
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /--corpus: name a corpus/);
    const bad = path.join(root, 'corpus.csv');
    fs.writeFileSync(bad, 'a,b\n');
    const wrong = spawnSync(process.execPath, [CLI, ...args.slice(0, 7), bad, '--out', path.join(root, 'x')], { encoding: 'utf8' });
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /corpus\.csv.*neither \.txt nor \.jsonl/);
  });
});
