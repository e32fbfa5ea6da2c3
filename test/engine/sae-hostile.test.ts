/**
 * Hostile and broken dictionary folders: every one ends in an EngineError that names the file and the
 * field at fault (a d_in that does not match, missing or misshapen tensors, unknown architectures,
 * non-float or oversized npz members, decompression bombs, oversized or deeply nested configs, pickles),
 * and part of a cross-layer transcoder attached.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { zipSync } from 'fflate';
import { openAttachable, openDictionary } from '../../src/engine/sae/open';
import { withSaeHooks } from '../../src/engine/sae/attach';
import { chooseModelProcessing } from '../../src/engine/sae/model-processing';
import type { HookPoint } from '../../src/engine/hooks';
import { EngineError } from '../../src/engine/errors';
import { tmpDir } from '../helpers/reference';
import { f32Tensor, gemmaScopeNpz, npyBytes, saeLensFolder } from '../helpers/sae-fixtures';
import { writeSafetensors } from '../helpers/safetensors-writer';

const root = tmpDir('sae-hostile');
let n = 0;
const fresh = (name: string) => path.join(root, `${n++}`, name);

function rejects(fn: () => unknown, code: string, want: { file?: RegExp; field?: string; message?: RegExp } = {}): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof EngineError, `expected an EngineError, got ${e}`);
    assert.equal(e.code, code, e.message);
    if (want.file) assert.match(e.file ?? '', want.file, e.message);
    if (want.field !== undefined) assert.equal(e.field, want.field, e.message);
    if (want.message) assert.match(e.message, want.message);
    return true;
  });
}

test('SAELens: a d_in that does not match the weights names the tensor and the expected size', () => {
  const dir = saeLensFolder(fresh('sae'), { cfg: { d_in: 6 } });
  rejects(() => openDictionary(dir), 'BAD_WEIGHTS', { file: /sae_weights\.safetensors$/, field: 'W_enc', message: /\[4, 8\].*d_in=6/ });
});

test('SAELens: missing, misshapen and non-float tensors', () => {
  rejects(() => openDictionary(saeLensFolder(fresh('sae'), { tensors: { b_enc: undefined } })), 'BAD_WEIGHTS', { field: 'b_enc', message: /missing.*Tensors present: W_enc/ });
  rejects(() => openDictionary(saeLensFolder(fresh('sae'), { tensors: { W_dec: f32Tensor([8, 5]) } })), 'BAD_WEIGHTS', { field: 'W_dec', message: /\[8, 5\]/ });
  rejects(() => openDictionary(saeLensFolder(fresh('sae'), { tensors: { b_dec: f32Tensor([4, 1]) } })), 'BAD_WEIGHTS', { field: 'b_dec' });
  const ints = { dtype: 'I32', shape: [8], bytes: new Uint8Array(32) };
  rejects(() => openDictionary(saeLensFolder(fresh('sae'), { tensors: { b_enc: ints } })), 'BAD_WEIGHTS', { field: 'b_enc', message: /I32 is not a float type/ });
  const scaled = saeLensFolder(fresh('sae'), { tensors: { scaling_factor: f32Tensor([8], () => 2) } });
  rejects(() => openDictionary(scaled), 'UNSUPPORTED', { field: 'scaling_factor' });
});

test('SAELens: unknown architectures, dropped thresholds and impossible settings', () => {
  rejects(() => openDictionary(saeLensFolder(fresh('sae'), { cfg: { architecture: 'mystery' } })), 'UNSUPPORTED', { file: /cfg\.json$/, field: 'architecture', message: /Known: standard/ });
  rejects(() => openDictionary(saeLensFolder(fresh('sae'), { cfg: { architecture: 'jumprelu' } })), 'BAD_WEIGHTS', { field: 'threshold', message: /ReLU/ });
  rejects(() => openDictionary(saeLensFolder(fresh('sae'), { cfg: { architecture: 'batchtopk' } })), 'BAD_WEIGHTS', { field: 'threshold' });
  rejects(() => openDictionary(saeLensFolder(fresh('sae'), { cfg: { architecture: 'topk', k: 9 } })), 'BAD_CONFIG', { field: 'k' });
  rejects(() => openDictionary(saeLensFolder(fresh('sae'), { cfg: { normalize_activations: 'whiten' } })), 'UNSUPPORTED', { field: 'normalize_activations' });
  rejects(() => openDictionary(saeLensFolder(fresh('sae'), { cfg: { d_in: '4' } })), 'BAD_CONFIG', { field: 'd_in' });
  rejects(() => openDictionary(saeLensFolder(fresh('sae'), { cfg: { metadata: { hook_name: 'blocks.0.attn.hook_z', hook_head_index: 3 } } })), 'UNSUPPORTED', { field: 'hook_head_index' });
  const transcoder = saeLensFolder(fresh('sae'), { cfg: { architecture: 'transcoder', d_out: 4, apply_b_dec_to_input: true, metadata: { hook_name: 'blocks.0.ln2.hook_normalized', hook_name_out: 'blocks.0.hook_mlp_out' } } });
  rejects(() => openDictionary(transcoder), 'BAD_CONFIG', { field: 'apply_b_dec_to_input' });
  rejects(() => openDictionary(saeLensFolder(fresh('sae'), { cfg: { metadata: {} } })), 'BAD_INPUT', { message: /DIR@HOOK/ });
});

test('configs: size is bounded before parsing, nesting after', () => {
  const big = saeLensFolder(fresh('sae'));
  fs.writeFileSync(path.join(big, 'cfg.json'), JSON.stringify({ d_in: 4, pad: 'x'.repeat(2 * 1024 * 1024) }));
  rejects(() => openDictionary(big), 'BAD_CONFIG', { file: /cfg\.json$/, message: /bytes, more than/ });
  const deep = saeLensFolder(fresh('sae'));
  fs.writeFileSync(path.join(deep, 'cfg.json'), '{"d_in": 4, "x": ' + '['.repeat(5000) + ']'.repeat(5000) + '}');
  rejects(() => openDictionary(deep), 'BAD_CONFIG', { message: /nested deeper/ });
  const notJson = saeLensFolder(fresh('sae'));
  fs.writeFileSync(path.join(notJson, 'cfg.json'), '{"d_in": 4,');
  rejects(() => openDictionary(notJson), 'BAD_CONFIG', { message: /not valid JSON/ });
});

test('circuit-tracer config.yaml: alias bombs, code tags and missing fields', () => {
  const yamlDir = (text: string) => {
    const dir = fresh('ct');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'config.yaml'), text);
    return dir;
  };
  const laughs = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 9; i++) laughs.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill('*' + String.fromCharCode(96 + i)).join(',')}]`);
  rejects(() => openDictionary(yamlDir(laughs.join('\n') + '\n')), 'BAD_CONFIG', { file: /config\.yaml$/ });
  rejects(() => openDictionary(yamlDir('model_kind: !!js/function "function(){}"\n')), 'BAD_CONFIG', { message: /not valid YAML/ });
  rejects(() => openDictionary(yamlDir('model_kind: transcoder_set\nfeature_output_hook: hook_mlp_out\n')), 'BAD_CONFIG', { field: 'feature_input_hook' });
  rejects(() => openDictionary(yamlDir('model_kind: something\nfeature_input_hook: a\nfeature_output_hook: b\n')), 'UNSUPPORTED', { field: 'model_kind' });
  const gap = yamlDir('model_kind: transcoder_set\nfeature_input_hook: ln2.hook_normalized\nfeature_output_hook: hook_mlp_out\n');
  const plt = { W_enc: f32Tensor([8, 4]), W_dec: f32Tensor([8, 4]), b_enc: f32Tensor([8]), b_dec: f32Tensor([4]) };
  writeSafetensors(path.join(gap, 'layer_0.safetensors'), plt);
  writeSafetensors(path.join(gap, 'layer_2.safetensors'), plt);
  rejects(() => openDictionary(gap, { layer: 0 }), 'BAD_WEIGHTS', { message: /layer_ 1 is missing/ });
  const clt = yamlDir('model_kind: cross_layer_transcoder\nfeature_input_hook: ln2.hook_normalized\nfeature_output_hook: hook_mlp_out\n');
  for (let i = 0; i < 2; i++) {
    writeSafetensors(path.join(clt, `W_enc_${i}.safetensors`), { [`W_enc_${i}`]: f32Tensor([8, 4]), [`b_enc_${i}`]: f32Tensor([8]), [`b_dec_${i}`]: f32Tensor([4]) });
    writeSafetensors(path.join(clt, `W_dec_${i}.safetensors`), { [`W_dec_${i}`]: f32Tensor([8, 2, 4]) }); // layer 1 writes to one layer, not two
  }
  rejects(() => openDictionary(clt, { layer: 0 }), 'BAD_WEIGHTS', { field: 'W_dec_1', message: /n_layers - layer=1/ });
});

test('npz: non-float members, bombs, oversized shapes and broken archives', () => {
  const gs = (members: Record<string, Uint8Array>, stored = false) => {
    const dir = fresh('gemma-scope-2b-pt-res/layer_1/width_16k/average_l0_9');
    gemmaScopeNpz(path.join(dir, 'params.npz'), members, stored);
    return dir;
  };
  assert.equal(openDictionary(gs({})).hookIn, 'blocks.1.hook_resid_post');
  assert.equal(openDictionary(gs({}, true)).dIn, 4, 'stored (savez) members');
  rejects(() => openDictionary(gs({ threshold: npyBytes('<i8', [8], new Uint8Array(64)) })), 'BAD_WEIGHTS', { file: /params\.npz$/, field: 'threshold', message: /<i8, not a little-endian float array/ });
  rejects(() => openDictionary(gs({ b_enc: npyBytes('|O', [8], new Uint8Array(8)) })), 'BAD_WEIGHTS', { field: 'b_enc' });
  rejects(() => openDictionary(gs({ b_enc: npyBytes('>f4', [8], new Uint8Array(32)) })), 'BAD_WEIGHTS', { field: 'b_enc' });
  rejects(() => openDictionary(gs({ W_enc: npyBytes('<f4', [4, 8], new Uint8Array(128), true) })), 'UNSUPPORTED', { field: 'W_enc', message: /Fortran/ });
  // A bomb: a header declaring 8 floats over 64 MB of zeros that deflate to almost nothing.
  rejects(() => openDictionary(gs({ b_enc: npyBytes('<f4', [8], new Uint8Array(64 * 1024 * 1024)) })), 'BAD_WEIGHTS', { field: 'b_enc', message: /more bytes than its shape/ });
  rejects(() => openDictionary(gs({ W_dec: npyBytes('<f4', [1000000, 1000000], new Uint8Array(16)) })), 'OVER_LIMIT', { field: 'W_dec' });
  rejects(() => openDictionary(gs({ W_dec: npyBytes('<f4', [8, 4], new Uint8Array(100)) })), 'BAD_WEIGHTS', { field: 'W_dec', message: /truncated/ });
  rejects(() => openDictionary(gs({ W_dec: npyBytes('<f4', [8, 3], f32Tensor([8, 3]).bytes) })), 'BAD_WEIGHTS', { field: 'W_dec', message: /\[8, 3\]/ });
  rejects(() => openDictionary(gs({ W_dec: Buffer.from('not an array at all') })), 'BAD_WEIGHTS', { field: 'W_dec' });
  const flipped = gs({}, true);
  const stored = fs.readFileSync(path.join(flipped, 'params.npz'));
  stored[stored.indexOf('NUMPY') - 1 + 128 + 5] ^= 0x40; // a byte of W_enc's data, past its .npy header
  fs.writeFileSync(path.join(flipped, 'params.npz'), stored);
  rejects(() => openDictionary(flipped), 'BAD_WEIGHTS', { message: /CRC/ });
  const small = gs({});
  rejects(() => openDictionary(small, { maxInMemoryBytes: 64 }), 'OVER_LIMIT');
  const notZip = fresh('gemma-scope-2b-pt-res/layer_1/width_16k/x');
  fs.mkdirSync(notZip, { recursive: true });
  fs.writeFileSync(path.join(notZip, 'params.npz'), Buffer.alloc(100, 7));
  rejects(() => openDictionary(notZip), 'BAD_WEIGHTS', { message: /not a zip/ });
  const cut = gs({});
  const bytes = fs.readFileSync(path.join(cut, 'params.npz'));
  fs.writeFileSync(path.join(cut, 'params.npz'), bytes.subarray(0, bytes.length - 40));
  rejects(() => openDictionary(cut), 'BAD_WEIGHTS');
});

test('Llama Scope, sparsify and Gemma Scope 2: the fields each needs', () => {
  const llama = fresh('llama');
  fs.mkdirSync(path.join(llama, 'checkpoints'), { recursive: true });
  writeSafetensors(path.join(llama, 'checkpoints', 'final.safetensors'), { 'encoder.weight': f32Tensor([8, 4]), 'encoder.bias': f32Tensor([8]), 'decoder.weight': f32Tensor([4, 8]), 'decoder.bias': f32Tensor([4]) });
  fs.writeFileSync(path.join(llama, 'hyperparams.json'), JSON.stringify({ d_model: 4, d_sae: 8, hook_point_in: 'blocks.0.hook_resid_post', act_fn: 'jumprelu', jump_relu_threshold: 0.1, norm_activation: 'dataset-wise' }));
  rejects(() => openDictionary(llama), 'BAD_CONFIG', { field: 'dataset_average_activation_norm' });
  fs.writeFileSync(path.join(llama, 'hyperparams.json'), JSON.stringify({ d_model: 4, d_sae: 8, hook_point_in: 'blocks.0.hook_resid_post', act_fn: 'jumprelu', norm_activation: 'none' }));
  rejects(() => openDictionary(llama), 'BAD_CONFIG', { field: 'jump_relu_threshold' });

  const sp = fresh('layers.2');
  fs.mkdirSync(sp, { recursive: true });
  writeSafetensors(path.join(sp, 'sae.safetensors'), { 'encoder.weight': f32Tensor([8, 4]), 'encoder.bias': f32Tensor([8]), W_dec: f32Tensor([8, 4]), b_dec: f32Tensor([4]) });
  fs.writeFileSync(path.join(sp, 'cfg.json'), JSON.stringify({ d_in: 4, num_latents: 8 }));
  rejects(() => openDictionary(sp), 'BAD_CONFIG', { field: 'k' });
  fs.writeFileSync(path.join(sp, 'cfg.json'), JSON.stringify({ d_in: 4, num_latents: 8, k: 2 }));
  assert.equal(openDictionary(sp).hookIn, 'blocks.2.hook_resid_post');

  const g2 = fresh('gs2');
  fs.mkdirSync(g2, { recursive: true });
  writeSafetensors(path.join(g2, 'params.safetensors'), { w_enc: f32Tensor([4, 8]), w_dec: f32Tensor([8, 4]), b_enc: f32Tensor([8]), b_dec: f32Tensor([4]), threshold: f32Tensor([8]) });
  fs.writeFileSync(path.join(g2, 'config.json'), JSON.stringify({ architecture: 'jump_relu', type: 'sae', hf_hook_point_in: 'model.vision_tower.blocks.3' }));
  rejects(() => openDictionary(g2), 'BAD_INPUT', { message: /model\.vision_tower\.blocks\.3.*DIR@HOOK/ });
  assert.equal(openDictionary(g2, { hook: 'blocks.3.hook_resid_post' }).hookSource, 'user');
  fs.writeFileSync(path.join(g2, 'config.json'), JSON.stringify({ architecture: 'topk', hf_hook_point_in: 'model.layers.1.output' }));
  rejects(() => openDictionary(g2), 'UNSUPPORTED', { field: 'architecture' });
  fs.writeFileSync(path.join(g2, 'config.json'), JSON.stringify({ type: 'crosscoder', hf_hook_point_in: 'model.layers.1.output' }));
  rejects(() => openDictionary(g2), 'UNSUPPORTED', { field: 'type' });
});

test('pickles are refused with BAD_INPUT, naming the safetensors re-upload where one exists', () => {
  const only = fresh('trainer_0');
  fs.mkdirSync(only, { recursive: true });
  fs.writeFileSync(path.join(only, 'ae.pt'), Buffer.from([0x80, 0x04, 0x95, 0x00]));
  fs.writeFileSync(path.join(only, 'config.json'), '{}');
  rejects(() => openDictionary(only), 'BAD_INPUT', { file: /ae\.pt$/, message: /pickle.*runs code/ });
  const oai = fresh('resid_post_mlp_v5_32k/autoencoders');
  fs.mkdirSync(oai, { recursive: true });
  fs.writeFileSync(path.join(oai, '3.pt'), Buffer.from([0x80, 0x02]));
  rejects(() => openDictionary(path.join(oai, '3.pt')), 'BAD_INPUT', { message: /jbloom\/GPT2-Small-OAI-v5-32k-resid-post-SAEs/ });
  const zipped = fresh('zipped');
  fs.mkdirSync(zipped, { recursive: true });
  fs.writeFileSync(path.join(zipped, 'weights'), zipSync({ 'archive/data.pkl': new Uint8Array([0x80, 2]), 'archive/data/0': new Uint8Array(8) }));
  rejects(() => openDictionary(zipped), 'BAD_INPUT', { file: /weights$/, message: /pickle/ });
  const bin = fresh('bin');
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(path.join(bin, 'pytorch_model.bin'), Buffer.alloc(10));
  rejects(() => openDictionary(bin), 'BAD_INPUT', { message: /pickle/ });
});

test('folders with no dictionary, or several', () => {
  const empty = fresh('empty');
  fs.mkdirSync(empty, { recursive: true });
  rejects(() => openDictionary(empty), 'NOT_FOUND', { message: /Expected one of: cfg\.json/ });
  rejects(() => openDictionary(path.join(root, 'no-such-folder')), 'NOT_FOUND');
  const release = fresh('release');
  saeLensFolder(path.join(release, 'blocks.0.hook_resid_pre'));
  saeLensFolder(path.join(release, 'blocks.1.hook_resid_pre'));
  rejects(() => openDictionary(release), 'BAD_INPUT', { message: /2 dictionaries in subfolders.*blocks\.0\.hook_resid_pre/ });
});

/** Hook points of a two-layer model with d_model 16 and d_mlp 64. */
const modelHooks: HookPoint[] = [0, 1].flatMap((l) => [
  { name: `blocks.${l}.hook_resid_pre`, shape: ['batch', 'pos', 16], output: `blocks.${l}.hook_resid_pre`, needsAttnResult: false },
  { name: `blocks.${l}.hook_resid_post`, shape: ['batch', 'pos', 16], output: `blocks.${l}.hook_resid_post`, needsAttnResult: false },
  { name: `blocks.${l}.mlp.hook_post`, shape: ['batch', 'pos', 64], output: `blocks.${l}.mlp.hook_post`, needsAttnResult: false },
]);

