/**
 * Every dictionary format x architecture x normalisation: the reader plus the CPU encoder against the
 * independent PyTorch reference (test/reference/sae_reference.py), within 1e-4 on acts_pre, acts_post and
 * the reconstruction; the hooks each format derives; the user's override; and the mis-load check on a
 * TopK SAE read as ReLU.
 */
import { before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openDictionaries, openDictionary } from '../../src/engine/sae/open';
import { crossLayerReconstruct, encodeBatch } from '../../src/engine/sae/encode';
import { misloadSignals, reconstructionStats } from '../../src/engine/sae/checks';
import { isInMemory, type SparseDictionary } from '../../src/engine/sae/types';
import { maxAbsDiff } from '../helpers/reference';
import { readNpyDir, runReferenceJobs, tmpDir, writeInput } from '../helpers/sae-reference';

const ROWS = 12;
const TOL = 1e-4;

interface Case {
  name: string;
  format: string;
  make: string[];
  /** The fixture's folder below the case's own (Gemma Scope's place names its hook). */
  sub?: string;
  dIn?: number;
  layer?: number;
  expect?: (d: SparseDictionary) => void;
}

const saelensArchs = ['standard', 'jumprelu', 'topk', 'gated', 'batchtopk'];
const norms = ['none', 'constant_norm_rescale', 'layer_norm', 'expected_average_only_in'];

