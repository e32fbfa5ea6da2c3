/**
 * Dictionaries inside the model graph: every SAE hook against the CPU definition (encodeBatch) on the
 * same inputs, for several formats and architectures at several hooks of a random GPT-2 checkpoint;
 * observe mode leaves the logits exactly as without the dictionary; splicing a perfect reconstruction
 * leaves them within 1e-4, and splicing a lossy one moves them and feeds the reconstruction downstream.
 */
import { before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { openCheckpoint, tokensFromIds } from '../../src/engine/model';
import { processCheckpoint } from '../../src/engine/processing/process-checkpoint';
import { encodeBatch, openDictionary, type SparseDictionary } from '../../src/engine/sae';
import type { AttachedSae, SaeMode } from '../../src/engine/sae/attach';
import type { WeightProcessing } from '../../src/protocol/processing';
import { LoadedModel } from '../../src/worker/loaded-model';
import { SCAN_WORKER } from '../helpers/engine';
import { makeRandomCheckpoint, maxAbsDiff, randomTokens } from '../helpers/reference';
import { identitySaeFolder } from '../helpers/sae-fixtures';
import { runReferenceJobs, tmpDir } from '../helpers/sae-reference';

const spec = { layers: 2, dModel: 48, heads: 4, dMlp: 96, vocab: 256, ctx: 32, dtype: 'F32' as const, seed: 7 };
const modelDir = makeRandomCheckpoint(spec);
const ids = randomTokens(2, 7, spec.vocab, 8);
const root = tmpDir('sae-graph');

interface Case { name: string; make: string[]; hook: string; sub?: string }
const CASES: Case[] = [
  { name: 'saelens standard at resid_pre (an alias hook)', make: ['--format', 'saelens'], hook: 'blocks.1.hook_resid_pre' },
  { name: 'saelens jumprelu bf16', make: ['--format', 'saelens', '--architecture', 'jumprelu', '--dtype', 'BF16'], hook: 'blocks.0.hook_resid_post' },
  { name: 'saelens topk rescaled', make: ['--format', 'saelens', '--architecture', 'topk', '--k', '5', '--rescale'], hook: 'blocks.0.hook_resid_mid' },
  { name: 'saelens gated', make: ['--format', 'saelens', '--architecture', 'gated'], hook: 'blocks.1.hook_attn_out' },
  { name: 'saelens layer_norm', make: ['--format', 'saelens', '--normalize', 'layer_norm'], hook: 'blocks.1.hook_resid_post' },
  { name: 'saelens constant_norm_rescale', make: ['--format', 'saelens', '--normalize', 'constant_norm_rescale'], hook: 'blocks.0.hook_mlp_out' },
  { name: 'saelens hook_z', make: ['--format', 'saelens', '--hook', 'blocks.1.attn.hook_z'], hook: 'blocks.1.attn.hook_z' },
  { name: 'saelens transcoder', make: ['--format', 'saelens', '--architecture', 'transcoder', '--hook', 'blocks.0.ln2.hook_normalized', '--hook-out', 'blocks.0.hook_mlp_out'], hook: 'blocks.0.ln2.hook_normalized' },
  { name: 'llama-scope dataset-wise', make: ['--format', 'llama-scope', '--apply-b-dec', '0'], hook: 'blocks.1.hook_resid_post' },
  { name: 'sparsify topk', make: ['--format', 'sparsify', '--k', '7'], hook: 'blocks.1.hook_resid_post', sub: 'layers.1' },
  { name: 'gemma-scope npz jumprelu (in memory)', make: ['--format', 'gemma-scope'], hook: 'blocks.0.hook_resid_post', sub: 'gemma-scope-2b-pt-res/layer_0/width_16k/average_l0_71' },
];

const dirOf = (i: number) => path.join(root, `sae${i}`);
const folderOf = (i: number) => (CASES[i].sub ? path.join(dirOf(i), CASES[i].sub!) : dirOf(i));

function openModel(saes: AttachedSae[], processing?: WeightProcessing): Promise<LoadedModel> {
  return LoadedModel.open(processCheckpoint(openCheckpoint(modelDir), processing), { session: { threads: 1 }, scanWorkerPath: SCAN_WORKER, saes });
}

function dict(i: number): SparseDictionary {
  return openDictionary(folderOf(i), { hook: CASES[i].hook });
}

before(() => {
  // d_in 48: d_model, and n_heads x d_head for the hook_z SAE.
  runReferenceJobs(CASES.map((c, i) => ['make-random', ...c.make, '--d-in', '48', '--d-sae', '40', '--out', folderOf(i), '--seed', String(i + 1)]));
});

async function traceWith(saes: AttachedSae[], processing?: WeightProcessing, saeSplice?: string[]) {
  const m = await openModel(saes, processing);
  try {
    const batch = ids.map((r) => tokensFromIds(m.ckpt, r));
    return { trace: await m.trace(batch, { hooks: m.hooks, saeSplice }), hooks: m.hooks };
  } finally {
    await m.dispose();
  }
}

describe('SAE hooks match the CPU definition', () => {
  for (const [i, c] of CASES.entries()) {
    test(c.name, async () => {
      const d = dict(i);
      const { trace } = await traceWith([{ dict: d, mode: 'observe' }]);
      const get = (s: string) => trace.cache.get(`${d.hookIn}.${s}`);
      const input = get('hook_sae_input');
      const n = input.dims[0] * input.dims[1];
      assert.deepEqual(input.dims, [2, 7, d.dIn]);
      assert.equal(maxAbsDiff(input.data, trace.cache.get(d.hookIn).data), 0, 'hook_sae_input is the bare hook (flattened)');
      const cpu = encodeBatch(d, input.data, n);
      assert.ok(maxAbsDiff(get('hook_sae_acts_pre').data, cpu.actsPre) <= 1e-4, 'acts_pre');
      assert.ok(maxAbsDiff(get('hook_sae_acts_post').data, cpu.actsPost) <= 1e-4, 'acts_post');
      assert.ok(maxAbsDiff(get('hook_sae_recons').data, cpu.recons) <= 1e-4, 'recons');
      assert.deepEqual(get('hook_sae_acts_post').dims, [2, 7, d.dSae]);
      const target = trace.cache.get(d.hookOut ?? d.hookIn);
      assert.deepEqual(get('hook_sae_recons').dims, target.dims);
      const err = get('hook_sae_error').data;
      assert.ok(maxAbsDiff(err, target.data.map((v, j) => v - cpu.recons[j])) <= 1e-4, 'error');
      assert.equal(maxAbsDiff(get('hook_sae_output').data, target.data), 0, 'observe: output is the hook value');
    });
  }
});

describe('observe and splice', () => {
  test('observing leaves every model hook and the logits exactly as without dictionaries, in files and in memory', async () => {
    const saes = [0, 2, 6, 7, 10].map((i) => ({ dict: dict(i), mode: 'observe' as SaeMode }));
    for (const processing of [undefined, { foldLn: true } as WeightProcessing]) {
      const plain = await traceWith([], processing);
      const { trace } = await traceWith(saes, processing);
      assert.equal(maxAbsDiff(trace.logits.data, plain.trace.logits.data), 0);
      for (const h of plain.hooks) assert.equal(maxAbsDiff(trace.cache.get(h.name).data, plain.trace.cache.get(h.name).data), 0, h.name);
    }
  });

  test('with processed weights in memory, file-backed and npz dictionaries still match the CPU definition', async () => {
    const saes = [2, 10].map((i) => ({ dict: dict(i), mode: 'splice' as SaeMode }));
    const { trace } = await traceWith(saes, { foldLn: true } as WeightProcessing);
    for (const { dict: d } of saes) {
      const input = trace.cache.get(`${d.hookIn}.hook_sae_input`);
      const cpu = encodeBatch(d, input.data, input.dims[0] * input.dims[1]);
      assert.ok(maxAbsDiff(trace.cache.get(`${d.hookIn}.hook_sae_acts_post`).data, cpu.actsPost) <= 1e-4, d.hookIn);
      assert.ok(maxAbsDiff(trace.cache.get(`${d.hookIn}.hook_sae_recons`).data, cpu.recons) <= 1e-4, d.hookIn);
    }
  });

  test('SAE hooks take interventions: zeroing every feature of a spliced SAE zeroes what follows it', async () => {
    const d = openDictionary(identitySaeFolder(path.join(root, 'identity-iv'), 48, 'blocks.0.hook_resid_post'));
    const m = await openModel([{ dict: d, mode: 'splice' }]);
    try {
      const zero = { dims: [1], data: new Float32Array([0]) };
      const trace = await m.trace(ids.map((r) => tokensFromIds(m.ckpt, r)), {
        hooks: m.hooks.filter((h) => h.name.startsWith('blocks.1.hook_resid_pre')), interventions: [{ hook: `${d.hookIn}.hook_sae_acts_post`, keep: zero, add: zero }],
      });
      assert.ok(trace.cache.get('blocks.1.hook_resid_pre').data.every((v) => v === 0));
    } finally {
      await m.dispose();
    }
  });

  test('splicing a perfect reconstruction leaves the logits unchanged', async () => {
    const dir = identitySaeFolder(path.join(root, 'identity'), 48, 'blocks.0.hook_resid_post');
    const plain = await traceWith([]);
    const { trace } = await traceWith([{ dict: openDictionary(dir), mode: 'splice' }]);
    assert.ok(maxAbsDiff(trace.logits.data, plain.trace.logits.data) <= 1e-4);
  });

  test('splicing feeds the reconstruction downstream (also through the alias resid_pre)', async () => {
    const d = dict(1); // at blocks.0.hook_resid_post
    const plain = await traceWith([{ dict: d, mode: 'observe' }]);
    const { trace } = await traceWith([{ dict: d, mode: 'splice' }]);
    const recons = trace.cache.get('blocks.0.hook_resid_post.hook_sae_recons').data;
    assert.equal(maxAbsDiff(trace.cache.get('blocks.0.hook_resid_post.hook_sae_output').data, recons), 0);
    assert.equal(maxAbsDiff(trace.cache.get('blocks.1.hook_resid_pre').data, recons), 0);
    assert.equal(maxAbsDiff(trace.cache.get('blocks.0.hook_resid_post').data, plain.trace.cache.get('blocks.0.hook_resid_post').data), 0, 'the bare hook is the activation reaching the SAE');
    assert.ok(maxAbsDiff(trace.logits.data, plain.trace.logits.data) > 1e-3);
    // The same through a run's own splice list, on a model attached in observe mode.
    const again = await traceWith([{ dict: d, mode: 'observe' }], undefined, [d.hookIn]);
    assert.ok(maxAbsDiff(again.trace.logits.data, trace.logits.data) <= 1e-5);
  });

  test('a spliced transcoder replaces its output hook downstream', async () => {
    const d = dict(7);
    const { trace } = await traceWith([{ dict: d, mode: 'splice' }]);
    const pred = trace.cache.get(`${d.hookIn}.hook_sae_recons`).data;
    const mid = trace.cache.get('blocks.0.hook_resid_mid').data;
    const post = trace.cache.get('blocks.0.hook_resid_post').data;
    assert.ok(maxAbsDiff(post, mid.map((v, j) => v + pred[j])) <= 1e-5);
  });
});
