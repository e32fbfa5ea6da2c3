/**
 * Fuzzing the dictionary readers: mutated .npz archives (bytes flipped in the zip records and .npy
 * headers, sizes rewritten, truncation), and SAELens / circuit-tracer configs with hostile values. Each
 * case ends in a dictionary whose tensors match their declared shapes, or in an EngineError.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readNpz } from '../../src/engine/sae/npz';
import { openDictionary } from '../../src/engine/sae/open';
import { chooseModelProcessing } from '../../src/engine/sae/model-processing';
import { PROCESSING_OPTIONS } from '../../src/protocol/processing';
import { tmpDir } from '../helpers/reference';
import { Rng, fuzz } from '../helpers/fuzz';
import { f32Tensor, gemmaScopeNpz, saeLensFolder } from '../helpers/sae-fixtures';

const root = tmpDir('sae-fuzz');

function hostile(r: Rng, depth = 0): unknown {
  switch (r.int(0, 9)) {
    case 0: return r.int(-3, 70);
    case 1: return 2 ** r.int(31, 80);
    case 2: return r.next() - 0.5;
    case 3: return r.pick(['standard', 'topk', 'jumprelu', 'gated', 'transcoder', 'none', 'layer_norm', 'hook_z', 'blocks.0.hook_resid_post', '', 'ä']);
    case 4: return null;
    case 5: return r.next() < 0.5;
    case 6: return depth > 3 ? [] : Array.from({ length: r.int(0, 3) }, () => hostile(r, depth + 1));
    case 7: return depth > 3 ? {} : { k: hostile(r, depth + 1), hook_name: hostile(r, depth + 1) };
    case 8: return NaN;
    default: return '1e400';
  }
}

test('3,000 mutated .npz archives inflate to arrays of their declared shapes or fail with an EngineError', () => {
  const file = path.join(root, 'params.npz');
  const bases = [false, true].map((stored) => {
    gemmaScopeNpz(file, {}, stored);
    return fs.readFileSync(file);
  });
  const outcome = fuzz('npz', 3000, 11, (r) => {
    const b = Buffer.from(r.pick(bases));
    const kind = r.int(0, 4);
    if (kind === 0) for (let k = r.int(1, 6); k > 0; k--) b[r.int(0, b.length - 1)] = r.int(0, 255);
    if (kind === 1) b.writeUInt32LE(r.pick([0, 0xffffffff, r.int(0, 1 << 30)]), r.int(0, b.length - 4)); // a size or offset field
    if (kind === 2) {
      const at = b.indexOf("'shape'");
      if (at >= 0) b.write(r.pick(["'shape': (99999999, 9", "'shape': (-1,", "'shape': (4.5,", "'descr': '<i4'", "'fortran_order': True"]), at, 'latin1');
    }
    fs.writeFileSync(file, kind === 3 ? b.subarray(0, r.int(0, b.length)) : kind === 4 ? Buffer.concat([b, Buffer.alloc(r.int(1, 200), r.int(0, 255))]) : b);
    for (const [name, arr] of readNpz(file, { maxBytes: 1 << 20 })) {
      assert.equal(arr.data.length, arr.shape.reduce((x, y) => x * y, 1), name);
    }
  });
  assert.equal(outcome.ok + outcome.engineErrors, 3000);
  assert.ok(outcome.engineErrors > 0 && outcome.ok > 0);
});

test('1,000 SAELens configs with hostile values open or fail with an EngineError', () => {
  const keys = ['architecture', 'd_in', 'd_sae', 'd_out', 'k', 'apply_b_dec_to_input', 'normalize_activations', 'reshape_activations', 'activation_fn', 'activation_fn_kwargs', 'hook_name', 'metadata', 'rescale_acts_by_decoder_norm', 'model_from_pretrained_kwargs'];
  const outcome = fuzz('saelens-cfg', 1000, 12, (r, i) => {
    const cfg: Record<string, unknown> = {};
    for (let n = r.int(1, 4); n > 0; n--) cfg[r.pick(keys)] = hostile(r);
    const dir = saeLensFolder(path.join(root, `cfg-${i}`), { cfg, tensors: r.next() < 0.3 ? { threshold: f32Tensor([8]), W_skip: f32Tensor([4, 4]) } : {} });
    if (r.next() < 0.3) cfg.metadata = { hook_name: 'blocks.0.hook_resid_post', model_from_pretrained_kwargs: r.next() < 0.5 ? hostile(r) : { fold_ln: hostile(r), center_unembed: hostile(r), [String(hostile(r))]: hostile(r) } };
    const d = openDictionary(dir, { hook: r.next() < 0.5 ? 'blocks.0.hook_resid_post' : undefined });
    assert.equal(d.encoder.w.shape[0], d.dIn);
    // The processing it asks of its model: options, or an EngineError naming the field.
    const p = chooseModelProcessing(undefined, [d]).processing;
    if (p) assert.ok(PROCESSING_OPTIONS.every((o) => typeof p[o] === 'boolean'));
    fs.rmSync(dir, { recursive: true });
  });
  assert.ok(outcome.ok > 0 && outcome.engineErrors > 0);
});

test('500 circuit-tracer config.yaml texts open or fail with an EngineError', () => {
  const dir = path.join(root, 'ct');
  fs.mkdirSync(dir, { recursive: true });
  const lines = ['model_kind: transcoder_set', 'model_kind: cross_layer_transcoder', 'feature_input_hook: ln2.hook_normalized', 'feature_output_hook: hook_mlp_out',
    'activation: topk', 'k: 3', 'k: -1', 'transcoders: [layer_0.safetensors]', 'transcoders: ["hf://a/b/c.npz"]', 'transcoders: 7', '- x', '&a [*a]', 'a: *b', '{', 'k: !!binary aGk='];
  fs.writeFileSync(path.join(dir, 'layer_0.safetensors'), Buffer.alloc(0));
  const outcome = fuzz('ct-yaml', 500, 13, (r) => {
    fs.writeFileSync(path.join(dir, 'config.yaml'), Array.from({ length: r.int(0, 6) }, () => r.pick(lines)).join('\n'));
    openDictionary(dir, { layer: 0 });
  });
  assert.equal(outcome.ok + outcome.engineErrors, 500);
});
