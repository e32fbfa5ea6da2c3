/**
 * Reader for the safetensors format: an 8-byte little-endian header length, a JSON header mapping tensor
 * names to {dtype, shape, data_offsets}, then the raw little-endian bytes. Only the header is read when a
 * checkpoint opens; tensor bytes stay on disk (onnxruntime reads them through external data).
 */
import * as fs from 'node:fs';
import { fail } from './errors';
import { SAFETENSORS_DTYPE_BYTES } from './dtype';

/** A header larger than this is not a checkpoint header (GPT-2 XL's is about 60 KB). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute byte offset of the tensor's first byte in the file. */
  offset: number;
  byteLength: number;
}

export interface SafetensorsFile {
  path: string;
  fileSize: number;
  /** Absolute offset where the data section starts: 8 + header length. */
  dataStart: number;
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
}

function isShape(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && d >= 0);
}

/** Parses and validates the header of one safetensors file; never reads the tensor data. */
export function readSafetensorsHeader(path: string): SafetensorsFile {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (e) {
    fail('NOT_FOUND', { file: path }, `cannot open the weights file (${(e as NodeJS.ErrnoException).code ?? e}).`, 'Check the checkpoint folder.');
  }
  try {
    const fileSize = fs.fstatSync(fd).size;
    const where = { file: path };
    if (fileSize < 8) fail('BAD_WEIGHTS', where, `file is ${fileSize} bytes, too short for a safetensors header.`, 'The file is truncated: download it again.');
    const lenBuf = Buffer.alloc(8);
    fs.readSync(fd, lenBuf, 0, 8, 0);
    const headerLen = lenBuf.readBigUInt64LE(0);
    if (headerLen > BigInt(fileSize - 8)) {
      fail('BAD_WEIGHTS', where, `header length ${headerLen} is larger than the file (${fileSize} bytes).`, 'The file is truncated or not a safetensors file.');
    }
    if (headerLen > BigInt(MAX_HEADER_BYTES)) fail('BAD_WEIGHTS', where, `header length ${headerLen} exceeds ${MAX_HEADER_BYTES} bytes.`, 'This is not a safetensors file.');
    const n = Number(headerLen);
    const headerBuf = Buffer.alloc(n);
    fs.readSync(fd, headerBuf, 0, n, 8);
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBuf));
    } catch (e) {
      fail('BAD_WEIGHTS', where, `header is not valid UTF-8 JSON (${(e as Error).message}).`, 'The file is corrupt: download it again.');
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('BAD_WEIGHTS', where, 'header is not a JSON object.');
    const dataStart = 8 + n;
    const dataSize = fileSize - dataStart;
    const tensors = new Map<string, TensorEntry>();
    let metadata: Record<string, string> = {};
    for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') {
        metadata = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, string>;
        continue;
      }
      const field = { file: path, field: name };
      if (typeof raw !== 'object' || raw === null) fail('BAD_WEIGHTS', field, 'header entry is not an object.');
      const { dtype, shape, data_offsets: offs } = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      if (typeof dtype !== 'string' || !(dtype in SAFETENSORS_DTYPE_BYTES)) fail('BAD_WEIGHTS', field, `unknown dtype ${JSON.stringify(dtype)}.`);
      if (!isShape(shape)) fail('BAD_WEIGHTS', field, `shape ${JSON.stringify(shape)} is not a list of non-negative integers.`);
      if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1]) {
        fail('BAD_WEIGHTS', field, `data_offsets ${JSON.stringify(offs)} is not a [begin, end] pair.`);
      }
      const [begin, end] = offs as [number, number];
      if (end > dataSize) fail('BAD_WEIGHTS', field, `data ends at byte ${end} but the data section has ${dataSize} bytes.`, 'The file is truncated: download it again.');
      let elements = 1;
      for (const d of shape) {
        elements *= d;
        if (!Number.isSafeInteger(elements)) fail('BAD_WEIGHTS', field, `shape ${JSON.stringify(shape)} has too many elements.`);
      }
      const expected = elements * SAFETENSORS_DTYPE_BYTES[dtype];
      if (expected !== end - begin) fail('BAD_WEIGHTS', field, `shape ${JSON.stringify(shape)} of ${dtype} needs ${expected} bytes but data_offsets span ${end - begin}.`);
      tensors.set(name, { name, dtype, shape, offset: dataStart + begin, byteLength: end - begin });
    }
    const sorted = [...tensors.values()].filter((t) => t.byteLength > 0).sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1];
      if (sorted[i].offset < prev.offset + prev.byteLength) {
        fail('BAD_WEIGHTS', { file: path, field: sorted[i].name }, `data overlaps tensor ${prev.name}.`, 'The file is corrupt.');
      }
    }
    return { path, fileSize, dataStart, tensors, metadata };
  } finally {
    fs.closeSync(fd);
  }
}