const CASES: Case[] = [
  ...saelensArchs.flatMap((arch) => norms.map((norm): Case => ({
    name: `saelens ${arch} ${norm}`, format: 'saelens', make: ['--architecture', arch, '--normalize', norm, '--k', '8', ...(norm === 'expected_average_only_in' ? ['--scaler', '1.7'] : [])],
    expect: (d) => {
      assert.equal(d.architecture, arch);
      assert.equal(d.normalization.kind, norm);
      assert.equal(d.activation.kind, { standard: 'relu', jumprelu: 'jumprelu', batchtopk: 'jumprelu', topk: 'topk', gated: 'gated' }[arch]);
    },
  }))),
  { name: 'saelens topk rescale_acts_by_decoder_norm', format: 'saelens', make: ['--architecture', 'topk', '--k', '5', '--rescale'], expect: (d) => assert.ok(d.rescaleActsByDecoderNorm) },
  // b_enc shifted down: fewer than k positive pre-activations, where relu'd and raw TopK values differ.
  { name: 'saelens topk few positive', format: 'saelens', make: ['--architecture', 'topk', '--k', '12', '--bias-shift', '-2.5'] },
  { name: 'sparsify few positive', format: 'sparsify', make: ['--k', '12', '--bias-shift', '-2.5'], sub: 'layers.2' },
  { name: 'circuit-tracer topk few positive', format: 'circuit-tracer', make: ['--activation', 'topk', '--k', '12', '--bias-shift', '-2.5'], layer: 0 },
  { name: 'saelens standard without b_dec subtraction', format: 'saelens', make: ['--apply-b-dec', '0'], expect: (d) => assert.equal(d.applyBDecToInput, false) },
  { name: 'saelens expected_average_only_in without a factor', format: 'saelens', make: ['--normalize', 'expected_average_only_in'], expect: (d) => assert.deepEqual(d.normalization, { kind: 'expected_average_only_in', scalingFactor: undefined }) },
  { name: 'saelens bf16 jumprelu', format: 'saelens', make: ['--architecture', 'jumprelu', '--dtype', 'BF16'] },
  { name: 'saelens hook_z', format: 'saelens', make: ['--hook', 'blocks.1.attn.hook_z', '--d-in', '24'], dIn: 24, expect: (d) => assert.equal(d.reshapeActivations, 'hook_z') },
  { name: 'saelens with sparsity', format: 'saelens', make: ['--sparsity'], expect: (d) => assert.deepEqual(d.sparsity?.shape, [64]) },
  ...['transcoder', 'skip_transcoder', 'jumprelu_transcoder', 'jumprelu_skip_transcoder'].map((arch): Case => ({
    name: `saelens ${arch}`, format: 'saelens', make: ['--architecture', arch, '--d-out', '12'],
    expect: (d) => {
      assert.equal(d.kind, arch.includes('skip') ? 'skip_transcoder' : 'transcoder');
      assert.equal(d.dOut, 12);
      assert.equal(d.hookOut, 'blocks.1.hook_mlp_out');
      assert.equal(d.applyBDecToInput, false);
    },
  })),
  ...['standard', 'topk'].flatMap((arch) => ['none', 'expected_average_only_in'].map((norm): Case => ({
    name: `saelens pre-6 ${arch} ${norm}`, format: 'saelens', make: ['--cfg-version', 'pre6', '--architecture', arch, '--normalize', norm, '--k', '6'],
    expect: (d) => {
      assert.equal(d.architecture, arch);
      assert.equal(d.hookIn, 'blocks.1.hook_resid_pre');
      assert.equal(d.normalization.kind, norm);
    },
  }))),
  {
    name: 'gemma-scope res (savez)', format: 'gemma-scope', make: [], sub: 'gemma-scope-2b-pt-res/layer_2/width_16k/average_l0_71',
    expect: (d) => {
      assert.equal(d.hookIn, 'blocks.2.hook_resid_post');
      assert.equal(d.hookSource, 'folder');
      assert.ok(isInMemory(d.source, d.encoder.w));
      assert.deepEqual(d.activation.kind === 'jumprelu' && d.activation.semantics, 'saelens');
    },
  },
  { name: 'gemma-scope mlp (savez_compressed)', format: 'gemma-scope', make: ['--compressed'], sub: 'gemma-scope-9b-pt-mlp/layer_7/width_16k/average_l0_20', expect: (d) => assert.equal(d.hookIn, 'blocks.7.hook_mlp_out') },
  {
    name: 'gemma-scope att', format: 'gemma-scope', make: ['--d-in', '32'], dIn: 32, sub: 'gemma-scope-2b-pt-att/layer_0/width_16k/average_l0_10',
    expect: (d) => {
      assert.equal(d.hookIn, 'blocks.0.attn.hook_z');
      assert.equal(d.reshapeActivations, 'hook_z');
    },
  },
  {
    name: 'gemma-scope transcoders', format: 'gemma-scope', make: ['--compressed', '--lower-case'], sub: 'gemma-scope-2b-pt-transcoders/layer_4/width_16k/average_l0_76',
    expect: (d) => {
      assert.equal(d.kind, 'transcoder');
      assert.equal(d.hookIn, 'blocks.4.ln2.hook_normalized');
      assert.equal(d.hookOut, 'blocks.4.hook_mlp_out');
    },
  },
  { name: 'gemma-scope-2 resid_post', format: 'gemma-scope-2', make: [], sub: 'resid_post/layer_3_width_16k_l0_small', expect: (d) => assert.equal(d.hookIn, 'blocks.3.hook_resid_post') },
  {
    name: 'gemma-scope-2 transcoder', format: 'gemma-scope-2', make: ['--type', 'transcoder', '--d-out', '12'],
    expect: (d) => {
      assert.equal(d.kind, 'transcoder');
      assert.equal(d.hookIn, 'blocks.3.ln2.hook_normalized');
      assert.equal(d.hookOut, 'blocks.3.hook_mlp_out');
    },
  },
  { name: 'gemma-scope-2 affine transcoder', format: 'gemma-scope-2', make: ['--type', 'transcoder', '--affine'], expect: (d) => assert.equal(d.kind, 'skip_transcoder') },
  {
    name: 'gemma-scope-2 attn_out', format: 'gemma-scope-2', make: ['--hf-in', 'model.layers.5.self_attn.o_proj.input'],
    expect: (d) => {
      assert.equal(d.hookIn, 'blocks.5.attn.hook_z');
      assert.equal(d.reshapeActivations, 'hook_z');
    },
  },
  { name: 'gemma-scope-2 mlp_out', format: 'gemma-scope-2', make: ['--hf-in', 'model.layers.5.post_feedforward_layernorm.output'], expect: (d) => assert.equal(d.hookIn, 'blocks.5.hook_mlp_out') },
  {
    name: 'llama-scope dataset-wise', format: 'llama-scope', make: ['--apply-b-dec', '0'],
    expect: (d) => {
      assert.deepEqual(d.normalization, { kind: 'dataset_wise', normIn: 3.5, normOut: 2.25 });
      assert.equal(d.encoder.layout, 'out-in');
      assert.equal(d.decoder.layout, 'out-in');
      assert.equal(d.hookIn, 'blocks.2.hook_resid_post');
    },
  },
  { name: 'llama-scope with decoder bias on input', format: 'llama-scope', make: ['--apply-b-dec', '1'], expect: (d) => assert.ok(d.applyBDecToInput) },
  {
    name: 'sparsify resid', format: 'sparsify', make: ['--k', '7'], sub: 'layers.3',
    expect: (d) => {
      assert.equal(d.hookIn, 'blocks.3.hook_resid_post');
      assert.deepEqual(d.activation, { kind: 'topk', k: 7, semantics: 'saelens' });
    },
  },
  { name: 'sparsify mlp', format: 'sparsify', make: ['--k', '4'], sub: 'layers.0.mlp', expect: (d) => assert.equal(d.hookIn, 'blocks.0.hook_mlp_out') },
  {
    name: 'sparsify skip transcoder', format: 'sparsify', make: ['--k', '5', '--transcode', '--skip'], sub: 'layers.1.mlp',
    expect: (d) => {
      assert.equal(d.kind, 'skip_transcoder');
      assert.equal(d.hookIn, 'blocks.1.ln2.hook_normalized');
      assert.equal(d.hookOut, 'blocks.1.hook_mlp_out');
      assert.equal(d.applyBDecToInput, false);
    },
  },
  ...['relu', 'jumprelu', 'topk'].map((act): Case => ({
    name: `circuit-tracer ${act}`, format: 'circuit-tracer', make: ['--activation', act, '--k', '6', '--skip'], layer: 1,
    expect: (d) => {
      assert.equal(d.hookIn, 'blocks.1.ln2.hook_normalized');
      assert.equal(d.hookOut, 'blocks.1.hook_mlp_out');
      assert.equal(d.encoder.layout, 'out-in');
      if (d.activation.kind === 'jumprelu' || d.activation.kind === 'topk') assert.equal(d.activation.semantics, 'circuit-tracer');
    },
  })),
];

