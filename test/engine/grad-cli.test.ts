/**
 * `circuit-lens trace --grad METRIC --save-cache OUT`: OUT/<hook>_grad.npy next to each saved hook, with
 * the hook's shape and autograd's values (test/reference/grad_reference.py); with --hooks only those hooks'
 * gradients; a bad METRIC is one line naming --grad and the accepted forms, exit code 2.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { CLI, makeRandomCheckpoint, readNpyDir, tmpDir } from '../helpers/reference';
import { referenceGradients } from '../helpers/grad-reference';

const ckpt = makeRandomCheckpoint({ layers: 2, dModel: 32, heads: 2, dMlp: 64, vocab: 200, ctx: 16, dtype: 'F32', seed: 12 });

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('trace --grad logitdiff --save-cache writes <hook>_grad.npy beside every hook, matching autograd', () => {
  const out = tmpDir('grad-npy');
  const ids = [5, 17, 3, 199, 42, 8, 77];
  const r = cli('trace', '--model', ckpt, '--tokens', ids.join(','), '--grad', 'logitdiff:12,40', '--save-cache', out, '--threads', '1');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /metric logitdiff:12,40: -?\d+\.\d+/);
  const saved = readNpyDir(out);
  const hooks = [...saved.keys()].filter((n) => !n.endsWith('_grad'));
  assert.ok(hooks.length > 30);
  assert.deepEqual([...saved.keys()].filter((n) => n.endsWith('_grad')).sort(), hooks.map((h) => `${h}_grad`).sort());
  const ref = referenceGradients(ckpt, [ids], { kind: 'logitDiff', answer: 12, counterfactual: 40 });
  for (const h of hooks) {
    const mine = saved.get(`${h}_grad`)!;
    const theirs = ref.get(`${h}_grad`)!;
    assert.deepEqual(mine.dims, saved.get(h)!.dims, `${h}_grad has the hook's shape, batch included`);
    const scale = Math.max(...theirs.data.map(Math.abs));
    assert.ok(scale > 0, h);
    assert.ok(mine.data.every((x, i) => Math.abs(x - theirs.data[i]) <= 1e-4 * scale), h);
  }
});

test('trace --grad loss --hooks saves only those hooks and their gradients', () => {
  const out = tmpDir('grad-hooks');
  const r = cli('trace', '--model', ckpt, '--tokens', '1,2,3,4,5', '--grad', 'loss', '--save-cache', out, '--hooks', 'blocks.1.hook_resid_post,blocks.0.attn.hook_pattern');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(fs.readdirSync(out).sort(), ['blocks.0.attn.hook_pattern.npy', 'blocks.0.attn.hook_pattern_grad.npy', 'blocks.1.hook_resid_post.npy', 'blocks.1.hook_resid_post_grad.npy']);
  const saved = readNpyDir(out);
  assert.deepEqual(saved.get('blocks.0.attn.hook_pattern_grad')!.dims, [1, 2, 5, 5]);
  assert.deepEqual(saved.get('blocks.1.hook_resid_post_grad')!.dims, [1, 5, 32]);
});

test('trace --grad without --save-cache lists the gradients and the metric', () => {
  const r = cli('trace', '--model', ckpt, '--tokens', '1,2,3', '--grad', 'logit:7', '--hooks', 'hook_embed');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /gradient hook_embed \[1, 3, 32\]/);
  assert.match(r.out, /metric logit:7: /);
});

test('a bad --grad METRIC is one line naming the flag and the accepted forms, exit 2', () => {
  for (const bad of ['logit', 'logitdiff:1', 'logit:x', 'kl', 'logitdiff:1,2,3']) {
    const r = cli('trace', '--model', ckpt, '--tokens', '1,2,3', '--grad', bad);
    assert.equal(r.code, 2, `${bad}: ${r.err}`);
    assert.match(r.err, /--grad/);
    assert.match(r.err, /logit:ID, logitdiff:ID1,ID2 or loss/);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  }
  const r = cli('trace', '--model', ckpt, '--tokens', '1,2,3', '--grad', 'logit:500');
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /grad\.metric.*outside the vocabulary \[0, 200\)/);
});
