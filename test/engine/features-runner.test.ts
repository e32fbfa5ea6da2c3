/**
 * The feature analyses through the runner, from a spec with "saes" on the bundled demo model (as the
 * editor and `circuit-lens run` ask for them): the features kind (its output carries FeaturesResult,
 * and the analysis result the same for the inline view), ablation with unit features, steering by a
 * feature and by a clamp, and a circuit of features; each equal to the engine function it wraps.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import type { AnalysisOutput } from '../../src/protocol/analysis';
import type { RunnerConfig } from '../../src/protocol/runner';
import { runnerInThread } from '../helpers/runner';
import { openCheckpoint } from '../../src/engine/model';
import { openDictionary } from '../../src/engine/sae';
import { promptFeatures } from '../../src/engine/analysis/features';
import { ablateFeatures } from '../../src/engine/analysis/feature-interventions';
import { tokenLabel } from '../../src/engine/analysis/token-label';
import { LoadedModel } from '../../src/worker/loaded-model';
import { featureLines } from '../../src/cli/features-text';
import { topFeatureText } from '../../src/host/inline/prediction-text';
import { SCAN_WORKER } from '../helpers/engine';
import { ROOT, tmpDir } from '../helpers/reference';
import { runReferenceJobs } from '../helpers/sae-reference';

const config: RunnerConfig = { bundledModelsDir: path.join(ROOT, 'media', 'models'), trusted: true, backend: 'cpu', threads: 1, keptBytes: 256 * 2 ** 20 };
const dir = tmpDir('features-runner');
const saeDir = path.join(dir, 'sae');
const HOOK = 'blocks.0.hook_resid_post';
const specPath = path.join(dir, 'f.circuit.json');
const PROMPT = 'Moses took the staff of God, and Aaron took the staff of';
// processing "none": the random fixture names SAELens' model_from_pretrained_kwargs, which would process the model the
// runner loads, and the engine functions below run on the unprocessed one.
const text = JSON.stringify({
  model: 'demo', processing: 'none', saes: ['./sae'],
  prompts: [
    { name: 'clean', text: PROMPT, answer: ' God', counterfactual: ' Israel' },
    { name: 'other', text: 'Moses took the staff of Israel, and Aaron took the staff of' },
  ],
  datasets: { rep: { generate: 'repeatedRandomTokens', count: 3, length: 6, seed: 1 } },
  analyses: [
    { kind: 'features', k: 3, logitsK: 4 },
    { kind: 'ablation', unit: 'features', method: 'mean', reference: ['other'], features: [1, 2, 3] },
    { kind: 'steering', hook: HOOK, feature: 2, coefficient: 8, maxNewTokens: 3 },
    { kind: 'steering', hook: HOOK, feature: 2, clamp: 10, maxNewTokens: 3 },
    { kind: 'circuit', dataset: 'rep', metric: 'loss', ablation: 'zero', components: { features: [`${HOOK}:1`, `${HOOK}:2`] }, claims: { faithfulness: { min: -1e9 } } },
  ],
});

before(() => {
  runReferenceJobs([['make-random', '--format', 'saelens', '--d-in', '128', '--d-sae', '64', '--hook', HOOK, '--out', saeDir, '--seed', '5']]);
  fs.writeFileSync(specPath, text);
});

test('feature analyses run from a spec with "saes" and give the engine\'s numbers', async () => {
  const { call, runner, configured } = runnerInThread(config, { scanWorkerPath: SCAN_WORKER });
  await configured;
  const m = await LoadedModel.open(openCheckpoint(path.join(ROOT, 'media', 'models', 'demo')), { session: { threads: 1 }, scanWorkerPath: SCAN_WORKER, saes: [{ dict: openDictionary(saeDir), mode: 'observe' }] });
  try {
    const spec = { text, path: specPath };
    assert.deepEqual((await call('spec/check', { spec })).filter((p) => p.severity === 'error'), []);
    const outputs: AnalysisOutput[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await call('analysis/run', { spec, analysis: i });
      outputs.push((await call('run/slice', { runId: r.runId, slice: { kind: 'output' } })) as AnalysisOutput);
      if (i === 0) assert.deepEqual(r.features, outputs[0].features, 'the analysis result carries the features for the inline view');
      else assert.equal(r.features, undefined);
    }
    const [features, ablation, steer, clamp, circuit] = outputs;
    // The features kind: the engine's result, as a position x feature heatmap.
    const tok = m.ckpt.tokenizer!;
    const toks = m.tokenize(PROMPT);
    const id = (s: string) => tok.encode(s, { prependBos: false })[0].id;
    const want = await promptFeatures(m, toks, { k: 3, logitsK: 4, answer: id(' God'), counterfactual: id(' Israel'), label: (x) => tokenLabel(tok, x) });
    assert.deepEqual(features.features, want);
    const columns = features.axes[1].labels;
    assert.deepEqual(features.axes.map((a) => a.labels.length), [toks.length, Math.min(64, want.features.length)]);
    assert.ok(want.attribution && want.attribution.features.length > 0);
    const top3 = want.tokens[3].features[0];
    assert.equal(features.values[3 * columns.length + columns.indexOf(`F${top3.id}`)], top3.act, 'the heatmap holds token 3\'s top activation');
    const lines = featureLines(want);
    assert.equal(lines.filter((l) => /^ {4}\d+ "/.test(l)).length, toks.length, 'the CLI prints one line per token');
    assert.equal(topFeatureText(want.tokens[3].features), `F${want.tokens[3].features[0].id}`);
    // Ablation of features: the engine's changes.
    const abl = await ablateFeatures(m, toks, { features: [1, 2, 3], kind: 'mean', reference: [m.tokenize('Moses took the staff of Israel, and Aaron took the staff of')], metric: { kind: 'logitDiff', answer: id(' God'), counterfactual: id(' Israel') } });
    assert.deepEqual(ablation.values, [...abl.change]);
    assert.deepEqual(ablation.axes[0].labels, ['F1', 'F2', 'F3']);
    // Steering and clamping move the next-token logits; the circuit of features reports its claim.
    for (const s of [steer, clamp]) assert.ok(s.values.some((v) => Math.abs(v) > 1e-3), s.summary);
    assert.match(clamp.summary!, /Clamping feature 2's activation to 10/);
    assert.equal(circuit.claims?.length, 1);
    assert.ok(Number.isFinite(circuit.claims![0].value));
  } finally {
    await m.dispose();
    await runner.dispose();
  }
});