const root = tmpDir('sae-formats');
const dirOf = (c: Case) => path.join(root, c.name.replace(/[^\w-]+/g, '_'), c.sub ?? 'sae');
const inputs = new Map<string, Float32Array>();

before(() => {
  const jobs: string[][] = [];
  CASES.forEach((c, i) => {
    const dir = dirOf(c);
    fs.mkdirSync(dir, { recursive: true });
    jobs.push(['make-random', '--format', c.format, '--out', dir, '--seed', String(10 + i), ...c.make]);
    const x = path.join(dir, '..', 'x.npy');
    inputs.set(c.name, writeInput(x, [ROWS, c.dIn ?? 16], 100 + i));
    jobs.push(['encode', '--format', c.format, '--dir', dir, '--input', x, '--out', path.join(dir, '..', 'ref'), '--layer', String(c.layer ?? 0)]);
  });
  runReferenceJobs(jobs);
});

describe('every format matches the reference', () => {
  for (const c of CASES) {
    test(c.name, () => {
      const d = openDictionary(dirOf(c), { layer: c.layer });
      assert.equal(d.format, c.format);
      c.expect?.(d);
      const ref = readNpyDir(path.join(dirOf(c), '..', 'ref'));
      const got = encodeBatch(d, inputs.get(c.name)!, ROWS);
      for (const [key, ours] of [['acts_pre', got.actsPre], ['acts_post', got.actsPost], ['recons', got.recons]] as const) {
        const diff = maxAbsDiff(ours, ref.get(key)!.data);
        assert.ok(diff <= TOL, `${c.name}: ${key} differs from the reference by ${diff}`);
      }
    });
  }
});

