/**
 * The dictionary self-check (src/engine/sae/self-check.ts) and `circuit-lens sae check`: a perfect
 * reconstruction scores FVU 0, cosine 1 and all of the loss recovered; a TopK SAE loaded through a wrong
 * architecture field is flagged with its likely cause; the CLI runs on the bundled sample by default.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openCheckpoint, tokensFromIds } from '../../src/engine/model';
import { openDictionary } from '../../src/engine/sae';
import type { AttachedSae } from '../../src/engine/sae/attach';
import { checkDictionaries } from '../../src/engine/sae/self-check';
import { LoadedModel } from '../../src/worker/loaded-model';
import { SCAN_WORKER } from '../helpers/engine';
import { CLI, makeRandomCheckpoint, randomTokens } from '../helpers/reference';
import { identitySaeFolder } from '../helpers/sae-fixtures';
import { runReferenceJobs, tmpDir } from '../helpers/sae-reference';

const spec = { layers: 2, dModel: 48, heads: 4, dMlp: 96, vocab: 256, ctx: 32, dtype: 'F32' as const, seed: 11 };
const modelDir = makeRandomCheckpoint(spec);
const root = tmpDir('sae-check');

/** A TopK SAE whose cfg.json says 'standard' (the mis-load SAELens users report): read as ReLU. */
function misloadedTopK(dir: string, dIn: number, hook: string): string {
  runReferenceJobs([['make-random', '--format', 'saelens', '--architecture', 'topk', '--k', '4', '--d-in', String(dIn), '--d-sae', '40', '--hook', hook, '--bias-shift', '2', '--out', dir, '--seed', '9']]);
  const cfgFile = path.join(dir, 'cfg.json');
  const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
  fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, architecture: 'standard' }));
  return dir;
}

async function check(saes: AttachedSae[]) {
  const m = await LoadedModel.open(openCheckpoint(modelDir), { session: { threads: 1 }, scanWorkerPath: SCAN_WORKER, saes });
  try {
    const prompts = randomTokens(3, 9, spec.vocab, 12).map((r) => tokensFromIds(m.ckpt, r));
    return await checkDictionaries(m, m.hooks, m.saes, prompts);
  } finally {
    await m.dispose();
  }
}

test('a perfect reconstruction: FVU 0, cosine 1, all of the loss recovered, no warnings', async () => {
  const dict = openDictionary(identitySaeFolder(path.join(root, 'identity'), 48, 'blocks.0.hook_resid_post'));
  const [c] = await check([{ dict, mode: 'observe' }]);
  assert.equal(c.stats.n, 3 * 8, 'BOS rows left out');
  assert.ok(c.stats.fvu < 1e-8, `fvu ${c.stats.fvu}`);
  assert.ok(c.stats.cosine > 0.99999);
  const loss = c.loss!;
  assert.ok(Math.abs(loss.lossIncrease) < 1e-4);
  assert.ok(Math.abs(loss.ceLossScore - 1) < 1e-3, `score ${loss.ceLossScore}`);
  assert.ok(loss.zeroAblation !== loss.clean);
  assert.deepEqual(c.warnings, []);
});

test('a TopK SAE read as ReLU is flagged as an architecture mis-load', async () => {
  const dict = openDictionary(misloadedTopK(path.join(root, 'topk-as-relu'), 48, 'blocks.1.hook_resid_pre'));
  assert.equal(dict.activation.kind, 'relu');
  const [c] = await check([{ dict, mode: 'observe' }]);
  assert.ok(c.stats.l0 > 20, `l0 ${c.stats.l0}`);
  assert.ok(c.warnings.some((w) => w.metric === 'l0' && w.likelyCause === 'architecture'), JSON.stringify(c.warnings));
});

test('circuit-lens sae check: the bundled sample by default, --json, warnings on stderr', () => {
  const good = identitySaeFolder(path.join(root, 'demo-identity'), 128, 'blocks.1.hook_resid_post');
  const bad = misloadedTopK(path.join(root, 'demo-topk'), 128, 'blocks.0.hook_resid_post');
  const json = path.join(root, 'check.json');
  const r = spawnSync(process.execPath, [CLI, 'sae', 'check', '--model', 'demo', '--sae', good, '--sae', bad, '--json', json, '--max-tokens', '32', '--threads', '1'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /sample: the bundled text/);
  // The mis-loaded fixture is SAELens 6.x, whose metadata names model_from_pretrained_kwargs {center_writing_weights: false}: the model is processed so.
  assert.match(r.stdout, /note: model processed as its dictionary was trained .*: processing: foldLn, centerUnembed, foldValueBiases/);
  assert.match(r.stdout, /blocks\.1\.hook_resid_post: 6 prompts/);
  assert.match(r.stdout, /CE loss recovered 1\.0000/);
  assert.match(r.stderr, /warning: blocks\.0\.hook_resid_post: L0 .* \(likely cause: architecture\)/);
  const report = JSON.parse(fs.readFileSync(json, 'utf8'));
  assert.equal(report.checks.length, 2);
  assert.ok(report.checks[0].stats.fvu < 1e-6);
  const none = spawnSync(process.execPath, [CLI, 'sae', 'check', '--model', 'demo'], { encoding: 'utf8' });
  assert.equal(none.status, 2);
  assert.match(none.stderr, /name a dictionary to check/);
});
