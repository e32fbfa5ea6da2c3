/**
 * Dictionaries on the CLI: `trace --sae DIR[@HOOK] [--sae-splice] --save-cache OUT` writes every SAE hook
 * as .npy with SAELens' names and shapes, --hooks globs select them, the output lists what was attached,
 * and bad dictionaries (an unknown hook, a d_in that does not match, a pickle) exit 2 with one line; a
 * cross-layer transcoder's folder attaches whole, and one of its layers alone is refused.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, makeRandomCheckpoint, maxAbsDiff, readNpyDir, tmpDir } from '../helpers/reference';
import { f32Tensor, saeLensFolder } from '../helpers/sae-fixtures';
import { writeSafetensors } from '../helpers/safetensors-writer';

const spec = { layers: 2, dModel: 16, heads: 2, dMlp: 32, vocab: 64, ctx: 16, dtype: 'F32' as const, seed: 3 };
const model = makeRandomCheckpoint(spec);
const root = tmpDir('sae-cli');
/** A standard SAELens SAE, d_in 16, d_sae 24, at blocks.0.hook_resid_post. */
const sae = saeLensFolder(path.join(root, 'sae'), {
  cfg: { d_in: 16, d_sae: 24 },
  tensors: { W_enc: f32Tensor([16, 24]), b_enc: f32Tensor([24], (i) => 0.1 * Math.cos(i)), W_dec: f32Tensor([24, 16], (i) => 0.2 * Math.sin(3 * i)), b_dec: f32Tensor([16], () => 0.05) },
});

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('trace --sae --save-cache writes every SAE hook with its shape', () => {
  const out = path.join(root, 'cache');
  const r = cli('trace', '--model', model, '--tokens', '1,2,3,4,5', '--sae', sae, '--save-cache', out, '--threads', '1');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /sae: saelens sae standard, d_in 16, d_sae 24, at blocks\.0\.hook_resid_post \(hook from the config\), observe/);
  const got = readNpyDir(out);
  const h = 'blocks.0.hook_resid_post';
  const shapes: Record<string, number[]> = {
    hook_sae_input: [1, 5, 16], hook_sae_acts_pre: [1, 5, 24], hook_sae_acts_post: [1, 5, 24], hook_sae_recons: [1, 5, 16], hook_sae_error: [1, 5, 16], hook_sae_output: [1, 5, 16],
  };
  for (const [s, dims] of Object.entries(shapes)) assert.deepEqual(got.get(`${h}.${s}`)?.dims, dims, s);
  assert.equal(maxAbsDiff(got.get(`${h}.hook_sae_output`)!.data, got.get(h)!.data), 0);
  assert.ok(got.has('blocks.1.hook_resid_post'), 'the model hooks are still there');
});

test('--hooks globs select SAE hooks; --sae-splice and DIR@HOOK attach elsewhere', () => {
  const out = path.join(root, 'spliced');
  const r = cli('trace', '--model', model, '--tokens', '1,2,3', '--sae', `${sae}@blocks.1.hook_resid_pre`, '--sae-splice', '--hooks', '*.hook_sae_*,blocks.1.hook_resid_pre', '--save-cache', out, '--threads', '1');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /at blocks\.1\.hook_resid_pre \(hook from the user\), splice/);
  const names = fs.readdirSync(out).sort();
  assert.deepEqual(names, ['blocks.1.hook_resid_pre.npy', ...['acts_post', 'acts_pre', 'error', 'input', 'output', 'recons'].map((s) => `blocks.1.hook_resid_pre.hook_sae_${s}.npy`)].sort());
  const got = readNpyDir(out);
  assert.equal(maxAbsDiff(got.get('blocks.1.hook_resid_pre.hook_sae_output')!.data, got.get('blocks.1.hook_resid_pre.hook_sae_recons')!.data), 0);
});

test('bad dictionaries exit 2 with one line', () => {
  const cases: [string[], RegExp][] = [
    [['--sae', `${sae}@blocks.9.hook_resid_post`], /not a hook point of this model/],
    [['--sae', `${sae}@blocks.0.mlp.hook_post`], /has 16 values per token but blocks\.0\.mlp\.hook_post has 32/],
    [['--sae-splice'], /needs a dictionary to splice/],
  ];
  const pickle = path.join(root, 'pickled');
  fs.mkdirSync(pickle, { recursive: true });
  fs.writeFileSync(path.join(pickle, 'sae.pt'), Buffer.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]));
  cases.push([['--sae', pickle], /pickle/i]);
  for (const [extra, message] of cases) {
    const r = cli('trace', '--model', model, '--tokens', '1,2', '--threads', '1', ...extra);
    assert.equal(r.code, 2, `${extra.join(' ')}: ${r.err}`);
    assert.match(r.err, message);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  }
});

test('--sae on a cross-layer transcoder\'s folder attaches every layer; DIR@HOOK (one layer) exits 2 naming the fix', () => {
  const clt = path.join(root, 'clt');
  fs.mkdirSync(clt, { recursive: true });
  fs.writeFileSync(path.join(clt, 'config.yaml'), 'model_kind: cross_layer_transcoder\nfeature_input_hook: ln2.hook_normalized\nfeature_output_hook: hook_mlp_out\n');
  for (let i = 0; i < 2; i++) {
    writeSafetensors(path.join(clt, `W_enc_${i}.safetensors`), { [`W_enc_${i}`]: f32Tensor([24, 16], (j) => 0.3 * Math.sin(j + i)), [`b_enc_${i}`]: f32Tensor([24], () => 0.05), [`b_dec_${i}`]: f32Tensor([16], () => 0.01) });
    writeSafetensors(path.join(clt, `W_dec_${i}.safetensors`), { [`W_dec_${i}`]: f32Tensor([24, 2 - i, 16], (j) => 0.2 * Math.cos(2 * j + i)) });
  }
  const out = path.join(root, 'clt-cache');
  const r = cli('trace', '--model', model, '--tokens', '1,2,3', '--sae', clt, '--sae-splice', '--hooks', '*.hook_sae_*,*.hook_mlp_out', '--save-cache', out, '--threads', '1');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out.match(/sae: circuit-tracer-clt transcoder/g)?.length, 2, r.out);
  const got = readNpyDir(out);
  for (let j = 0; j < 2; j++) {
    const h = `blocks.${j}.ln2.hook_normalized`;
    assert.deepEqual(got.get(`${h}.hook_sae_recons`)?.dims, [1, 3, 16]);
    assert.equal(maxAbsDiff(got.get(`${h}.hook_sae_output`)!.data, got.get(`${h}.hook_sae_recons`)!.data), 0, 'spliced');
  }
  const one = cli('trace', '--model', model, '--tokens', '1,2', '--threads', '1', '--sae', `${clt}@blocks.1.ln2.hook_normalized`);
  assert.equal(one.code, 2, one.err);
  assert.match(one.err, /attached with 1 of its 2 layers \(1\).*Attach the whole transcoder: name the folder without a hook/);
});
