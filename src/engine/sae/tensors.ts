/**
 * A dictionary's tensors as WeightRefs: safetensors headers read (never their data), files resolved to
 * their real folder (Hugging Face cache snapshots link into blobs/), and shape checks that name the file,
 * the tensor and the dimension at fault.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isFloatDtype } from '../dtype';
import { fail } from '../errors';
import type { WeightRef } from '../params';
import { readSafetensorsHeader } from '../safetensors';
import type { DictionarySource } from './types';

export interface TensorTable {
  source: DictionarySource;
  /** By tensor name: the reference and the file (as the user named it) it comes from. */
  refs: Map<string, { ref: WeightRef; file: string }>;
  /** Tensors present but not float, reported by name when a reader needs one. */
  nonFloat: Map<string, { dtype: string; file: string }>;
}

/** The deepest folder holding every one of `dirs` (a dictionary's files; a model's and its dictionaries' folders). */
export function commonAncestor(dirs: readonly string[]): string {
  let parts = path.resolve(dirs[0]).split(path.sep);
  for (const d of dirs.slice(1)) {
    const other = path.resolve(d).split(path.sep);
    let i = 0;
    while (i < parts.length && i < other.length && parts[i] === other[i]) i++;
    parts = parts.slice(0, i);
  }
  return parts.join(path.sep) || path.sep;
}

/** An empty table whose files live under the common real folder of `files` (or `fallbackDir` for none). */
export function tensorTable(files: readonly string[], fallbackDir: string): TensorTable {
  const real = files.map((f) => {
    try {
      return fs.realpathSync(f);
    } catch {
      fail('NOT_FOUND', { file: f }, 'no such file.', 'The dictionary folder is incomplete: download it again.');
    }
  });
  const dataDir = real.length ? commonAncestor(real.map((f) => path.dirname(f))) : fallbackDir;
  const table: TensorTable = { source: { weights: { dataDir }, memory: new Map() }, refs: new Map(), nonFloat: new Map() };
  files.forEach((file, i) => {
    const st = readSafetensorsHeader(real[i]);
    const location = path.relative(dataDir, real[i]);
    for (const e of st.tensors.values()) {
      if (table.refs.has(e.name)) fail('BAD_WEIGHTS', { file, field: e.name }, 'tensor appears in more than one file of this dictionary.');
      if (!isFloatDtype(e.dtype)) {
        table.nonFloat.set(e.name, { dtype: e.dtype, file });
        continue;
      }
      table.refs.set(e.name, { ref: { name: e.name, dtype: e.dtype, shape: e.shape, location, offset: e.offset, length: e.byteLength }, file });
    }
  });
  return table;
}

/** Adds a float32 tensor held in memory (an inflated npz member, or a constant expanded to a vector). */
export function addMemoryTensor(t: TensorTable, location: string, name: string, shape: number[], data: Float32Array, file: string): WeightRef {
  const ref: WeightRef = { name, dtype: 'F32', shape, location, offset: 0, length: data.byteLength };
  t.source.memory.set(location, data);
  t.refs.set(name, { ref, file });
  return ref;
}

/** One expected dimension: its name for messages, and its size when already known. */
export type Dim = [label: string, size?: number];

/** The file a table's tensors are reported against when a tensor is missing. */
function filesOf(t: TensorTable): string {
  const files = [...new Set([...t.refs.values()].map((r) => r.file))];
  return files.length === 1 ? files[0] : files.length ? files.join(', ') : t.source.weights.dataDir;
}

/** A tensor that may be absent; when present its shape must match `dims`. */
export function optional(t: TensorTable, name: string, dims: Dim[]): WeightRef | undefined {
  const hit = t.refs.get(name);
  if (!hit) {
    const bad = t.nonFloat.get(name);
    if (bad) fail('BAD_WEIGHTS', { file: bad.file, field: name }, `dtype ${bad.dtype} is not a float type.`, 'Dictionary tensors must be F32, F16 or BF16.');
    return undefined;
  }
  const { ref, file } = hit;
  const want = `[${dims.map(([l, s]) => (s === undefined ? l : `${l}=${s}`)).join(', ')}]`;
  if (ref.shape.length !== dims.length || dims.some(([, s], i) => s !== undefined && ref.shape[i] !== s)) {
    fail('BAD_WEIGHTS', { file, field: name }, `shape [${ref.shape.join(', ')}] does not match the expected ${want}.`, 'The file does not belong with this config, or is corrupt.');
  }
  if (ref.shape.some((d) => d === 0)) fail('BAD_WEIGHTS', { file, field: name }, `shape [${ref.shape.join(', ')}] has an empty dimension.`);
  return ref;
}

/** A tensor that must be present. */
export function need(t: TensorTable, name: string, dims: Dim[]): WeightRef {
  const ref = optional(t, name, dims);
  if (!ref) fail('BAD_WEIGHTS', { file: filesOf(t), field: name }, `tensor ${name} is missing.`, `Tensors present: ${[...t.refs.keys()].join(', ') || 'none'}.`);
  return ref;
}

/** A constant vector as an in-memory tensor (Llama Scope's one threshold for every feature). */
export function constantVector(t: TensorTable, name: string, size: number, value: number, file: string): WeightRef {
  return addMemoryTensor(t, `constant:${name}`, name, [size], new Float32Array(size).fill(value), file);
}
