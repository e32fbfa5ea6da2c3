/**
 * The CLI as a user runs it: trace with --save-cache writes every hook point as .npy under its
 * TransformerLens name and shape (values checked against the PyTorch reference); --json has the
 * documented fields; bad input gives one line and exit code 2, never a stack trace.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI, makeRandomCheckpoint, maxAbsDiff, readNpyDir, referenceActivations, tmpDir } from '../helpers/reference';

const ckpt = makeRandomCheckpoint({ layers: 2, dModel: 32, heads: 2, dMlp: 64, vocab: 200, ctx: 16, dtype: 'F32', seed: 11 });

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('trace --save-cache writes every hook point as .npy, matching the reference', () => {
  const out = tmpDir('npy');
  const json = path.join(tmpDir('json'), 'trace.json');
  const ids = [5, 17, 3, 199, 42, 8];
  const r = cli('trace', '--model', ckpt, '--tokens', ids.join(','), '--save-cache', out, '--json', json, '--top-k', '3', '--threads', '1');
  assert.equal(r.code, 0, r.err);
  const mine = readNpyDir(out);
  const ref = referenceActivations(ckpt, [ids]);
  assert.equal(mine.size, 17 * 2 + 4 + 2);
  for (const [name, t] of mine) {
    const theirs = ref.get(name)!;
    assert.deepEqual(t.dims, theirs.dims, name);
    assert.equal(t.dims[0], 1, `${name} keeps the batch dimension`);
    assert.ok(maxAbsDiff(t.data, theirs.data) <= 1e-4, name);
  }
  const report = JSON.parse(fs.readFileSync(json, 'utf8'));
  assert.equal(report.tokens.length, ids.length);
  assert.deepEqual(report.tokens.map((t: { id: number }) => t.id), ids);
  assert.equal(report.topk.length, 3);
  assert.ok(report.topk[0].prob >= report.topk[1].prob && report.topk[0].prob <= 1);
  assert.deepEqual(report.hooks['blocks.1.attn.hook_pattern'], [1, 2, 6, 6]);
  assert.deepEqual(report.hooks['blocks.0.attn.hook_result'], [1, 6, 2, 32]);
});

test('--hooks filters with globs', () => {
  const out = tmpDir('npyglob');
  const r = cli('trace', '--model', ckpt, '--tokens', '1,2,3', '--save-cache', out, '--hooks', 'blocks.*.attn.hook_pattern,hook_embed');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(fs.readdirSync(out).sort(), ['blocks.0.attn.hook_pattern.npy', 'blocks.1.attn.hook_pattern.npy', 'hook_embed.npy']);
});

test('hooks lists every hook point with its shape', () => {
  const r = cli('hooks', '--model', ckpt, '--json');
  assert.equal(r.code, 0, r.err);
  const hooks = JSON.parse(r.out);
  assert.equal(Object.keys(hooks).length, 40);
  assert.deepEqual(hooks['blocks.0.attn.hook_q'], ['batch', 'pos', 2, 16]);
});

function expectUserError(args: string[], pattern: RegExp): void {
  const r = cli(...args);
  assert.equal(r.code, 2, `exit code for ${args.join(' ')}: ${r.err}`);
  assert.match(r.err, pattern);
  assert.equal(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
  assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
}

test('EXPECTED FAILURE - missing checkpoint folder', () => expectUserError(['trace', '--model', '/nonexistent/model', '--tokens', '1'], /\/nonexistent\/model.*no such checkpoint/));
test('EXPECTED FAILURE - truncated safetensors', () => {
  const dir = tmpDir('trunc');
  fs.copyFileSync(path.join(ckpt, 'config.json'), path.join(dir, 'config.json'));
  const bytes = fs.readFileSync(path.join(ckpt, 'model.safetensors'));
  fs.writeFileSync(path.join(dir, 'model.safetensors'), bytes.subarray(0, bytes.length - 100));
  expectUserError(['trace', '--model', dir, '--tokens', '1'], /model\.safetensors.*truncated/);
});
test('EXPECTED FAILURE - unsupported architecture', () => {
  const dir = tmpDir('arch');
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'mamba' }));
  expectUserError(['hooks', '--model', dir], /config\.json: model_type: architecture "mamba" is not supported/);
});
test('EXPECTED FAILURE - config inconsistent with the weights', () => {
  const dir = tmpDir('incons');
  const cfg = JSON.parse(fs.readFileSync(path.join(ckpt, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...cfg, n_embd: 64 }));
  fs.copyFileSync(path.join(ckpt, 'model.safetensors'), path.join(dir, 'model.safetensors'));
  expectUserError(['hooks', '--model', dir], /shape \[.*\] does not match/);
});
test('EXPECTED FAILURE - prompt longer than n_positions', () => expectUserError(['trace', '--model', ckpt, '--tokens', Array(17).fill(1).join(',')], /17 tokens exceed the model's context of 16/));
test('EXPECTED FAILURE - unknown hook glob names the closest hook', () => expectUserError(['trace', '--model', ckpt, '--tokens', '1', '--hooks', 'blocks.0.attn.hook_patern'], /matches no hook point.*Closest: blocks\.0\.attn\.hook_pattern/));
test('EXPECTED FAILURE - token id outside the vocabulary', () => expectUserError(['trace', '--model', ckpt, '--tokens', '1,200'], /token id 200 is outside the vocabulary/));
test('EXPECTED FAILURE - text prompt on a checkpoint without tokenizer files', () => expectUserError(['trace', '--model', ckpt, '--prompt', 'hi'], /no tokenizer files/));
test('EXPECTED FAILURE - unknown option', () => expectUserError(['trace', '--model', ckpt, '--bogus'], /Unknown option '--bogus'/));

test('trace --processing names the processing in effect; the saved cache is the processed model\'s', () => {
  const plain = cli('trace', '--model', ckpt, '--tokens', '5,17,3', '--top-k', '2');
  assert.match(plain.out, /^weights: unprocessed weights$/m);
  const out = tmpDir('npyproc');
  const r = cli('trace', '--model', ckpt, '--tokens', '5,17,3', '--top-k', '2', '--processing', 'transformerlens', '--save-cache', out, '--hooks', 'blocks.0.ln1.hook_normalized,blocks.1.hook_resid_post');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^weights: TransformerLens processing$/m);
  const top = (s: string) => [...s.matchAll(/p=([\d.]+)/g)].map((m) => m[1]);
  assert.deepEqual(top(r.out), top(plain.out), 'probabilities do not change');
  const resid = readNpyDir(out).get('blocks.1.hook_resid_post')!;
  const d = resid.dims[2];
  const mean = resid.data.subarray(0, d).reduce((a, b) => a + b, 0) / d;
  assert.ok(Math.abs(mean) < 1e-5, 'centred residual stream');
});

test('EXPECTED FAILURE - an unknown --processing option', () => expectUserError(['trace', '--model', ckpt, '--tokens', '1', '--processing', 'foldLn,centre'], /--processing: "centre" is not a processing option/));
