/**
 * The bundled demo SAE (media/models/demo/saes/blocks.1.hook_resid_pre, trained by
 * tools/models/train_demo_sae.py): its files read as the SAELens 6.x TopK SAE they are; in the graph on the
 * demo model its acts, reconstruction, error and spliced logits match the PyTorch reference within 1e-4;
 * the engine's self-check on the bundled sample raises no mis-load warning and reproduces the figures that
 * SAE_CARD.md lists (measured there by describe_demo_sae.py in PyTorch); `--sae demo` names it.
 */
import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Token } from '../../src/engine/tokenizer';
import { openCheckpoint, tokensFromIds } from '../../src/engine/model';
import { openDictionary } from '../../src/engine/sae';
import { resolveDictionaryPath } from '../../src/engine/sae/resolve';
import { checkDictionaries } from '../../src/engine/sae/self-check';
import { samplePrompts } from '../../src/cli/sae-command';
import { LoadedModel } from '../../src/worker/loaded-model';
import { SCAN_WORKER } from '../helpers/engine';
import { CLI, ROOT, maxAbsDiff } from '../helpers/reference';
import { readNpyDir, runReferenceJobs, tmpDir } from '../helpers/sae-reference';

const DEMO = path.join(ROOT, 'media', 'models', 'demo');
const HOOK = 'blocks.1.hook_resid_pre';
const SAE = path.join(DEMO, 'saes', HOOK);
const CARD = path.join(SAE, 'SAE_CARD.md');
const SAMPLE = path.join(ROOT, 'media', 'sae-sample.txt');
const root = tmpDir('demo-sae');
const ckpt = openCheckpoint(DEMO);

/** The sample's paragraphs as `circuit-lens sae check` tokenises them: BOS + text, cut to 128 tokens. */
function sampleTokens(): Token[][] {
  return samplePrompts(SAMPLE).map((p) => ckpt.tokenizer!.encode('text' in p ? p.text : '', { prependBos: true }).slice(0, 128));
}

/** Two sample rows cut to one length (a batch), for the reference comparison. */
const rows = sampleTokens().slice(0, 2).map((t) => t.slice(0, 64).map((x) => x.id));
const refDir = (splice: boolean) => path.join(root, splice ? 'ref-splice' : 'ref-observe');

before(() => {
  runReferenceJobs([false, true].map((splice) => ['attach', '--family', 'gpt2', '--model', DEMO, '--tokens', rows.map((r) => r.join(',')).join(';'),
    '--format', 'saelens', '--dir', SAE, '--hook', HOOK, ...(splice ? ['--splice'] : []), '--out', refDir(splice)]));
});

/** The card's row of figures for a text: tokens, FVU, cosine, L0, dead %, losses clean/spliced/zero, CE loss recovered. */
function cardFigures(text: string): number[] {
  const line = fs.readFileSync(CARD, 'utf8').split('\n').find((l) => l.startsWith(`| ${text}`));
  assert.ok(line, `SAE_CARD.md has no row for ${text}`);
  return line.split('|').slice(2, -1).map((c) => Number.parseFloat(c.trim()));
}

test('the bundled files: SAELens 6.x TopK at blocks.1.hook_resid_pre, unprocessed model, under 2 MB', () => {
  const cfg = JSON.parse(fs.readFileSync(path.join(SAE, 'cfg.json'), 'utf8'));
  assert.equal(cfg.architecture, 'topk');
  assert.equal(cfg.normalize_activations, 'none');
  assert.equal(cfg.metadata.hook_name, HOOK);
  assert.deepEqual(cfg.metadata.model_from_pretrained_kwargs, { fold_ln: false, center_writing_weights: false, center_unembed: false, fold_value_biases: false });
  const bytes = fs.readdirSync(SAE).reduce((a, f) => a + fs.statSync(path.join(SAE, f)).size, 0);
  assert.ok(bytes < 2 * 2 ** 20, `${bytes} bytes`);
  const d = openDictionary(SAE, { modelHooks: ckpt.hooks });
  assert.equal(d.format, 'saelens');
  assert.equal(d.activation.kind, 'topk');
  assert.deepEqual(d.activation.kind === 'topk' && [d.activation.k, d.activation.semantics], [cfg.k, 'saelens']);
  assert.equal(d.hookIn, HOOK);
  assert.equal(d.hookSource, 'config');
  assert.deepEqual([d.dIn, d.dSae], [128, cfg.d_sae]);
});

