/**
 * Checkpoint layouts: the Hugging Face cache (snapshots symlinked into blobs/, by ORG/NAME and by
 * folder) and sharded safetensors with an index; each checked against the PyTorch reference.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openModel } from '../helpers/engine';
import { tokensFromIds } from '../../src/engine/model';
import { readSafetensorsHeader } from '../../src/engine/safetensors';
import { makeRandomCheckpoint, maxAbsDiff, referenceActivations, tmpDir } from '../helpers/reference';
import { writeSafetensors } from '../helpers/safetensors-writer';

const source = makeRandomCheckpoint({ layers: 2, dModel: 32, heads: 4, dMlp: 64, vocab: 150, ctx: 16, dtype: 'F16', seed: 31 });
const ids = [3, 1, 4, 1, 5, 9, 2, 6];
const reference = referenceActivations(source, [ids]).get('logits')!;

async function logitsOf(spec: string, hubCacheDirs?: string[]) {
  const engine = await openModel(spec, { resolve: { hubCacheDirs } });
  try {
    return { name: engine.ckpt.name, logits: (await engine.trace([tokensFromIds(engine.ckpt, ids)])).logits };
  } finally {
    await engine.dispose();
  }
}

test('Hugging Face cache layout: ORG/NAME and models--ORG--NAME, files symlinked into blobs/', async () => {
  const hub = tmpDir('hub');
  const repo = path.join(hub, 'models--acme--tiny-gpt2');
  const rev = 'c0ffee0123456789';
  fs.mkdirSync(path.join(repo, 'blobs'), { recursive: true });
  fs.mkdirSync(path.join(repo, 'snapshots', rev), { recursive: true });
  fs.mkdirSync(path.join(repo, 'refs'));
  fs.writeFileSync(path.join(repo, 'refs', 'main'), rev);
  for (const [i, f] of ['config.json', 'model.safetensors'].entries()) {
    fs.copyFileSync(path.join(source, f), path.join(repo, 'blobs', `blob${i}`));
    fs.symlinkSync(path.join('..', '..', 'blobs', `blob${i}`), path.join(repo, 'snapshots', rev, f));
  }
  const byName = await logitsOf('acme/tiny-gpt2', [hub]);
  assert.equal(byName.name, 'acme/tiny-gpt2');
  assert.ok(maxAbsDiff(byName.logits.data, reference.data) <= 1e-4);
  const byFolder = await logitsOf(repo);
  assert.ok(maxAbsDiff(byFolder.logits.data, reference.data) <= 1e-4);
});

test('sharded safetensors with model.safetensors.index.json', async () => {
  const dir = tmpDir('shards');
  fs.copyFileSync(path.join(source, 'config.json'), path.join(dir, 'config.json'));
  const st = readSafetensorsHeader(path.join(source, 'model.safetensors'));
  const bytes = fs.readFileSync(st.path);
  const names = [...st.tensors.keys()];
  const weightMap: Record<string, string> = {};
  for (const [s, part] of [names.slice(0, 9), names.slice(9)].entries()) {
    const file = `model-0000${s + 1}-of-00002.safetensors`;
    const tensors = Object.fromEntries(part.map((n) => {
      const e = st.tensors.get(n)!;
      weightMap[n] = file;
      return [n, { dtype: e.dtype, shape: e.shape, bytes: bytes.subarray(e.offset, e.offset + e.byteLength) }];
    }));
    writeSafetensors(path.join(dir, file), tensors);
  }
  fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  const { logits } = await logitsOf(dir);
  assert.ok(maxAbsDiff(logits.data, reference.data) <= 1e-4);
});
