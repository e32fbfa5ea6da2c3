/**
 * Circuits with SAE features as components ("HOOK:FEATURE") against the circuit reference
 * (test/reference/circuit_reference.py with the dictionary installed as sae_reference.py does): M(full),
 * M(none), M(circuit), faithfulness, minimality and completeness within 1e-4 under zero, mean and resample
 * ablation, for a circuit of features alone and of features with heads, on random GPT-2 and Llama-style
 * checkpoints, observing and spliced.
 */
import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadDataset } from '../../src/engine/datasets/load';
import { openCheckpoint, tokensFromIds } from '../../src/engine/model';
import { openDictionary } from '../../src/engine/sae';
import { runCircuitTest } from '../../src/engine/analysis/run-circuit-test';
import { parseSpec } from '../../src/engine/spec/parse';
import { LoadedModel } from '../../src/worker/loaded-model';
import { SCAN_WORKER } from '../helpers/engine';
import { makeFamilyCheckpoint } from '../helpers/family-reference';
import { PYTHON, ROOT, makeRandomCheckpoint, randomTokens, tmpDir } from '../helpers/reference';
import { runReferenceJobs } from '../helpers/sae-reference';

const REFERENCE = path.join(ROOT, 'test', 'reference', 'circuit_reference.py');
const pyEnv = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', OMP_WAIT_POLICY: 'PASSIVE' };
const shape = { layers: 2, dModel: 32, heads: 4, dMlp: 24, vocab: 100, ctx: 16, dtype: 'F32' as const };
const models = {
  gpt2: makeRandomCheckpoint({ ...shape, seed: 81 }),
  llama: makeFamilyCheckpoint({ ...shape, family: 'llama', seed: 82, extra: ['--kv-heads', '2'] }),
};
const prompts = randomTokens(4, 7, 99, 83);
const reference = randomTokens(3, 7, 99, 84);
const root = tmpDir('circuit-features');
const D_SAE = 24;

interface Case { name: string; family: keyof typeof models; format: string; make: string[]; hook: string; sub?: string; splice: boolean; features: number[]; heads?: string[] }
const CASES: Case[] = [
  { name: 'GPT-2, SAELens SAE at resid_pre observing, features alone', family: 'gpt2', format: 'saelens', make: [], hook: 'blocks.1.hook_resid_pre', splice: false, features: [2, 5, 11] },
  { name: 'GPT-2, SAELens TopK SAE at attn_out spliced, features and heads', family: 'gpt2', format: 'saelens', make: ['--architecture', 'topk', '--k', '5'], hook: 'blocks.0.hook_attn_out', splice: true, features: [1, 7], heads: ['1.0', '1.2'] },
  { name: 'Llama, Gemma Scope npz at resid_post observing, features alone', family: 'llama', format: 'gemma-scope', make: [], hook: 'blocks.0.hook_resid_post', sub: 'gemma-scope-2b-pt-res/layer_0/width_16k/average_l0_71', splice: false, features: [0, 3, 9, 17] },
];
const folder = (i: number) => path.join(root, `sae${i}`, CASES[i].sub ?? '');

before(() => {
  runReferenceJobs(CASES.map((c, i) => ['make-random', '--format', c.format, ...c.make, '--d-in', '32', '--d-sae', String(D_SAE), '--out', folder(i), '--seed', String(90 + i)]));
});

