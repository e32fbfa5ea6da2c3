/**
 * Opens a sparse dictionary in any supported format: resolves the folder (disk or Hugging Face cache),
 * sniffs the format from the files present, reads it into a SparseDictionary, applies the user's hook,
 * and checks the hooks (and d_in) against the model's when those are given.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fail } from '../errors';
import { HookPoint, closestHookName } from '../hooks';
import { ReaderOptions } from './formats/common';
import { isCircuitTracerFolder, readCircuitTracer } from './formats/circuit-tracer';
import { isGemmaScopeFolder, readGemmaScope } from './formats/gemma-scope';
import { isGemmaScope2Folder, readGemmaScope2 } from './formats/gemma-scope-2';
import { isLlamaScopeFolder, readLlamaScope } from './formats/llama-scope';
import { isSaeLensFolder, readSaeLens } from './formats/saelens';
import { isSparsifyFolder, readSparsify } from './formats/sparsify';
import { isPickle, refusePickle } from './pickles';
import { resolveDictionaryPath } from './resolve';
import type { SparseDictionary } from './types';

export interface OpenDictionaryOptions extends ReaderOptions {
  /** The model's hook points (names, or HookPoints to check d_in against their shapes too). */
  modelHooks?: readonly (string | HookPoint)[];
  /** For per-layer sets (circuit-tracer): the layer to open. */
  layer?: number;
}

/** Sniffed in this order: each test needs the files that format alone has. */
const FORMATS: { test: (dir: string) => boolean; read: (dir: string, opts: ReaderOptions) => SparseDictionary | SparseDictionary[] }[] = [
  { test: isCircuitTracerFolder, read: readCircuitTracer },
  { test: isGemmaScope2Folder, read: readGemmaScope2 },
  { test: isSaeLensFolder, read: readSaeLens },
  { test: isSparsifyFolder, read: readSparsify },
  { test: isLlamaScopeFolder, read: readLlamaScope },
  { test: isGemmaScopeFolder, read: readGemmaScope },
];

const LAYOUTS = 'cfg.json + sae_weights.safetensors (SAELens), params.npz (Gemma Scope), config.json + params.safetensors (Gemma Scope 2), '
  + 'hyperparams.json + checkpoints/final.safetensors (Llama Scope), cfg.json + sae.safetensors (sparsify), config.yaml (circuit-tracer)';

function isDictionaryFolder(dir: string): boolean {
  return FORMATS.some((f) => f.test(dir));
}

/** The folder to read: a named file stands for its folder, unless it is a pickle. */
function folderOf(target: string): string {
  if (fs.statSync(target).isDirectory()) return target;
  if (isPickle(target)) refusePickle(target);
  return path.dirname(target);
}

function noDictionary(dir: string): never {
  const entries = fs.readdirSync(dir);
  const pickles = entries.filter((e) => isPickle(path.join(dir, e)) && fs.statSync(path.join(dir, e)).isFile());
  if (pickles.length) refusePickle(path.join(dir, pickles[0]));
  const inner = entries.filter((e) => fs.statSync(path.join(dir, e)).isDirectory() && isDictionaryFolder(path.join(dir, e)));
  if (inner.length) {
    fail('BAD_INPUT', { file: dir }, `this folder holds ${inner.length} dictionaries in subfolders.`, `Name one: ${inner.slice(0, 8).map((e) => path.join(dir, e)).join(', ')}${inner.length > 8 ? ', ...' : ''}.`);
  }
  fail('NOT_FOUND', { file: dir }, 'no sparse dictionary in this folder.', `Expected one of: ${LAYOUTS}.`);
}

function hookPoint(h: string | HookPoint): HookPoint {
  return typeof h === 'string' ? { name: h, shape: [], output: h, needsAttnResult: false } : h;
}

