/**
 * NumPy .npy (format 1.0) for float32 tensors in C order, so Python users can `np.load` what we save: a
 * CLI trace's cache, or the data of a panel's plot. Plain bytes (no Node Buffer), so webviews use it too.
 */
import type { TensorData } from './tensor';

const MAGIC = '\x93NUMPY';

function latin1(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

export function encodeNpy(t: TensorData): Uint8Array {
  return encodeNpyOf(t.dims, t.data, '<f4');
}

/** A little-endian int32 C-order .npy (token ids, indices). */
export function encodeNpyInt32(dims: number[], data: Int32Array): Uint8Array {
  return encodeNpyOf(dims, data, '<i4');
}

function encodeNpyOf(dims: number[], data: Float32Array | Int32Array, descr: '<f4' | '<i4'): Uint8Array {
  const t = { dims, data };
  const shape = t.dims.length === 1 ? `(${t.dims[0]},)` : `(${t.dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Magic (6) + version (2) + header length (2) + header + '\n' is padded with spaces to a multiple of 64.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(10 + header.length + t.data.byteLength);
  out.set(latin1(MAGIC), 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(latin1(header), 10);
  // float32 little-endian: every platform we run on is little-endian, so the bytes go as they are.
  out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), 10 + header.length);
  return out;
}

/** Reads a little-endian float32 C-order .npy file (what encodeNpy writes and NumPy saves by default). */
export function decodeNpy(buf: Uint8Array): TensorData {
  const text = (from: number, to: number) => String.fromCharCode(...buf.subarray(from, to));
  if (text(0, 6) !== MAGIC) throw new Error('not a .npy file');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const major = buf[6];
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = text(start, start + headerLen);
  if (!header.includes("'<f4'") || header.includes("'fortran_order': True")) throw new Error(`unsupported .npy header ${header}`);
  const shapeText = /'shape': \(([^)]*)\)/.exec(header)?.[1] ?? '';
  const dims = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const bytes = buf.subarray(start + headerLen);
  const data = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(data.buffer).set(bytes);
  return { dims, data };
}
