/**
 * Dictionaries checked when they load through the runner (in this thread, as the worker calls it): the
 * self-check runs once per loaded (model, dictionary) on the spec's prompts and the bundled sample, its
 * mis-load warnings reach spec/check on the spec's "saes" entry, loss figures come with splice mode only;
 * SAELens' model_from_pretrained_kwargs process the model as SAELens loads it (the output says so),
 * conflicts are refused or noted, and a dictionary that names no processing is also measured on the
 * TransformerLens-processed model, which is recommended when it reconstructs clearly better.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { readSafetensorsHeader } from '../../src/engine/safetensors';
import { NO_PROCESSING, TRANSFORMERLENS_PROCESSING } from '../../src/protocol/processing';
import type { Handlers } from '../../src/protocol/rpc';
import type { RunnerConfig, RunnerMethods, SaeRef } from '../../src/protocol/runner';
import type { TensorData } from '../../src/protocol/tensor';
import { Runner } from '../../src/worker/runner';
import { SCAN_WORKER } from '../helpers/engine';
import { ROOT, makeRandomCheckpoint, maxAbsDiff, tmpDir } from '../helpers/reference';
import { f32Tensor, identitySaeFolder, saeLensFolder } from '../helpers/sae-fixtures';

const config: RunnerConfig = { bundledModelsDir: path.join(ROOT, 'media', 'models'), trusted: true, backend: 'cpu', threads: 1, keptBytes: 256 * 2 ** 20 };

function runnerIn() {
  const runner = new Runner({ scanWorkerPath: SCAN_WORKER });
  const h = runner.handlers();
  const events: string[] = [];
  const ctx = { id: 1, signal: new AbortController().signal, event: (e: { message: string }) => events.push(e.message) };
  const call = async <K extends keyof RunnerMethods>(method: K, params: RunnerMethods[K]['params']): Promise<RunnerMethods[K]['result']> =>
    (h[method] as Handlers<RunnerMethods>[K])(params, ctx as never);
  void call('configure', config);
  return { call, runner, events };
}

const dir = tmpDir('sae-load-check');
/** A dictionary that reconstructs the demo model's residual stream badly: random weights (d_in 128, d_sae 64). */
saeLensFolder(path.join(dir, 'random'), {
  cfg: { d_in: 128, d_sae: 64, metadata: { hook_name: 'blocks.1.hook_resid_pre' } },
  tensors: { W_enc: f32Tensor([128, 64]), b_enc: f32Tensor([64], () => 0.5), W_dec: f32Tensor([64, 128], (i) => Math.cos(7 * i)), b_dec: f32Tensor([128], () => 0) },
});
identitySaeFolder(path.join(dir, 'identity'), 128, 'blocks.0.hook_resid_post');
const specPath = path.join(dir, 'a.circuit.json');
const specText = (saes: unknown) => JSON.stringify({
  model: 'demo', saes, prompts: ['When Mary and John went to the store, John gave a drink to'], analyses: [{ kind: 'attention' }, { kind: 'logitLens' }],
}, null, 1);

test('the check runs once per loaded dictionary; its warnings land on the spec entry', async () => {
  const { call, runner, events } = runnerIn();
  try {
    const text = specText(['./random', { path: './identity', mode: 'splice' }]);
    const spec = { text, path: specPath };
    const first = await call('analysis/run', { spec, analysis: 0 });
    const [bad, good] = first.saeChecks!;
    assert.equal(bad.hook, 'blocks.1.hook_resid_pre');
    assert.ok(bad.prompts > 1, 'the spec prompt and the bundled sample');
    assert.ok(bad.stats.n > 100, `${bad.stats.n} sample tokens`);
    assert.ok(bad.stats.n <= 512, 'the sample is bounded');
    assert.ok(bad.warnings.some((w) => w.metric === 'fvu' && w.likelyCause === 'hook'), JSON.stringify(bad.warnings));
    assert.equal(bad.loss, undefined, 'observe mode: no loss runs');
    assert.ok(good.stats.fvu < 1e-6 && good.warnings.length === 0);
    assert.ok(Math.abs(good.loss!.ceLossScore - 1) < 1e-3 && Math.abs(good.loss!.lossIncrease) < 1e-4, 'splice mode: the loss figures');
    assert.equal(events.filter((e) => e.startsWith('checking 2 dictionaries')).length, 1);
    // The next analysis of the same model reuses the checks.
    const second = await call('analysis/run', { spec, analysis: 1 });
    assert.deepEqual(second.saeChecks, first.saeChecks);
    assert.equal(events.filter((e) => e.startsWith('checking')).length, 1, 'not checked again');
    const problems = await call('spec/check', { spec });
    const warnings = problems.filter((p) => p.severity === 'warning');
    assert.ok(warnings.length >= 1, JSON.stringify(problems));
    assert.ok(warnings.some((w) => /likely cause: hook\)$/.test(w.message)));
    for (const w of warnings) {
      assert.match(w.message, /^saes\[0\]: self-check on load \(FVU [\d.e+-]+, cosine [\d.e+-]+, L0 [\d.e+-]+, dead [\d.]+% on \d+ tokens\): /);
      assert.equal(text.slice(w.range.offset, w.range.offset + w.range.length), '"./random"');
    }
  } finally {
    await runner.dispose();
  }
});

