/**
 * Finds a checkpoint on disk: a plain Hugging Face folder, a Hugging Face cache entry
 * (models--ORG--NAME/snapshots/REV/, or ORG/NAME looked up in the cache), or a bundled model by name.
 * Symlinks (the cache's snapshot files point into blobs/) are resolved, because onnxruntime refuses
 * external data reached through a link that leaves the model folder.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fail } from './errors';
import { SafetensorsFile, TensorEntry, readSafetensorsHeader } from './safetensors';

export interface ResolveOptions {
  /** Folder holding the bundled models (media/models), for names such as `demo`. */
  bundledModelsDir?: string;
  /** Hugging Face hub cache folders to search for ORG/NAME; defaults to the standard locations. */
  hubCacheDirs?: string[];
  /** Folder a relative path is taken from: the spec's folder for a spec's model; default the working directory. */
  baseDir?: string;
}

/** The standard Hugging Face hub cache folders, in the order huggingface_hub uses them. */
export function defaultHubCacheDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs: string[] = [];
  if (env.HF_HUB_CACHE) dirs.push(env.HF_HUB_CACHE);
  if (env.HUGGINGFACE_HUB_CACHE) dirs.push(env.HUGGINGFACE_HUB_CACHE);
  if (env.HF_HOME) dirs.push(path.join(env.HF_HOME, 'hub'));
  dirs.push(path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'huggingface', 'hub'));
  return dirs;
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Picks the snapshot of a `models--ORG--NAME` folder: the one `refs/main` names, else the newest. */
export function snapshotOf(repoDir: string): string | undefined {
  const snaps = path.join(repoDir, 'snapshots');
  if (!isDir(snaps)) return undefined;
  try {
    const rev = fs.readFileSync(path.join(repoDir, 'refs', 'main'), 'utf8').trim();
    if (rev && isDir(path.join(snaps, rev))) return path.join(snaps, rev);
  } catch {
    // no refs/main: fall through to the newest snapshot
  }
  const revs = fs.readdirSync(snaps).map((r) => path.join(snaps, r)).filter(isDir);
  revs.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  return revs[0];
}

/**
 * Turns what a user typed (folder, cache entry, ORG/NAME, bundled name) into a checkpoint folder. The one
 * rule for the editor and the CLI: an absolute path, or one starting with "." (relative to `baseDir`), is
 * a folder; a bare name is a bundled model first, then a folder under `baseDir`, then ORG/NAME in the
 * Hugging Face cache.
 */
export function resolveCheckpointDir(ref: string, opts: ResolveOptions = {}): string {
  const explicitPath = path.isAbsolute(ref) || ref.startsWith('.');
  if (!explicitPath && opts.bundledModelsDir && /^[a-z0-9][a-z0-9_-]*$/i.test(ref)) {
    const bundled = path.join(opts.bundledModelsDir, ref);
    if (isDir(bundled)) return bundled;
  }
  const abs = path.resolve(opts.baseDir ?? process.cwd(), ref);
  if (isDir(abs)) {
    if (fs.existsSync(path.join(abs, 'config.json'))) return abs;
    const snap = snapshotOf(abs);
    if (snap) return snap;
    fail('NOT_FOUND', { file: abs }, 'no config.json in this folder.', 'Point the model at a Hugging Face checkpoint folder (config.json + model.safetensors).');
  }
  if (!explicitPath && /^[\w.-]+\/[\w.-]+$/.test(ref)) {
    const entry = 'models--' + ref.replace('/', '--');
    for (const cache of opts.hubCacheDirs ?? defaultHubCacheDirs()) {
      const snap = snapshotOf(path.join(cache, entry));
      if (snap) return snap;
    }
  }
  const bundledHint = opts.bundledModelsDir && isDir(opts.bundledModelsDir)
    ? ` Bundled models: ${fs.readdirSync(opts.bundledModelsDir).filter((d) => isDir(path.join(opts.bundledModelsDir!, d))).join(', ') || 'none'}.`
    : '';
  fail('NOT_FOUND', { field: ref }, 'no such checkpoint folder, Hugging Face cache entry or bundled model.', `Give a folder with config.json, or ORG/NAME of a model in the Hugging Face cache.${bundledHint}`);
}

/** All tensors of a checkpoint, across shards, each with the real file it lives in. */
export interface WeightIndex {
  /** The real folder holding every weights file (external data is resolved against it). */
  dataDir: string;
  files: SafetensorsFile[];
  tensors: Map<string, { file: SafetensorsFile; entry: TensorEntry }>;
}

export function openWeights(dir: string): WeightIndex {
  const single = path.join(dir, 'model.safetensors');
  const indexPath = path.join(dir, 'model.safetensors.index.json');
  let fileNames: string[];
  if (fs.existsSync(single)) {
    fileNames = ['model.safetensors'];
  } else if (fs.existsSync(indexPath)) {
    let map: unknown;
    try {
      map = (JSON.parse(fs.readFileSync(indexPath, 'utf8')) as { weight_map?: unknown }).weight_map;
    } catch (e) {
      fail('BAD_WEIGHTS', { file: indexPath }, `not valid JSON (${(e as Error).message}).`);
    }
    if (typeof map !== 'object' || map === null) fail('BAD_WEIGHTS', { file: indexPath, field: 'weight_map' }, 'missing or not an object.');
    fileNames = [...new Set(Object.values(map as Record<string, unknown>).map(String))];
    for (const f of fileNames) {
      if (f.includes('/') || f.includes('\\') || f.startsWith('.')) fail('BAD_WEIGHTS', { file: indexPath, field: 'weight_map' }, `shard name ${JSON.stringify(f)} is not a plain file name.`);
    }
  } else {
    const hasBin = fs.existsSync(path.join(dir, 'pytorch_model.bin'));
    fail('NOT_FOUND', { file: single }, hasBin ? 'only pytorch_model.bin is present; Circuit Lens reads safetensors.' : 'no model.safetensors in the checkpoint folder.',
      hasBin ? 'Convert it once in Python: model.save_pretrained(dir, safe_serialization=True).' : 'Download the safetensors weights of this model.');
  }
  const files = fileNames.map((f) => readSafetensorsHeader(fs.realpathSync(path.join(dir, f))));
  const dirs = new Set(files.map((f) => path.dirname(f.path)));
  if (dirs.size !== 1) fail('UNSUPPORTED', { file: dir }, 'weight shards resolve to different folders.', 'Put all shards in one folder.');
  const tensors = new Map<string, { file: SafetensorsFile; entry: TensorEntry }>();
  for (const file of files) for (const entry of file.tensors.values()) tensors.set(entry.name, { file, entry });
  return { dataDir: [...dirs][0], files, tensors };
}
