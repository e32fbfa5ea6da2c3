/** What tests compute from weights and logits themselves (no longer in src: nothing there needs it). */
import * as fs from 'node:fs';
import { FloatDtype, isFloatDtype, toFloat32 } from '../../src/engine/dtype';
import { fail } from '../../src/engine/errors';
import { logProbAt } from '../../src/engine/math';
import type { SafetensorsFile } from '../../src/engine/safetensors';
import type { TensorData } from '../../src/protocol/tensor';

/** Reads one floating-point tensor into a new Float32Array (f16 and bf16 upcast exactly). */
export function readTensorF32(file: SafetensorsFile, name: string): Float32Array {
  const t = file.tensors.get(name);
  if (!t) fail('BAD_WEIGHTS', { file: file.path, field: name }, 'tensor not found.');
  if (!isFloatDtype(t.dtype)) fail('UNSUPPORTED', { file: file.path, field: name }, `dtype ${t.dtype} is not F32, F16 or BF16.`);
  const bytes = Buffer.alloc(t.byteLength);
  const fd = fs.openSync(file.path, 'r');
  try {
    let done = 0;
    while (done < t.byteLength) {
      const got = fs.readSync(fd, bytes, done, t.byteLength - done, t.offset + done);
      if (got === 0) fail('BAD_WEIGHTS', { file: file.path, field: name }, 'file ended while reading the tensor.', 'The file is truncated.');
      done += got;
    }
  } finally {
    fs.closeSync(fd);
  }
  return toFloat32(bytes, t.dtype as FloatDtype);
}

/** Loss of predicting tokens[b][p + 1] at position p: [batch][pos - 1], in nats. */
export function tokenLosses(logits: TensorData, tokens: readonly (readonly number[])[]): number[][] {
  const [batch, pos, vocab] = logits.dims; // [batch, pos, d_vocab]
  return Array.from({ length: batch }, (_, b) =>
    Array.from({ length: pos - 1 }, (_, p) => {
      const row = logits.data.subarray((b * pos + p) * vocab, (b * pos + p + 1) * vocab);
      return -logProbAt(row, tokens[b][p + 1]);
    }),
  );
}