test('against the model: a hook it lacks, and a d_in that does not match the hook', () => {
  const wide = (name: string, hook: string) => saeLensFolder(fresh(name), {
    cfg: { d_in: 16, d_sae: 8, metadata: { hook_name: hook } },
    tensors: { W_enc: f32Tensor([16, 8]), W_dec: f32Tensor([8, 16]), b_dec: f32Tensor([16]) },
  });
  rejects(() => openDictionary(wide('lacks', 'blocks.7.hook_resid_post'), { modelHooks }), 'UNKNOWN_HOOK',
    { file: /lacks$/, field: 'blocks.7.hook_resid_post', message: /not a hook point of this model\. Closest: blocks\.\d\.hook_resid_post\. Name the right one with DIR@HOOK/ });
  rejects(() => openDictionary(wide('mlp', 'blocks.1.mlp.hook_post'), { modelHooks }), 'BAD_INPUT',
    { file: /mlp$/, field: 'blocks.1.mlp.hook_post', message: /has 16 values per token but blocks\.1\.mlp\.hook_post has 64\. The dictionary belongs to another model or another hook/ });
  rejects(() => openDictionary(wide('user-hook', 'blocks.0.hook_resid_post'), { modelHooks, hook: 'blocks.0.mlp.hook_post' }), 'BAD_INPUT',
    { field: 'blocks.0.mlp.hook_post', message: /has 16 values per token/ });
  assert.equal(openDictionary(wide('fits', 'blocks.1.hook_resid_pre'), { modelHooks }).hookIn, 'blocks.1.hook_resid_pre');
});

