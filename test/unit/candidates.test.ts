import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { allCandidates, findCheckpoints, hubCacheModels } from '../../src/worker/candidates';

function ckpt(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), '{}');
  writeFileSync(join(dir, 'model.safetensors'), '');
}

test('finds checkpoint folders, bundled models and Hugging Face cache entries', () => {
  const root = mkdtempSync(join(tmpdir(), 'cl-cand-'));
  ckpt(join(root, 'bundled', 'demo'));
  ckpt(join(root, 'ws', 'runs', 'ckpt-1'));
  ckpt(join(root, 'ws', 'node_modules', 'x')); // skipped
  mkdirSync(join(root, 'ws', 'runs', 'empty'));
  mkdirSync(join(root, 'hub', 'models--EleutherAI--pythia-70m', 'snapshots', 'abc'), { recursive: true });
  mkdirSync(join(root, 'hub', 'datasets--x--y', 'snapshots'), { recursive: true });
  assert.deepEqual(findCheckpoints(join(root, 'ws'), 'workspace').map((c) => c.label), ['ckpt-1']);
  assert.deepEqual(hubCacheModels([join(root, 'hub'), join(root, 'missing')]).map((c) => c.ref), ['EleutherAI/pythia-70m']);
  const all = allCandidates({ bundledDir: join(root, 'bundled'), workspaceRoots: [join(root, 'ws')], searchPaths: [join(root, 'ws', 'runs')], hubCacheDirs: [join(root, 'hub')] });
  assert.deepEqual(all.map((c) => `${c.kind}:${c.label}`), ['bundled:demo', 'workspace:ckpt-1', 'hub:EleutherAI/pythia-70m']);
});