for (const splice of [false, true]) {
  test(`in the graph on the demo model (${splice ? 'splice' : 'observe'}): SAE hooks and logits within 1e-4 of the reference`, async () => {
    const dict = openDictionary(SAE, { modelHooks: ckpt.hooks });
    const m = await LoadedModel.open(ckpt, { session: { threads: 1 }, scanWorkerPath: SCAN_WORKER, saes: [{ dict, mode: splice ? 'splice' : 'observe' }] });
    try {
      const ref = readNpyDir(refDir(splice));
      const trace = await m.trace(rows.map((r) => tokensFromIds(ckpt, r)), { hooks: m.hooks.filter((h) => ref.has(h.name)) });
      const compared: string[] = [];
      const bad: [string, number][] = [];
      for (const [name, want] of ref) {
        const mine = name === 'logits' ? trace.logits : trace.cache.has(name) ? trace.cache.get(name) : undefined;
        const d = mine && mine.dims.join() === want.dims.join() ? maxAbsDiff(mine.data, want.data) : Infinity;
        if (!(d <= 1e-4)) bad.push([name, d]);
        compared.push(name);
      }
      assert.deepEqual(bad, []);
      for (const h of ['acts_post', 'recons', 'error', 'output']) assert.ok(compared.includes(`${HOOK}.hook_sae_${h}`), h);
    } finally {
      await m.dispose();
    }
  });
}

test('the self-check on the bundled sample: no mis-load warning, the figures SAE_CARD.md lists', async () => {
  const dict = openDictionary(SAE, { modelHooks: ckpt.hooks });
  const m = await LoadedModel.open(ckpt, { session: { threads: 1 }, scanWorkerPath: SCAN_WORKER, saes: [{ dict, mode: 'observe' }] });
  try {
    const [c] = await checkDictionaries(m, m.hooks, m.saes, sampleTokens());
    assert.deepEqual(c.warnings, []);
    const [tokens, fvu, cosine, l0, deadPct, clean, spliced, zero, ce] = cardFigures('media/sae-sample.txt');
    // The card prints 4 decimals (L0 2, dead % 1) from a float64 evaluation of the same float32 weights.
    assert.equal(c.stats.n, tokens);
    const near = (what: string, mine: number, card: number, tol: number) => assert.ok(Math.abs(mine - card) <= tol, `${what}: engine ${mine}, card ${card}, tolerance ${tol}`);
    near('FVU', c.stats.fvu, fvu, 2e-4);
    near('cosine', c.stats.cosine, cosine, 2e-4);
    near('L0', c.stats.l0, l0, 0.01);
    near('dead %', 100 * c.stats.deadFraction, deadPct, 0.1);
    assert.ok(c.loss, 'the check measures the losses by default');
    near('loss clean', c.loss.clean, clean, 2e-4);
    near('loss spliced', c.loss.spliced, spliced, 2e-4);
    near('loss zero-ablated', c.loss.zeroAblation, zero, 2e-4);
    near('CE loss recovered', c.loss.ceLossScore, ce, 5e-4);
  } finally {
    await m.dispose();
  }
});

test('--sae demo and --sae <folder name> name the dictionary shipped with the model; other names list them', () => {
  assert.equal(resolveDictionaryPath('demo', { modelDir: DEMO, baseDir: root }), SAE);
  assert.equal(resolveDictionaryPath(HOOK, { modelDir: DEMO, baseDir: root }), SAE);
  assert.throws(() => resolveDictionaryPath('demo', { baseDir: root }), /no such dictionary folder/);
  assert.throws(() => resolveDictionaryPath('nope', { modelDir: DEMO, baseDir: root }), new RegExp(`Shipped with this model: demo, ${HOOK.replace(/\./g, '\\.')}`));
  const json = path.join(root, 'check.json');
  const r = spawnSync(process.execPath, [CLI, 'sae', 'check', '--model', 'demo', '--sae', 'demo', '--json', json, '--threads', '1'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /warning/);
  assert.match(r.stdout, new RegExp(`${HOOK.replace(/\./g, '\\.')}: 6 prompts`));
  const report = JSON.parse(fs.readFileSync(json, 'utf8'));
  assert.equal(fs.realpathSync(report.checks[0].dir), fs.realpathSync(SAE));
  assert.ok(Math.abs(report.checks[0].stats.fvu - cardFigures('media/sae-sample.txt')[1]) <= 2e-4);
});
