/**
 * `circuit-lens bench --sae-features`: the feature analyses at research scale, on the GPT-2-small-shaped
 * random model with one random TopK SAE of width 24,576 at blocks.5.hook_resid_post, 1 x --pos tokens:
 * the plain forward, the features analysis (top 5 per token, logits of every shown feature, DLA), a
 * forward with a feature clamped (the dense decoder and the error term), and zero ablation of 5 features,
 * each as a ratio to the plain forward measured in the same run.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openCheckpoint, tokensFromIds } from '../engine/model';
import { openDictionary } from '../engine/sae';
import { promptFeatures } from '../engine/analysis/features';
import { ablateFeatures, featureClamp } from '../engine/analysis/feature-interventions';
import { LoadedModel } from '../worker/loaded-model';
import { parse } from '../cli/args';
import { writeFileAtomic } from '../cli/atomic';
import { medianMs } from './timing';
import { benchSetup, randomModel } from './setup';

const USAGE = 'circuit-lens bench --sae-features [--threads N] [--repeats N] [--pos N] [--json FILE] [--python PATH]';
const ROOT = path.join(__dirname, '..');
const D_SAE = 24576;
const HOOK = 'blocks.5.hook_resid_post';

export async function benchSaeFeatures(argv: string[]): Promise<void> {
  const { values } = parse(argv, { threads: { type: 'string' }, repeats: { type: 'string' }, pos: { type: 'string' }, json: { type: 'string' }, python: { type: 'string' } }, USAGE);
  const setup = benchSetup(values, path.join(ROOT, 'test', 'reference', 'gpt2_reference.py'), 3, 1024);
  const modelDir = randomModel(setup, 'gpt2-small-random', 'GPT-2-small-shaped', ['--layers', '12', '--d-model', '768', '--heads', '12', '--d-mlp', '3072', '--vocab', '50257', '--ctx', '1024']);
  const saeDir = path.resolve('.bench', `sae-topk-${D_SAE}-${HOOK}`);
  if (!fs.existsSync(path.join(saeDir, 'cfg.json'))) {
    console.log(`writing a random TopK SAE to ${saeDir} ...`);
    execFileSync(setup.python, [path.join(ROOT, 'test', 'reference', 'sae_reference.py'), 'make-random', '--format', 'saelens', '--architecture', 'topk', '--k', '32',
      '--d-in', '768', '--d-sae', String(D_SAE), '--hook', HOOK, '--out', saeDir, '--seed', '1'], { env: setup.env, stdio: 'inherit' });
  }
  const ckpt = openCheckpoint(modelDir);
  const m = await LoadedModel.open(ckpt, { session: { threads: setup.threads }, saes: [{ dict: openDictionary(saeDir, { modelHooks: ckpt.hooks }), mode: 'observe' }] });
  try {
    const prompt = tokensFromIds(ckpt, Array.from({ length: setup.pos }, (_, i) => (i * 7919) % 50257));
    const metric = { kind: 'logitDiff' as const, answer: 11, counterfactual: 13 };
    const plainMs = await medianMs(setup.repeats, () => m.trace([prompt], { logits: 'last' }));
    let shown = 0;
    const featuresMs = await medianMs(setup.repeats, async () => {
      shown = (await promptFeatures(m, prompt, { k: 5, logitsK: 10, answer: metric.answer, counterfactual: metric.counterfactual, label: String })).features.length;
    });
    const clampMs = await medianMs(setup.repeats, () => m.trace([prompt], { logits: 'last', interventions: [featureClamp(m, undefined, 7, 5)] }));
    const ablationMs = await medianMs(1, () => ablateFeatures(m, prompt, { features: [1, 2, 3, 4, 5], kind: 'zero', metric }));
    const report = { threads: setup.threads, pos: setup.pos, dSae: D_SAE, hook: HOOK, plainMs, featuresMs, shownFeatures: shown, clampMs, ablationMs,
      featuresRatio: featuresMs / plainMs, clampRatio: clampMs / plainMs, ablationRatio: ablationMs / plainMs };
    console.log(`GPT-2-small-shaped, 1x${setup.pos} tokens, ${setup.threads} thread(s), one TopK SAE of width ${D_SAE} at ${HOOK}`);
    console.log(`plain forward                         ${plainMs.toFixed(0)} ms`);
    console.log(`features analysis (${shown} features shown) ${featuresMs.toFixed(0)} ms  (${report.featuresRatio.toFixed(2)}x)`);
    console.log(`forward with a feature clamped        ${clampMs.toFixed(0)} ms  (${report.clampRatio.toFixed(2)}x)`);
    console.log(`zero ablation of 5 features           ${ablationMs.toFixed(0)} ms  (${report.ablationRatio.toFixed(2)}x)`);
    if (values.json) writeFileAtomic(values.json, JSON.stringify(report, null, 1) + '\n');
  } finally {
    await m.dispose();
  }
}
