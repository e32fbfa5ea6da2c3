/**
 * Finds NaN and infinite values in a checkpoint's weights, read straight from the safetensors files in
 * chunks. A float is non-finite when all its exponent bits are set, so each dtype is checked on its raw
 * bits: no conversion, one integer test per value.
 */
import * as fs from 'node:fs';
import type { WeightIndex } from './checkpoint';

/** Exponent mask (all ones = NaN or infinity) and width of each float dtype the reader accepts. */
const EXPONENT: Record<string, { mask: number; bytes: 2 | 4 }> = {
  F32: { mask: 0x7f800000, bytes: 4 },
  F16: { mask: 0x7c00, bytes: 2 },
  BF16: { mask: 0x7f80, bytes: 2 },
};

/** NaN and ±Inf values in little-endian bytes of `dtype` (0 for dtypes that are not floats). */
export function countNonFinite(bytes: Uint8Array, dtype: string): number {
  const e = EXPONENT[dtype];
  if (!e) return 0;
  const n = Math.floor(bytes.byteLength / e.bytes);
  const words = e.bytes === 4 ? new Uint32Array(bytes.buffer, bytes.byteOffset, n) : new Uint16Array(bytes.buffer, bytes.byteOffset, n);
  const mask = e.mask;
  let count = 0;
  for (let i = 0; i < n; i++) if ((words[i] & mask) === mask) count++;
  return count;
}

export interface NonFiniteTensor {
  name: string;
  file: string;
  /** NaN or infinite values, of `total`. */
  count: number;
  total: number;
}

/** Bytes read at a time: a multiple of every dtype's width, so chunks never split a value. */
const CHUNK_BYTES = 16 * 2 ** 20;

/** Every float tensor with non-finite values, in file order. */
export function scanNonFinite(weights: WeightIndex): NonFiniteTensor[] {
  const found: NonFiniteTensor[] = [];
  // Aligned for the 32-bit view: a fresh ArrayBuffer starts at offset 0.
  const chunk = new Uint8Array(new ArrayBuffer(CHUNK_BYTES));
  for (const file of weights.files) {
    const fd = fs.openSync(file.path, 'r');
    try {
      for (const t of file.tensors.values()) {
        const e = EXPONENT[t.dtype];
        if (!e || t.byteLength === 0) continue;
        let count = 0;
        for (let done = 0; done < t.byteLength; done += CHUNK_BYTES) {
          const want = Math.min(CHUNK_BYTES, t.byteLength - done);
          const got = fs.readSync(fd, chunk, 0, want, t.offset + done);
          count += countNonFinite(chunk.subarray(0, got), t.dtype);
          if (got < want) break; // truncated files are reported by the header checks
        }
        if (count > 0) found.push({ name: t.name, file: file.path, count, total: t.byteLength / e.bytes });
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  return found;
}

/** One warning line naming the worst tensors. */
export function describeNonFinite(model: string, found: readonly NonFiniteTensor[]): string {
  const values = found.reduce((a, t) => a + t.count, 0);
  const worst = [...found].sort((a, b) => b.count - a.count).slice(0, 3).map((t) => `${t.name} (${t.count} of ${t.total})`).join(', ');
  return `${model} has ${values} NaN or infinite weight value${values === 1 ? '' : 's'} in ${found.length} tensor${found.length === 1 ? '' : 's'}: ${worst}${found.length > 3 ? ', …' : ''}. Outputs that depend on them will be NaN; check how the checkpoint was saved.`;
}