test('model_from_pretrained_kwargs that are not an object, or not booleans, name the field', () => {
  const withKwargs = (name: string, kwargs: unknown) => openDictionary(saeLensFolder(fresh(name), { cfg: { metadata: { hook_name: 'blocks.0.hook_resid_post', model_from_pretrained_kwargs: kwargs } } }));
  rejects(() => withKwargs('kw-list', [1, 2]), 'BAD_CONFIG', { file: /cfg\.json$/, message: /model_from_pretrained_kwargs/ });
  rejects(() => chooseModelProcessing(undefined, [withKwargs('kw-str', { center_unembed: 'false' })]), 'BAD_CONFIG',
    { file: /kw-str$/, field: 'model_from_pretrained_kwargs.center_unembed', message: /is "false", not true or false/ });
  // Keys that change weights in ways we do not apply are said, not dropped silently.
  const { notes } = chooseModelProcessing(undefined, [withKwargs('kw-refactor', { refactor_factored_attn_matrices: true, device: 'cuda' })]);
  assert.ok(notes.some((n) => /refactor_factored_attn_matrices = true is not applied/.test(n)), JSON.stringify(notes));
  assert.ok(!notes.some((n) => /device/.test(n)), 'device changes no weight');
});

test('a cross-layer transcoder attaches whole: one layer, or a layer twice, is refused naming the folder and the fix', () => {
  const dir = fresh('clt');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.yaml'), 'model_kind: cross_layer_transcoder\nfeature_input_hook: hook_resid_pre\nfeature_output_hook: hook_resid_post\n');
  for (let i = 0; i < 2; i++) {
    writeSafetensors(path.join(dir, `W_enc_${i}.safetensors`), { [`W_enc_${i}`]: f32Tensor([8, 16]), [`b_enc_${i}`]: f32Tensor([8]), [`b_dec_${i}`]: f32Tensor([16]) });
    writeSafetensors(path.join(dir, `W_dec_${i}.safetensors`), { [`W_dec_${i}`]: f32Tensor([8, 2 - i, 16]) });
  }
  const all = openAttachable(dir, { modelHooks });
  assert.deepEqual(all.map((d) => d.hookIn), ['blocks.0.hook_resid_pre', 'blocks.1.hook_resid_pre'], 'the folder without a hook attaches every layer');
  const attach = (dicts: typeof all) => withSaeHooks(modelHooks, dicts.map((dict) => ({ dict, mode: 'observe' as const })));
  assert.ok(attach(all).some((h) => h.name === 'blocks.1.hook_resid_pre.hook_sae_recons'));
  const one = openAttachable(dir, { modelHooks, hook: 'blocks.1.hook_resid_pre' });
  assert.equal(one.length, 1, 'a hook picks one layer');
  rejects(() => attach(one), 'BAD_INPUT', { file: new RegExp(`${path.basename(dir)}$`), message: /attached with 1 of its 2 layers \(1\).*every layer up to j.*Attach the whole transcoder: name the folder without a hook/ });
  rejects(() => attach([...all, all[0]]), 'BAD_INPUT', { message: /attached with a layer twice \(layers 0, 1, 0\)/ });
});
