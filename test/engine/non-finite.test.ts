/**
 * NaN and infinite weights: the engine still loads and runs the model, and its background scan names the
 * tensors and counts the values; the CLI prints the warning. A clean checkpoint gives no warning.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openModel } from '../helpers/engine';
import { tokensFromIds } from '../../src/engine/model';
import { readSafetensorsHeader } from '../../src/engine/safetensors';
import { CLI, makeRandomCheckpoint } from '../helpers/reference';

const clean = makeRandomCheckpoint({ layers: 2, dModel: 32, heads: 2, dMlp: 64, vocab: 100, ctx: 16, dtype: 'F32', seed: 41 });
const broken = makeRandomCheckpoint({ layers: 2, dModel: 32, heads: 2, dMlp: 64, vocab: 100, ctx: 16, dtype: 'F32', seed: 41 });

/** Overwrites float32 values of one tensor in place. */
function poke(dir: string, tensor: string, values: Record<number, number>): void {
  const file = path.join(dir, 'model.safetensors');
  const entry = readSafetensorsHeader(file).tensors.get(tensor);
  assert.ok(entry, `${tensor} is in the checkpoint`);
  const fd = fs.openSync(file, 'r+');
  try {
    for (const [i, v] of Object.entries(values)) fs.writeSync(fd, new Uint8Array(new Float32Array([v]).buffer), 0, 4, entry.offset + 4 * Number(i));
  } finally {
    fs.closeSync(fd);
  }
}

const mlpIn = [...readSafetensorsHeader(path.join(broken, 'model.safetensors')).tensors.keys()].find((n) => /h\.1\.mlp\.c_fc\.weight$/.test(n))!;
poke(broken, mlpIn, { 0: NaN, 5: Infinity, 9: -Infinity });

test('the weight scan names the tensor with NaN or infinite values and counts them', async () => {
  const engine = await openModel(broken);
  try {
    const run = await engine.trace([tokensFromIds(engine.ckpt, [1, 2, 3])]); // runs, with NaN outputs
    assert.deepEqual(run.logits.dims, [1, 3, 100]);
    const found = await engine.nonFiniteWeights();
    assert.deepEqual(found.map(({ name, count, total }) => ({ name, count, total })), [{ name: mlpIn, count: 3, total: 32 * 64 }]);
  } finally {
    await engine.dispose();
  }
});

test('a clean checkpoint has none', async () => {
  const engine = await openModel(clean);
  try {
    assert.deepEqual(await engine.nonFiniteWeights(), []);
  } finally {
    await engine.dispose();
  }
});

test('circuit-lens trace warns on stderr and still exits 0', () => {
  const r = spawnSync(process.execPath, [CLI, 'trace', '--model', broken, '--tokens', '1,2,3'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`warning: .* has 3 NaN or infinite weight values in 1 tensor: ${mlpIn.replace(/\./g, '\\.')} \\(3 of 2048\\)`));
  const ok = spawnSync(process.execPath, [CLI, 'trace', '--model', clean, '--tokens', '1,2,3'], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /top-/);
  assert.doesNotMatch(ok.stderr, /warning/);
});
