/**
 * Models a user can pick, found without loading any: bundled models, checkpoint folders (config.json +
 * model.safetensors) under the given roots, and Hugging Face cache entries. Runs in the worker: walking folders can take a while.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultHubCacheDirs } from '../engine/checkpoint';

import type { CandidateKind, ModelCandidate } from '../protocol/runner';

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export function isCheckpointDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'config.json')) && (fs.existsSync(path.join(dir, 'model.safetensors')) || fs.existsSync(path.join(dir, 'model.safetensors.index.json')));
}

export function bundledModels(bundledDir: string): ModelCandidate[] {
  if (!isDir(bundledDir)) return [];
  return fs.readdirSync(bundledDir).sort().filter((d) => isCheckpointDir(path.join(bundledDir, d)))
    .map((d) => ({ kind: 'bundled', ref: d, label: d, detail: 'bundled with Circuit Lens' }));
}

const SKIP = new Set(['node_modules', '.git', '.e2e', 'dist', 'out', '.venv', '__pycache__']);

/** Checkpoint folders at most `depth` levels below `root`. */
export function findCheckpoints(root: string, kind: CandidateKind, depth = 3, limit = 50): ModelCandidate[] {
  const found: ModelCandidate[] = [];
  const walk = (dir: string, d: number) => {
    if (found.length >= limit) return;
    if (isCheckpointDir(dir)) {
      found.push({ kind, ref: dir, label: path.basename(dir), detail: dir });
      return;
    }
    if (d === 0) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory() && !SKIP.has(e.name) && !e.name.startsWith('.')) walk(path.join(dir, e.name), d - 1);
  };
  walk(root, depth);
  return found;
}

/** `models--ORG--NAME` entries of the Hugging Face hub caches that hold a snapshot. */
export function hubCacheModels(cacheDirs: readonly string[] = defaultHubCacheDirs()): ModelCandidate[] {
  const out: ModelCandidate[] = [];
  for (const cache of cacheDirs) {
    if (!isDir(cache)) continue;
    for (const e of fs.readdirSync(cache)) {
      const m = /^models--([^-].*?)--(.+)$/.exec(e);
      if (m && isDir(path.join(cache, e, 'snapshots'))) out.push({ kind: 'hub', ref: `${m[1]}/${m[2]}`, label: `${m[1]}/${m[2]}`, detail: `Hugging Face cache: ${path.join(cache, e)}` });
    }
  }
  return out;
}

/** Every candidate, deduplicated by reference, bundled models first. */
export function allCandidates(opts: { bundledDir: string; workspaceRoots: readonly string[]; searchPaths: readonly string[]; hubCacheDirs?: readonly string[] }): ModelCandidate[] {
  const list = [
    ...bundledModels(opts.bundledDir),
    ...opts.workspaceRoots.flatMap((r) => findCheckpoints(r, 'workspace')),
    ...opts.searchPaths.flatMap((r) => findCheckpoints(r, 'setting', 2)),
    ...hubCacheModels(opts.hubCacheDirs),
  ];
  const seen = new Set<string>();
  return list.filter((c) => !seen.has(c.ref) && !!seen.add(c.ref));
}