/** A random GPT-2 checkpoint whose token embeddings are all shifted by `shift`: a residual stream with a large mean. */
function shiftedCheckpoint(shift: number): string {
  const d = makeRandomCheckpoint({ layers: 2, dModel: 32, heads: 2, dMlp: 64, vocab: 64, ctx: 32, dtype: 'F32', seed: 5 });
  const file = path.join(d, 'model.safetensors');
  const entry = [...readSafetensorsHeader(file).tensors.values()].find((t) => t.name.endsWith('wte.weight'))!;
  const bytes = fs.readFileSync(file);
  for (let at = entry.offset; at < entry.offset + entry.byteLength; at += 4) bytes.writeFloatLE(bytes.readFloatLE(at) + shift, at);
  fs.writeFileSync(file, bytes);
  return d;
}

/** An SAE that reconstructs the mean-free part of its input exactly: W_enc = [P, -P], W_dec = [P; -P], P = I - 11^T / d. */
function centredProjection(folder: string, d: number, hook: string, cfg: Record<string, unknown> = {}): string {
  const p = (r: number, c: number) => (r === c ? 1 : 0) - 1 / d;
  return saeLensFolder(folder, {
    cfg: { d_in: d, d_sae: 2 * d, apply_b_dec_to_input: false, ...cfg, metadata: { hook_name: hook, ...(cfg.metadata as object) } },
    tensors: {
      W_enc: f32Tensor([d, 2 * d], (i) => { const [r, c] = [Math.floor(i / (2 * d)), i % (2 * d)]; return c < d ? p(r, c) : -p(r, c - d); }),
      b_enc: f32Tensor([2 * d], () => 0),
      W_dec: f32Tensor([2 * d, d], (i) => { const [r, c] = [Math.floor(i / d), i % d]; return r < d ? p(r, c) : -p(r - d, c); }),
      b_dec: f32Tensor([d], () => 0),
    },
  });
}

const shifted = shiftedCheckpoint(3);
const tokens = [1, 5, 9, 13, 2, 7, 30, 41, 3, 22, 17, 60];

test('no model_from_pretrained_kwargs: unprocessed, and TransformerLens processing recommended when clearly better', async () => {
  const { call, runner } = runnerIn();
  try {
    const sae = centredProjection(path.join(dir, 'centred'), 32, 'blocks.0.hook_resid_pre');
    const model = { ref: shifted, saes: [{ path: sae }] };
    assert.equal((await call('model/load', { model })).processing, 'unprocessed weights');
    const r = await call('trace', { model, input: { ids: tokens }, checkSaes: true });
    const [c] = r.saeChecks!;
    assert.ok(c.stats.fvu > 0.5, `unprocessed FVU ${c.stats.fvu}: the embeddings' mean is not reconstructed`);
    assert.equal(c.processed?.processing, 'TransformerLens processing');
    assert.ok(c.processed!.fvu < 1e-6, `processed FVU ${c.processed!.fvu}: centred writing weights remove the mean`);
    assert.equal(c.processed!.recommended, true);
    assert.match(c.processed!.message!, /Set "processing": "transformerlens"/);
    // An identity SAE reconstructs either way: nothing to recommend.
    const plain = await call('trace', { model: { ref: shifted, saes: [{ path: identitySaeFolder(path.join(dir, 'id32'), 32, 'blocks.0.hook_resid_pre') }] }, input: { ids: tokens }, checkSaes: true });
    assert.equal(plain.saeChecks![0].processed?.recommended, false);
  } finally {
    await runner.dispose();
  }
});

