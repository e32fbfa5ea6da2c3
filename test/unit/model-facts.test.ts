/**
 * The model facts behind spec diagnostics, as the worker's runner answers them (model/facts, tokenize,
 * spec/check): a checkpoint's tokenizer is loaded only when the trust gate allows it (in Restricted
 * Mode, bundled models only), config facts are read either way, and a change of the gate is picked up.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import type { RunnerConfig } from '../../src/protocol/runner';
import { CircuitLensError } from '../../src/protocol/errors';
import { runnerInThread } from '../helpers/runner';

const bundled = path.resolve(__dirname, '..', '..', 'media', 'models');
// A workspace copy of the demo model: same files, outside the bundled folder.
const workspaceModel = fs.mkdtempSync(path.join(os.tmpdir(), 'circuit-lens-ws-model-'));
fs.cpSync(path.join(bundled, 'demo'), workspaceModel, { recursive: true });

const runnerIn = (config: RunnerConfig) => runnerInThread(config);

const config = (trusted: boolean): RunnerConfig => ({ bundledModelsDir: bundled, trusted, backend: 'cpu', keptBytes: 0 });
// 130 words, each one token with BOS: over the demo model's context of 128.
const longSpec = (model: string) => JSON.stringify({ model, prompts: [{ name: 'long', text: ' the'.repeat(130) }], analyses: [{ kind: 'attention' }] });

test('in Restricted Mode only bundled models tokenize the spec text', async () => {
  const { call, runner } = runnerIn(config(false));
  try {
    const fromBundle = await call('model/facts', { model: { ref: 'demo' } });
    assert.equal(fromBundle.hasTokenizer, true, 'a bundled tokenizer is loaded');
    assert.equal((await call('tokenize', { model: { ref: 'demo' }, input: { text: ' the', bos: false } })).length, 1);
    const fromWorkspace = await call('model/facts', { model: { ref: workspaceModel } });
    assert.equal(fromWorkspace.hasTokenizer, false, 'a workspace tokenizer is not loaded untrusted');
    assert.equal(fromWorkspace.nLayers, 2, 'config facts are still read');
    assert.equal(fromWorkspace.hooks.length, fromBundle.hooks.length);
    await assert.rejects(call('tokenize', { model: { ref: workspaceModel }, input: { text: ' the' } }), (e: unknown) => e instanceof CircuitLensError && e.code === 'BAD_INPUT');
    // The token-count check runs with the bundled tokenizer only; the workspace model's waits for trust.
    const tooLong = /this prompt is 131 tokens \(with BOS\); the model's context is 128/;
    const bundledProblems = await call('spec/check', { spec: { text: longSpec('demo'), path: path.join(workspaceModel, 'a.circuit.json') } });
    assert.ok(bundledProblems.some((p) => tooLong.test(p.message)), JSON.stringify(bundledProblems));
    const workspaceProblems = await call('spec/check', { spec: { text: longSpec(workspaceModel), path: path.join(workspaceModel, 'a.circuit.json') } });
    assert.deepEqual(workspaceProblems.filter((p) => p.severity === 'error'), []);
    // Nothing loads or runs a model until the workspace is trusted.
    await assert.rejects(call('model/load', { model: { ref: 'demo' } }), /loaded only in trusted workspaces.*Restricted Mode/);

    await call('configure', config(true));
    const afterTrust = await call('model/facts', { model: { ref: workspaceModel } });
    assert.equal(afterTrust.hasTokenizer, true, 'the change of the gate is picked up');
    assert.equal((await call('tokenize', { model: { ref: workspaceModel }, input: { text: ' the', bos: false } })).length, 1);
    const trustedProblems = await call('spec/check', { spec: { text: longSpec(workspaceModel), path: path.join(workspaceModel, 'a.circuit.json') } });
    assert.ok(trustedProblems.some((p) => tooLong.test(p.message)), JSON.stringify(trustedProblems));
  } finally {
    await runner.dispose();
  }
});

test('model/facts with hook globs lists only the hook points they select; a relative folder is taken from baseDir', async () => {
  const { call, runner } = runnerIn(config(true));
  try {
    const facts = await call('model/facts', { model: { ref: `./${path.basename(workspaceModel)}`, baseDir: path.dirname(workspaceModel) }, hooks: 'blocks.*.attn.hook_pattern' });
    assert.equal(facts.dir, fs.realpathSync(workspaceModel));
    assert.deepEqual(facts.hooks.map((h) => h.name), ['blocks.0.attn.hook_pattern', 'blocks.1.attn.hook_pattern']);
    assert.deepEqual(facts.hooks[0].shape, ['batch', 2, 'pos', 'pos']);
    assert.deepEqual([facts.nLayers, facts.nHeads, facts.dModel, facts.dVocab, facts.nCtx], [2, 2, 128, 4096, 128]);
  } finally {
    await runner.dispose();
  }
});