test('circuit-tracer cross-layer transcoder: every layer\'s features and outputs match the reference', () => {
  const dir = path.join(root, 'clt', 'sae');
  fs.mkdirSync(dir, { recursive: true });
  const layers = 3;
  const x = path.join(root, 'clt', 'x.npy');
  const data = writeInput(x, [layers, ROWS, 16], 7);
  runReferenceJobs([
    ['make-random', '--format', 'circuit-tracer-clt', '--out', dir, '--layers', String(layers), '--activation', 'jumprelu', '--seed', '3'],
    ['encode', '--format', 'circuit-tracer-clt', '--dir', dir, '--input', x, '--out', path.join(root, 'clt', 'ref')],
  ]);
  const ref = readNpyDir(path.join(root, 'clt', 'ref'));
  const dicts = openDictionaries(dir);
  assert.equal(dicts.length, layers);
  assert.deepEqual(dicts[1].crossLayer?.hooksOut, ['blocks.1.hook_mlp_out', 'blocks.2.hook_mlp_out']);
  assert.equal(dicts[0].format, 'circuit-tracer-clt');
  const perLayer = Array.from({ length: layers }, (_, i) => data.subarray(i * ROWS * 16, (i + 1) * ROWS * 16));
  dicts.forEach((d, i) => {
    const r = encodeBatch(d, perLayer[i], ROWS);
    assert.ok(maxAbsDiff(r.actsPost, ref.get(`acts_post_${i}`)!.data) <= TOL, `layer ${i} acts`);
  });
  crossLayerReconstruct(dicts, perLayer, ROWS).forEach((y, j) => {
    const diff = maxAbsDiff(y, ref.get(`recons_${j}`)!.data);
    assert.ok(diff <= TOL, `layer ${j} output differs by ${diff}`);
  });
  assert.equal(openDictionary(dir, { hook: 'blocks.2.ln2.hook_normalized' }).layer, 2);
});

test('circuit-tracer listing Gemma Scope npz files by hf:// reference: read from the cache with circuit-tracer\'s semantics', () => {
  const base = path.join(root, 'ct-npz');
  const dir = path.join(base, 'sae');
  const cache = path.join(base, 'hub');
  fs.mkdirSync(dir, { recursive: true });
  const x = path.join(base, 'x.npy');
  const data = writeInput(x, [ROWS, 16], 21);
  runReferenceJobs([
    ['make-random', '--format', 'circuit-tracer', '--out', dir, '--layers', '2', '--activation', 'jumprelu', '--npz-cache', cache, '--seed', '5'],
    ['encode', '--format', 'circuit-tracer', '--dir', dir, '--input', x, '--out', path.join(base, 'ref'), '--layer', '1', '--hub-cache', cache],
  ]);
  const d = openDictionary(dir, { layer: 1, hubCacheDirs: [cache] });
  assert.equal(d.format, 'circuit-tracer');
  assert.equal(d.encoder.layout, 'in-out', 'Gemma Scope stores W_enc [d_model, d_transcoder]');
  assert.ok(d.activation.kind === 'jumprelu' && d.activation.semantics === 'circuit-tracer');
  assert.ok(isInMemory(d.source, d.decoder.w));
  const ref = readNpyDir(path.join(base, 'ref'));
  const got = encodeBatch(d, data, ROWS);
  assert.ok(maxAbsDiff(got.actsPost, ref.get('acts_post')!.data) <= TOL);
  assert.ok(maxAbsDiff(got.recons, ref.get('recons')!.data) <= TOL);
  assert.throws(() => openDictionary(dir, { layer: 1, hubCacheDirs: [path.join(base, 'empty')] }), (e: Error & { code?: string }) => e.code === 'NOT_FOUND' && /huggingface-cli download/.test(e.message));
});

