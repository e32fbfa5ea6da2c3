/**
 * Reads a few weights on the host side, straight from the safetensors bytes: the rows of the
 * unembedding for a handful of tokens, or a final-norm vector, without loading whole matrices.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { toFloat32 } from './dtype';
import { fail } from './errors';
import type { WeightRef } from './params';

/** Rows of a 2-D weight (all of a 1-D one when `rows` is absent), as float32. */
export function readWeightRows(dataDir: string, ref: WeightRef, rows?: readonly number[]): Float32Array[] {
  const file = path.join(dataDir, ref.location);
  const elem = ref.dtype === 'F32' ? 4 : 2;
  const width = ref.shape.length === 2 ? ref.shape[1] : ref.shape[0];
  const want = rows ?? [0];
  const fd = fs.openSync(file, 'r');
  try {
    return want.map((r) => {
      if (ref.shape.length === 2 && !(Number.isInteger(r) && r >= 0 && r < ref.shape[0])) fail('BAD_INPUT', { field: ref.name }, `row ${r} is outside [0, ${ref.shape[0]}).`);
      const bytes = Buffer.alloc(width * elem);
      const got = fs.readSync(fd, bytes, 0, bytes.length, ref.offset + r * width * elem);
      if (got !== bytes.length) fail('BAD_WEIGHTS', { file, field: ref.name }, 'file ended inside the tensor.', 'The file is truncated.');
      return toFloat32(bytes, ref.dtype);
    });
  } finally {
    fs.closeSync(fd);
  }
}