test('model_from_pretrained_kwargs process the model as SAELens loads it, and the output says so', async () => {
  const { call, runner } = runnerIn();
  try {
    // SAELens 6.x: metadata.model_from_pretrained_kwargs over from_pretrained's defaults.
    const sae = centredProjection(path.join(dir, 'kw'), 32, 'blocks.0.hook_resid_pre', { metadata: { model_from_pretrained_kwargs: { center_writing_weights: true, center_unembed: false } } });
    const model = { ref: shifted, saes: [{ path: sae }] };
    const info = await call('model/load', { model });
    assert.equal(info.processing, 'processing: foldLn, centerWritingWeights, foldValueBiases');
    assert.ok(info.processingNotes.some((n) => /model processed as its dictionary was trained .*model_from_pretrained_kwargs/.test(n)), JSON.stringify(info.processingNotes));
    const r = await call('trace', { model, input: { ids: tokens }, hooks: 'blocks.0.hook_resid_pre.hook_sae_input', keep: true, checkSaes: true });
    assert.ok(r.saeChecks![0].stats.fvu < 1e-6, 'the centred model is reconstructed');
    assert.equal(r.saeChecks![0].processed, undefined, 'no comparison: the dictionary says what it was trained on');
    const viaSae = (await call('run/slice', { runId: r.runId!, slice: { kind: 'hook', hook: 'blocks.0.hook_resid_pre.hook_sae_input' } })) as TensorData;
    // The same numbers as asking for that processing by hand.
    const byHand = await call('trace', { model: { ref: shifted, processing: { ...TRANSFORMERLENS_PROCESSING, centerUnembed: false } }, input: { ids: tokens }, hooks: 'blocks.0.hook_resid_pre', keep: true });
    const want = (await call('run/slice', { runId: byHand.runId!, slice: { kind: 'hook', hook: 'blocks.0.hook_resid_pre' } })) as TensorData;
    assert.ok(maxAbsDiff(viaSae.data, want.data) < 1e-5);

    // Pre-6 SAELens: the key at the top level of cfg.json.
    const old = centredProjection(path.join(dir, 'kw-old'), 32, 'blocks.0.hook_resid_pre', { model_from_pretrained_kwargs: { fold_ln: false } });
    assert.equal((await call('model/load', { model: { ref: shifted, saes: [{ path: old }] } })).processing, 'processing: centerWritingWeights, centerUnembed, foldValueBiases');

    // The user's explicit processing wins, with a note that the dictionary's figures will be off.
    const explicit = await call('model/load', { model: { ...model, processing: NO_PROCESSING } });
    assert.equal(explicit.processing, 'unprocessed weights');
    assert.ok(explicit.processingNotes.some((n) => /was trained on the model with processing: foldLn, centerWritingWeights, foldValueBiases .* but unprocessed weights was asked for/.test(n)), JSON.stringify(explicit.processingNotes));

    // Two dictionaries asking for different processing: refused, naming both and the fix.
    const other = centredProjection(path.join(dir, 'kw-other'), 32, 'blocks.1.hook_resid_pre', { metadata: { model_from_pretrained_kwargs: {} } });
    const both: SaeRef[] = [{ path: sae }, { path: other }];
    await assert.rejects(call('model/load', { model: { ref: shifted, saes: both } }),
      /kw-other: model_from_pretrained_kwargs: asks for the model with TransformerLens processing, but .*kw asks for processing: foldLn, centerWritingWeights, foldValueBiases; one model cannot serve both\. .*"processing" in the spec/);
    // A kwarg that is not a boolean names the field.
    const badKw = centredProjection(path.join(dir, 'kw-bad'), 32, 'blocks.0.hook_resid_pre', { metadata: { model_from_pretrained_kwargs: { fold_ln: 'yes' } } });
    await assert.rejects(call('model/load', { model: { ref: shifted, saes: [{ path: badKw }] } }), /kw-bad: model_from_pretrained_kwargs\.fold_ln: is "yes", not true or false/);
  } finally {
    await runner.dispose();
  }
});