describe('hooks', () => {
  test('the user\'s hook overrides the config\'s and is recorded as such', () => {
    const c = CASES[0];
    const d = openDictionary(dirOf(c), { hook: 'blocks.4.hook_resid_post' });
    assert.equal(d.hookIn, 'blocks.4.hook_resid_post');
    assert.equal(d.hookSource, 'user');
  });

  test('a per-layer set without a layer or hook says how to pick one', () => {
    const c = CASES.find((x) => x.format === 'circuit-tracer')!;
    assert.throws(() => openDictionary(dirOf(c)), (e: Error) => /per-layer dictionaries/.test(e.message) && /blocks\.0\.ln2\.hook_normalized/.test(e.message));
    assert.equal(openDictionary(dirOf(c), { hook: 'blocks.1.ln2.hook_normalized' }).layer, 1);
  });

  test('a hook the model lacks is an error naming the closest', () => {
    const c = CASES[0];
    const modelHooks = ['blocks.0.hook_resid_pre', 'blocks.1.hook_resid_pre', 'blocks.1.hook_resid_post'];
    assert.ok(openDictionary(dirOf(c), { modelHooks }));
    assert.throws(() => openDictionary(dirOf(c), { modelHooks, hook: 'blocks.1.hook_resid_pr' }), (e: Error & { code?: string }) => e.code === 'UNKNOWN_HOOK' && /Closest: blocks\.1\.hook_resid_pre/.test(e.message));
  });

  test('a d_in that does not match the hook\'s width is an error', () => {
    const c = CASES[0];
    const hp = (name: string, width: number) => ({ name, shape: ['batch' as const, 'pos' as const, width], output: name, needsAttnResult: false });
    assert.throws(() => openDictionary(dirOf(c), { modelHooks: [hp('blocks.1.hook_resid_pre', 32)] }), (e: Error & { code?: string; field?: string }) => e.code === 'BAD_INPUT' && e.field === 'blocks.1.hook_resid_pre' && /16 values per token/.test(e.message));
    const z = CASES.find((x) => x.name === 'saelens hook_z')!;
    const hookZ = { name: 'blocks.1.attn.hook_z', shape: ['batch' as const, 'pos' as const, 4, 6], output: 'z', needsAttnResult: false };
    assert.ok(openDictionary(dirOf(z), { modelHooks: [hookZ] }), 'hook_z: d_in = heads x d_head');
  });

  test('a Gemma Scope file outside its repository needs a hook, and takes one', () => {
    const c = CASES.find((x) => x.format === 'gemma-scope')!;
    const loose = path.join(root, 'loose-npz');
    fs.mkdirSync(loose, { recursive: true });
    fs.copyFileSync(path.join(dirOf(c), 'params.npz'), path.join(loose, 'params.npz'));
    assert.throws(() => openDictionary(loose), (e: Error & { code?: string }) => e.code === 'BAD_INPUT' && /DIR@HOOK/.test(e.message));
    const d = openDictionary(loose, { hook: 'blocks.9.hook_resid_post' });
    assert.equal(d.hookSource, 'user');
  });

  test('ORG/NAME/SUBFOLDER from the Hugging Face cache, snapshot files linked into blobs/', () => {
    const cache = path.join(root, 'hub');
    const repo = path.join(cache, 'models--google--gemma-scope-2b-pt-res');
    const sub = 'layer_2/width_16k/average_l0_71';
    const snap = path.join(repo, 'snapshots', 'abc123', sub);
    fs.mkdirSync(snap, { recursive: true });
    fs.mkdirSync(path.join(repo, 'blobs'), { recursive: true });
    fs.mkdirSync(path.join(repo, 'refs'), { recursive: true });
    fs.writeFileSync(path.join(repo, 'refs', 'main'), 'abc123');
    const src = CASES.find((x) => x.format === 'gemma-scope')!;
    fs.copyFileSync(path.join(dirOf(src), 'params.npz'), path.join(repo, 'blobs', 'deadbeef'));
    fs.symlinkSync(path.join(repo, 'blobs', 'deadbeef'), path.join(snap, 'params.npz'));
    const d = openDictionary(`google/gemma-scope-2b-pt-res/${sub}`, { hubCacheDirs: [cache], baseDir: root });
    assert.equal(d.hookIn, 'blocks.2.hook_resid_post');
    assert.equal(d.format, 'gemma-scope');

    // A safetensors format in the cache: the tensors' folder is the real one (blobs/), as external data needs.
    const st = CASES[0];
    const repo2 = path.join(cache, 'models--jbloom--test-saes');
    const snap2 = path.join(repo2, 'snapshots', 'r1', 'blocks.1.hook_resid_pre');
    fs.mkdirSync(snap2, { recursive: true });
    fs.mkdirSync(path.join(repo2, 'blobs'), { recursive: true });
    for (const f of ['cfg.json', 'sae_weights.safetensors']) {
      fs.copyFileSync(path.join(dirOf(st), f), path.join(repo2, 'blobs', f + '.blob'));
      fs.symlinkSync(path.join(repo2, 'blobs', f + '.blob'), path.join(snap2, f));
    }
    const d2 = openDictionary('jbloom/test-saes/blocks.1.hook_resid_pre', { hubCacheDirs: [cache], baseDir: root });
    assert.equal(d2.source.weights.dataDir, fs.realpathSync(path.join(repo2, 'blobs')));
    assert.equal(d2.encoder.w.location, 'sae_weights.safetensors.blob');
    const ours = encodeBatch(d2, inputs.get(st.name)!, ROWS);
    assert.ok(maxAbsDiff(ours.recons, readNpyDir(path.join(dirOf(st), '..', 'ref')).get('recons')!.data) <= TOL);
  });
});

