/**
 * `circuit-lens bench --sae`: the GPT-2-small-shaped random model, 1 x --pos tokens, with four TopK SAEs
 * of width 24,576 (random, written once by test/reference/sae_reference.py into .bench/) on four residual
 * hooks: the plain trace's time against the trace caching every feature activation (observing and
 * spliced), and the process's peak memory against the model's and the SAEs' weight bytes.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tokensFromIds } from '../engine/model';
import { openCheckpoint } from '../engine/model';
import { openDictionary } from '../engine/sae';
import type { AttachedSae } from '../engine/sae/attach';
import { LoadedModel } from '../worker/loaded-model';
import { parse } from '../cli/args';
import { writeFileAtomic } from '../cli/atomic';
import { medianMs } from './timing';
import { benchSetup, randomModel } from './setup';

const USAGE = 'circuit-lens bench --sae [--threads N] [--repeats N] [--pos N] [--json FILE] [--python PATH]';
const ROOT = path.join(__dirname, '..');
const D_SAE = 24576;
const HOOKS = [2, 5, 8, 11].map((l) => `blocks.${l}.hook_resid_post`);

const bytesOf = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors')).reduce((a, f) => a + fs.statSync(path.join(dir, f)).size, 0);
const mb = (b: number) => b / 2 ** 20;

export async function benchSae(argv: string[]): Promise<void> {
  const { values } = parse(argv, { threads: { type: 'string' }, repeats: { type: 'string' }, pos: { type: 'string' }, json: { type: 'string' }, python: { type: 'string' } }, USAGE);
  const setup = benchSetup(values, path.join(ROOT, 'test', 'reference', 'gpt2_reference.py'), 5, 1024);
  const modelDir = randomModel(setup, 'gpt2-small-random', 'GPT-2-small-shaped', ['--layers', '12', '--d-model', '768', '--heads', '12', '--d-mlp', '3072', '--vocab', '50257', '--ctx', '1024']);
  const saeDirs = HOOKS.map((hook, i) => {
    const dir = path.resolve('.bench', `sae-topk-${D_SAE}-${hook}`);
    if (!fs.existsSync(path.join(dir, 'cfg.json'))) {
      console.log(`writing a random TopK SAE to ${dir} ...`);
      execFileSync(setup.python, [path.join(ROOT, 'test', 'reference', 'sae_reference.py'), 'make-random', '--format', 'saelens', '--architecture', 'topk', '--k', '32',
        '--d-in', '768', '--d-sae', String(D_SAE), '--hook', hook, '--out', dir, '--seed', String(i)], { env: setup.env, stdio: 'inherit' });
    }
    return dir;
  });
  const ckpt = openCheckpoint(modelDir);
  const saes: AttachedSae[] = saeDirs.map((dir) => ({ dict: openDictionary(dir, { modelHooks: ckpt.hooks }), mode: 'observe' }));
  const ids = [Array.from({ length: setup.pos }, (_, i) => (i * 7919) % 50257)];
  const session = { threads: setup.threads };

  // The dictionaries' model first, so the process's peak memory is its own.
  const withSaes = await LoadedModel.open(ckpt, { session, saes });
  const batch = ids.map((r) => tokensFromIds(ckpt, r));
  const features = withSaes.hooks.filter((h) => h.name.endsWith('.hook_sae_acts_post'));
  const attachedPlainMs = await medianMs(setup.repeats, () => withSaes.trace(batch, { logits: 'last' }));
  const observeMs = await medianMs(setup.repeats, () => withSaes.trace(batch, { hooks: features, logits: 'last' }));
  // Each graph variant is its own session with its own copy of the weights: the plain one (made at load) and this one.
  const peakBytes = process.resourceUsage().maxRSS * 1024;
  const spliceMs = await medianMs(setup.repeats, () => withSaes.trace(batch, { hooks: features, logits: 'last', saeSplice: HOOKS }));
  await withSaes.dispose();
  const plain = await LoadedModel.open(ckpt, { session });
  const plainMs = await medianMs(setup.repeats, () => plain.trace(batch, { logits: 'last' }));
  await plain.dispose();

  const weightBytes = bytesOf(modelDir) + saeDirs.reduce((a, d) => a + bytesOf(d), 0);
  const report = {
    threads: setup.threads, pos: setup.pos, dSae: D_SAE, hooks: HOOKS,
    plainMs, observeMs, spliceMs, attachedPlainMs, observeRatio: observeMs / plainMs, spliceRatio: spliceMs / plainMs,
    peakMB: mb(peakBytes), weightMB: mb(weightBytes), memoryRatio: peakBytes / weightBytes,
  };
  console.log(`GPT-2-small-shaped, 1x${setup.pos} tokens, ${setup.threads} thread(s), 4 TopK SAEs of width ${D_SAE} on ${HOOKS.join(', ')}`);
  console.log(`plain trace              ${plainMs.toFixed(1)} ms`);
  console.log(`SAEs attached, no hooks  ${attachedPlainMs.toFixed(1)} ms`);
  console.log(`observe, features cached ${observeMs.toFixed(1)} ms  (${report.observeRatio.toFixed(2)}x; target 1.3x)`);
  console.log(`splice, features cached  ${spliceMs.toFixed(1)} ms  (${report.spliceRatio.toFixed(2)}x)`);
  console.log(`peak memory through the observing trace ${report.peakMB.toFixed(0)} MB against ${report.weightMB.toFixed(0)} MB of model + SAE weights (${report.memoryRatio.toFixed(2)}x; target 1.3x)`);
  console.log('  (the plain session made at load holds its own copy of the model weights; each graph variant is a session)');
  if (values.json) writeFileAtomic(values.json, JSON.stringify(report, null, 1) + '\n');
}
