/**
 * A spec's "saes" through the runner (in this thread, as the worker calls it): the dictionaries are
 * attached for every analysis, relative paths start at the spec's folder, the spec's other fields may
 * name their hooks, and an entry that cannot attach is a problem on that entry's range.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { RunnerConfig } from '../../src/protocol/runner';
import type { TensorData } from '../../src/protocol/tensor';
import { runnerInThread } from '../helpers/runner';
import { SCAN_WORKER } from '../helpers/engine';
import { ROOT, maxAbsDiff, tmpDir } from '../helpers/reference';
import { identitySaeFolder } from '../helpers/sae-fixtures';

const config: RunnerConfig = { bundledModelsDir: path.join(ROOT, 'media', 'models'), trusted: true, backend: 'cpu', threads: 1, keptBytes: 256 * 2 ** 20 };

const runnerIn = () => runnerInThread(config, { scanWorkerPath: SCAN_WORKER });

const dir = tmpDir('spec-saes');
// The demo model's d_model is 128: an SAE that reconstructs blocks.0.hook_resid_post exactly.
identitySaeFolder(path.join(dir, 'saes', 'resid0'), 128, 'blocks.0.hook_resid_post');
const specPath = path.join(dir, 'exp', 'a.circuit.json');
fs.mkdirSync(path.dirname(specPath), { recursive: true });

const specText = (saes: unknown) => JSON.stringify({
  model: 'demo', saes, prompts: ['When Mary and John went to the store'],
  cache: ['blocks.0.hook_resid_post.hook_sae_*'], analyses: [{ kind: 'attention' }],
}, null, 1);

test('the spec\'s dictionaries are attached for its analyses, their hooks cacheable', async () => {
  const { call, runner } = runnerIn();
  try {
    const text = specText(['../saes/resid0']);
    const spec = { text, path: specPath };
    assert.deepEqual((await call('spec/check', { spec })).filter((p) => p.severity === 'error'), []);
    const r = await call('analysis/run', { spec, analysis: 0 });
    const hook = async (name: string) => (await call('run/slice', { runId: r.runId, slice: { kind: 'hook', hook: name } })) as TensorData;
    const input = await hook('blocks.0.hook_resid_post.hook_sae_input');
    const recons = await hook('blocks.0.hook_resid_post.hook_sae_recons');
    const resid = await hook('blocks.0.hook_resid_post');
    assert.deepEqual(input.dims, resid.dims);
    assert.equal(maxAbsDiff(input.data, resid.data), 0, 'the SAE reads the hook it is attached to');
    assert.ok(maxAbsDiff(input.data, recons.data) < 1e-4, 'the identity SAE reconstructs its input');
    const acts = await hook('blocks.0.hook_resid_post.hook_sae_acts_post');
    assert.deepEqual(acts.dims, [1, resid.dims[1], 256]);
  } finally {
    await runner.dispose();
  }
});

test('without the entry the same cache field is an unknown hook; a wrong entry is a problem on its range', async () => {
  const { call, runner } = runnerIn();
  try {
    const none = await call('spec/check', { spec: { text: specText([]), path: specPath } });
    assert.ok(none.some((p) => /unknown hook point "blocks\.0\.hook_resid_post\.hook_sae_\*"/.test(p.message)), JSON.stringify(none));
    const text = specText(['../saes/resid0', { path: '../saes/resid0', hook: 'blocks.0.mlp.hook_post' }, './nowhere']);
    const problems = (await call('spec/check', { spec: { text, path: specPath } })).filter((p) => p.severity === 'error');
    const at = (p: { range: { offset: number; length: number } }) => text.slice(p.range.offset, p.range.offset + p.range.length);
    assert.equal(problems.length, 2, JSON.stringify(problems));
    assert.match(problems[0].message, /^saes\[1\]: .*has 128 values per token but blocks\.0\.mlp\.hook_post has 512/);
    assert.match(at(problems[0]), /^\{\s*"path": "\.\.\/saes\/resid0",\s*"hook": "blocks\.0\.mlp\.hook_post"\s*\}$/);
    assert.match(problems[1].message, /^saes\[2\]: .*no such dictionary folder/);
    assert.equal(at(problems[1]), '"./nowhere"');
    // Two entries on one hook: the second is the problem.
    const twice = specText(['../saes/resid0', '../saes/resid0']);
    const dup = (await call('spec/check', { spec: { text: twice, path: specPath } })).filter((p) => p.severity === 'error');
    assert.equal(dup.length, 1);
    assert.match(dup[0].message, /^saes\[1\]: .*two dictionaries read this hook/);
    // The run stops with the same message.
    await assert.rejects(call('analysis/run', { spec: { text, path: specPath }, analysis: 0 }), /has 128 values per token but blocks\.0\.mlp\.hook_post has 512/);
  } finally {
    await runner.dispose();
  }
});
