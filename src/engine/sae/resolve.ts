/**
 * Where a dictionary is: a folder on disk, or ORG/NAME[/SUBFOLDER] in the Hugging Face cache
 * (models--ORG--NAME/snapshots/REV/SUBFOLDER), or an hf://ORG/NAME/PATH file reference (circuit-tracer's
 * config.yaml lists its per-layer files that way), or a dictionary shipped with the model in its saes/ folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultHubCacheDirs, snapshotOf } from '../checkpoint';
import { fail } from '../errors';

export interface ResolveDictionaryOptions {
  /** Hugging Face hub cache folders to search; defaults to the standard locations. */
  hubCacheDirs?: string[];
  /** Folder a relative path is taken from (default: the working directory). */
  baseDir?: string;
  /**
   * The model's checkpoint folder. Dictionaries shipped with a model live in its saes/ folder, one
   * subfolder each: a bare name that is not on disk names one of them, and the model's own folder name
   * (`demo` for the bundled demo model) names the only one when there is exactly one.
   */
  modelDir?: string;
}

/** Subfolders of the model's saes/ folder. */
function shippedDictionaries(modelDir: string): string[] {
  const dir = path.join(modelDir, 'saes');
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join(dir, e.name)).sort();
  } catch {
    return [];
  }
}

/** A bare name (no path separator) for a dictionary shipped in the model's saes/ folder, if it is one. */
function shippedDictionary(ref: string, modelDir: string): string | undefined {
  if (!/^[\w.-]+$/.test(ref) || ref.startsWith('.')) return undefined;
  const shipped = shippedDictionaries(modelDir);
  const byName = shipped.find((d) => path.basename(d) === ref);
  if (byName) return byName;
  if (ref === path.basename(modelDir) && shipped.length === 1) return shipped[0];
  return undefined;
}

function exists(p: string): boolean {
  try {
    fs.statSync(p);
    return true;
  } catch {
    return false;
  }
}

/** A path inside a cached repository, if the repository is cached and the path is inside it. */
function inCache(org: string, name: string, rest: string, opts: ResolveDictionaryOptions): string | undefined {
  for (const cache of opts.hubCacheDirs ?? defaultHubCacheDirs()) {
    const snap = snapshotOf(path.join(cache, `models--${org}--${name}`));
    if (!snap) continue;
    const full = path.resolve(snap, rest);
    if (full !== snap && !full.startsWith(snap + path.sep)) fail('BAD_INPUT', { field: rest }, 'leaves the repository folder.');
    if (exists(full)) return full;
  }
  return undefined;
}

/** A folder or file the user named: on disk first, then ORG/NAME[/SUBFOLDER] in the Hugging Face cache. */
export function resolveDictionaryPath(ref: string, opts: ResolveDictionaryOptions = {}): string {
  const abs = path.resolve(opts.baseDir ?? process.cwd(), ref);
  if (exists(abs)) return abs;
  const shipped = opts.modelDir ? shippedDictionary(ref, opts.modelDir) : undefined;
  if (shipped) return shipped;
  const m = /^([\w.-]+)\/([\w.-]+)(?:\/(.+))?$/.exec(ref);
  if (!path.isAbsolute(ref) && !ref.startsWith('.') && m) {
    const hit = inCache(m[1], m[2], m[3] ?? '.', opts);
    if (hit) return hit;
  }
  const names = opts.modelDir ? shippedDictionaries(opts.modelDir).map((d) => path.basename(d)) : [];
  const aliases = names.length === 1 ? [path.basename(opts.modelDir!), ...names] : names;
  const shippedHint = aliases.length ? ` Shipped with this model: ${aliases.join(', ')}.` : '';
  fail('NOT_FOUND', { field: ref }, 'no such dictionary folder or Hugging Face cache entry.', `Give a folder, or ORG/NAME/SUBFOLDER of a repository in the Hugging Face cache.${shippedHint}`);
}

/** circuit-tracer's file references: hf://ORG/NAME/PATH (optionally @REV, ignored: the cached snapshot is used) or a path. */
export function resolveFileUri(uri: string, baseDir: string, opts: ResolveDictionaryOptions, where: { file: string; field: string }): string {
  const m = /^hf:\/\/([\w.-]+)\/([\w.-]+)(?:@[\w.-]+)?\/(.+)$/.exec(uri);
  if (m) {
    const hit = inCache(m[1], m[2], m[3], opts);
    if (!hit) fail('NOT_FOUND', where, `${uri} is not in the Hugging Face cache.`, `Download it first: huggingface-cli download ${m[1]}/${m[2]} ${m[3]}`);
    return hit;
  }
  if (/^[a-z]+:\/\//i.test(uri)) fail('UNSUPPORTED', where, `${uri}: only hf:// references and paths are read.`);
  const p = path.resolve(baseDir, uri);
  if (!exists(p)) fail('NOT_FOUND', where, `${uri} does not exist.`);
  return p;
}
