/**
 * Reads weights outside the graph, as float32: the rows of the unembedding for a handful of tokens, a
 * final-norm vector, or whole tensors (weight processing). A tensor is read from its safetensors bytes,
 * or from memory when weight processing made it (src/engine/processing/).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { toFloat32 } from './dtype';
import { fail } from './errors';
import type { WeightRef } from './params';

/** Where a checkpoint's tensors are: the folder of its safetensors files, and the tensors held in memory. */
export interface WeightSource {
  weights: { dataDir: string };
  /** By WeightRef.location: processed tensors, fp32. */
  memory?: ReadonlyMap<string, Float32Array>;
}

/** Rows of a 2-D weight (all of a 1-D one when `rows` is absent), as float32. */
export function readWeightRows(source: WeightSource, ref: WeightRef, rows?: readonly number[]): Float32Array[] {
  const width = ref.shape.length === 2 ? ref.shape[1] : ref.shape[0];
  const want = rows ?? [0];
  for (const r of want) {
    if (ref.shape.length === 2 && !(Number.isInteger(r) && r >= 0 && r < ref.shape[0])) fail('BAD_INPUT', { field: ref.name }, `row ${r} is outside [0, ${ref.shape[0]}).`);
  }
  const held = source.memory?.get(ref.location);
  if (held) return want.map((r) => held.slice(r * width, (r + 1) * width));
  return withFile(source, ref, (fd, file) => want.map((r) => readBytes(fd, file, ref, r * width, width)));
}

/** A whole tensor as a fresh float32 array (row-major, ref.shape). */
export function readTensor(source: WeightSource, ref: WeightRef): Float32Array {
  const held = source.memory?.get(ref.location);
  if (held) return held.slice();
  const n = ref.shape.reduce((a, b) => a * b, 1);
  return withFile(source, ref, (fd, file) => readBytes(fd, file, ref, 0, n));
}

function withFile<T>(source: WeightSource, ref: WeightRef, read: (fd: number, file: string) => T): T {
  const file = path.join(source.weights.dataDir, ref.location);
  const fd = fs.openSync(file, 'r');
  try {
    return read(fd, file);
  } finally {
    fs.closeSync(fd);
  }
}

/** `count` elements of a tensor from element `first`, as float32. */
function readBytes(fd: number, file: string, ref: WeightRef, first: number, count: number): Float32Array {
  const elem = ref.dtype === 'F32' ? 4 : 2;
  const out = ref.dtype === 'F32' ? new Float32Array(count) : undefined; // fp32 is read straight into place
  const bytes = out ? new Uint8Array(out.buffer) : Buffer.alloc(count * elem);
  let done = 0;
  while (done < bytes.length) {
    const got = fs.readSync(fd, bytes, done, bytes.length - done, ref.offset + first * elem + done);
    if (got === 0) fail('BAD_WEIGHTS', { file, field: ref.name }, 'file ended inside the tensor.', 'The file is truncated.');
    done += got;
  }
  return out ?? toFloat32(bytes, ref.dtype);
}