test('a TopK SAE read as ReLU is flagged by the mis-load check; read correctly it is not', () => {
  const good = CASES.find((c) => c.name === 'saelens topk none')!;
  const bad = path.join(root, 'topk-as-relu');
  fs.mkdirSync(bad, { recursive: true });
  const cfg = JSON.parse(fs.readFileSync(path.join(dirOf(good), 'cfg.json'), 'utf8'));
  fs.writeFileSync(path.join(bad, 'cfg.json'), JSON.stringify({ ...cfg, architecture: 'standard' }));
  fs.copyFileSync(path.join(dirOf(good), 'sae_weights.safetensors'), path.join(bad, 'sae_weights.safetensors'));
  const x = inputs.get(good.name)!;
  const right = openDictionary(dirOf(good));
  const wrong = openDictionary(bad);
  const statsOf = (d: SparseDictionary) => {
    const r = encodeBatch(d, x, ROWS);
    return reconstructionStats(x, r.recons, r.actsPost, ROWS, d.dOut, d.dSae);
  };
  const k = 8;
  const rightStats = statsOf(right);
  const wrongStats = statsOf(wrong);
  assert.ok(rightStats.l0 <= k);
  assert.ok(wrongStats.l0 > 3 * k, `ReLU L0 ${wrongStats.l0} should be far above k = ${k}`);
  const published = { l0: k };
  const wrongWarnings = misloadSignals(wrongStats, wrong, published);
  assert.ok(wrongWarnings.some((w) => w.metric === 'expected_l0' && w.likelyCause === 'architecture'), JSON.stringify(wrongWarnings));
  const rightWarnings = misloadSignals(rightStats, right, published);
  assert.ok(!rightWarnings.some((w) => w.likelyCause === 'architecture'), JSON.stringify(rightWarnings));
  // The same activations judged against the TopK dictionary: L0 above k.
  assert.ok(misloadSignals(wrongStats, right).some((w) => w.metric === 'topk_l0'));
});
