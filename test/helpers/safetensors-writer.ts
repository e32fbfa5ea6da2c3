/** Writes small safetensors files for tests, optionally with a hand-edited header. */
import * as fs from 'node:fs';

export interface RawTensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

export function safetensorsBytes(tensors: Record<string, RawTensor>, editHeader?: (h: Record<string, unknown>) => void): Buffer {
  const header: Record<string, unknown> = {};
  let off = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.bytes.length] };
    off += t.bytes.length;
  }
  editHeader?.(header);
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...Object.values(tensors).map((t) => Buffer.from(t.bytes))]);
}

export function f32(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

export function writeSafetensors(file: string, tensors: Record<string, RawTensor>, editHeader?: (h: Record<string, unknown>) => void): void {
  fs.writeFileSync(file, safetensorsBytes(tensors, editHeader));
}