/** Every hook the dictionary touches must be the model's; with shapes, d_in and d_out must match them. */
function checkAgainstModel(d: SparseDictionary, modelHooks: readonly (string | HookPoint)[]): void {
  const hooks = modelHooks.map(hookPoint);
  const byName = new Map(hooks.map((h) => [h.name, h]));
  const width = (h: HookPoint) => {
    const dims = h.shape.filter((x): x is number => typeof x === 'number');
    return dims.length === 0 ? undefined : d.reshapeActivations === 'hook_z' && dims.length >= 2 ? dims[dims.length - 2] * dims[dims.length - 1] : dims[dims.length - 1];
  };
  const named: [string, string, number][] = [['hook', d.hookIn, d.dIn]];
  for (const h of d.crossLayer?.hooksOut ?? (d.hookOut ? [d.hookOut] : [])) named.push(['output hook', h, d.dOut]);
  for (const [what, name, size] of named) {
    const hp = byName.get(name);
    if (!hp) {
      const near = closestHookName(name, hooks);
      fail('UNKNOWN_HOOK', { file: d.dir, field: name }, `the dictionary's ${what} is not a hook point of this model.`,
        `${near ? `Closest: ${near}. ` : ''}Name the right one with DIR@HOOK, or list them with: circuit-lens hooks --model <model>`);
    }
    const w = width(hp);
    if (w !== undefined && w !== size) {
      fail('BAD_INPUT', { file: d.dir, field: name }, `the dictionary's ${what} has ${size} values per token but ${name} has ${w}${d.reshapeActivations === 'hook_z' ? ' (heads x d_head)' : ''}.`,
        'The dictionary belongs to another model or another hook.');
    }
  }
}

/** Every dictionary at `ref` (one for most formats, one per layer for circuit-tracer sets). */
export function openDictionaries(ref: string, opts: OpenDictionaryOptions = {}): SparseDictionary[] {
  const dir = folderOf(resolveDictionaryPath(ref, opts));
  const format = FORMATS.find((f) => f.test(dir));
  if (!format) noDictionary(dir);
  const read = format.read(dir, opts);
  const all = Array.isArray(read) ? read : [read];
  if (opts.modelHooks) for (const d of all) checkAgainstModel(d, opts.modelHooks);
  return all;
}

/**
 * The dictionaries one attachment names: every layer of a cross-layer transcoder named without a hook or
 * layer (its layers predict together), else the one dictionary openDictionary picks.
 */
export function openAttachable(ref: string, opts: OpenDictionaryOptions = {}): SparseDictionary[] {
  if (opts.hook === undefined && opts.layer === undefined) {
    const { modelHooks, ...readOpts } = opts;
    const all = openDictionaries(ref, readOpts);
    if (all.length > 1 && all.every((d) => d.crossLayer)) {
      if (modelHooks) for (const d of all) checkAgainstModel(d, modelHooks);
      return all;
    }
  }
  return [openDictionary(ref, opts)];
}

/**
 * The one dictionary at `ref`. In a per-layer set, `layer` or the user's `hook` (matching a layer's input
 * hook) picks it; a set of one takes the user's hook as an override.
 */
export function openDictionary(ref: string, opts: OpenDictionaryOptions = {}): SparseDictionary {
  const { modelHooks, ...readOpts } = opts;
  const all = openDictionaries(ref, readOpts);
  let d: SparseDictionary | undefined;
  if (all.length === 1) {
    d = all[0];
    if (opts.hook && d.hookIn !== opts.hook) d = { ...d, hookIn: opts.hook, hookSource: 'user' };
  } else if (opts.layer !== undefined) {
    d = all.find((x) => x.layer === opts.layer);
    if (!d) fail('BAD_INPUT', { file: all[0].dir, field: 'layer' }, `no layer ${opts.layer}; this set has layers 0-${all.length - 1}.`);
  } else if (opts.hook) {
    d = all.find((x) => x.hookIn === opts.hook);
    if (!d) fail('BAD_INPUT', { file: all[0].dir, field: opts.hook }, `no layer of this set reads ${opts.hook}.`, `Its hooks: ${all.map((x) => x.hookIn).join(', ')}.`);
  } else {
    fail('BAD_INPUT', { file: all[0].dir }, `this folder holds ${all.length} per-layer dictionaries.`, `Pick one by its hook (DIR@HOOK): ${all.slice(0, 4).map((x) => x.hookIn).join(', ')}${all.length > 4 ? ', ...' : ''}.`);
  }
  if (modelHooks) checkAgainstModel(d, modelHooks);
  return d;
}