for (const [i, c] of CASES.entries()) {
  test(`${c.name}: the claims match the reference within 1e-4 (zero, mean, resample)`, async () => {
    const m = await LoadedModel.open(openCheckpoint(models[c.family]), { session: { threads: 1 }, scanWorkerPath: SCAN_WORKER, saes: [{ dict: openDictionary(folder(i), { hook: c.hook }), mode: c.splice ? 'splice' : 'observe' }] });
    try {
      // Each prompt's most and least likely next token: a logit difference the features carry.
      const run = await m.trace(prompts.map((p) => tokensFromIds(m.ckpt, p)), { logits: 'last' });
      const vocab = m.ckpt.config.dVocab;
      const rows = prompts.map((_, b) => Array.from(run.logits.data.subarray(b * vocab, (b + 1) * vocab)));
      const answers = rows.map((r) => r.indexOf(Math.max(...r)));
      const counterfactuals = rows.map((r) => r.indexOf(Math.min(...r)));
      const d = tmpDir('circuit-features-spec');
      fs.writeFileSync(path.join(d, 'p.jsonl'), prompts.map((tokens, j) => JSON.stringify({ tokens, answer: answers[j], counterfactual: counterfactuals[j] })).join('\n') + '\n');
      fs.writeFileSync(path.join(d, 'r.jsonl'), reference.map((tokens) => JSON.stringify({ tokens })).join('\n') + '\n');
      const features = c.features.map((f) => `${c.hook}:${f}`);
      for (const ablation of ['zero', 'mean', 'resample'] as const) {
        const file = path.join(d, `${ablation}.circuit.json`);
        const claims = { faithfulness: { min: -1e9 }, minimality: { min: -1e9 }, completeness: { max: 1e9 } };
        fs.writeFileSync(file, JSON.stringify({ datasets: { p: { file: 'p.jsonl' }, r: { file: 'r.jsonl' } }, analyses: [{ kind: 'circuit', dataset: 'p', ablation, ...(ablation === 'mean' ? { reference: 'r' } : {}), components: { features, ...(c.heads ? { heads: c.heads } : {}) }, claims }] }));
        const { spec, problems } = parseSpec(fs.readFileSync(file, 'utf8'));
        assert.deepEqual(problems, []);
        const a = spec.analyses[0];
        assert.ok(a.kind === 'circuit');
        const out = await runCircuitTest({ tracer: m, dataset: (name) => loadDataset(m, spec.datasets.find((x) => x.name.value === name)!, file) }, a);
        const rowsOf = (r: number[][]) => r.map((x) => x.join(',')).join(';');
        const ref = JSON.parse(execFileSync(PYTHON, [REFERENCE, '--family', c.family, '--model', models[c.family], '--tokens', rowsOf(prompts), '--heads', (c.heads ?? []).join(','),
          '--features', features.join(','), '--sae-format', c.format, '--sae-dir', folder(i), '--sae-hook', c.hook, ...(c.splice ? ['--sae-splice'] : []),
          '--ablation', ablation, ...(ablation === 'mean' ? ['--reference', rowsOf(reference)] : []), '--metric', 'logitDiff', '--answers', answers.join(','), '--counterfactuals', counterfactuals.join(',')], { env: pyEnv, encoding: 'utf8' }));
        const what = `${c.name}, ${ablation}`;
        assert.ok(Math.abs(ref.full - ref.none) > 0.05, `${what}: ablating every feature changes the metric (${ref.full} vs ${ref.none})`);
        const [faith, minimality, completeness] = out.claims!;
        for (const [k, v] of Object.entries(faith.means)) assert.ok(Math.abs(v - ref[k]) < 1e-4, `${what}: M(${k}) ${v} vs ${ref[k]}`);
        assert.ok(Math.abs(faith.value - ref.faithfulness) < 1e-4, `${what}: faithfulness ${faith.value} vs ${ref.faithfulness}`);
        for (const [claim, theirs] of [[minimality, ref.minimality], [completeness, ref.completeness]] as const) {
          assert.deepEqual(Object.keys(claim.components!), Object.keys(theirs), `${what}: ${claim.claim} components`);
          for (const [k, v] of Object.entries(theirs as Record<string, number>)) assert.ok(Math.abs(claim.components![k] - v) < 1e-4, `${what}: ${claim.claim} of ${k}: ${claim.components![k]} vs ${v}`);
        }
      }
    } finally {
      await m.dispose();
    }
  });
}

test('a feature of no attached dictionary, or past its width, is a clear error', async () => {
  const m = await LoadedModel.open(openCheckpoint(models.gpt2), { session: { threads: 1 }, scanWorkerPath: SCAN_WORKER, saes: [{ dict: openDictionary(folder(0), { hook: CASES[0].hook }), mode: 'observe' }] });
  try {
    const d = tmpDir('circuit-features-bad');
    fs.writeFileSync(path.join(d, 'p.jsonl'), JSON.stringify({ tokens: prompts[0], answer: 1, counterfactual: 2 }) + '\n');
    for (const [feature, message] of [['blocks.0.hook_resid_post:3', /no dictionary is attached at blocks\.0\.hook_resid_post; attached: blocks\.1\.hook_resid_pre/], [`${CASES[0].hook}:${D_SAE}`, /feature 24 is outside \[0, 24\)/]] as const) {
      const file = path.join(d, 'c.circuit.json');
      fs.writeFileSync(file, JSON.stringify({ datasets: { p: { file: 'p.jsonl' } }, analyses: [{ kind: 'circuit', dataset: 'p', ablation: 'zero', components: { features: [feature] } }] }));
      const { spec } = parseSpec(fs.readFileSync(file, 'utf8'));
      const a = spec.analyses[0];
      assert.ok(a.kind === 'circuit');
      await assert.rejects(runCircuitTest({ tracer: m, dataset: () => loadDataset(m, spec.datasets[0], file) }, a), message);
    }
  } finally {
    await m.dispose();
  }
});
