/**
 * NumPy .npz (a zip of .npy members, what numpy.savez and savez_compressed write) for Gemma Scope 1's
 * params.npz: float members inflated into float32 arrays. Nothing in the file is trusted for sizes: a
 * member's bytes are bounded by the shape its own .npy header declares (checked against a budget before
 * anything is allocated), inflation streams and stops as soon as it produces more than that, and the zip
 * directory's offsets are checked against the file.
 */
import * as fs from 'node:fs';
import { Inflate } from 'fflate';
import { halfToFloat } from '../dtype';
import { fail, isEngineError } from '../errors';

export interface NpyArray {
  shape: number[];
  /** Row-major (C order) float32 values. */
  data: Float32Array;
}

export interface NpzOptions {
  /** The most bytes of float32 the members may inflate to, all together. */
  maxBytes: number;
}

/** A .npy header longer than this is not one numpy wrote (it pads to 64 bytes; ours are under 128). */
const MAX_NPY_HEADER = 64 * 1024;
const MAX_CENTRAL_DIRECTORY = 1024 * 1024;
const MAX_MEMBERS = 1000;
const CHUNK = 1 << 20;

/** CRC-32 (the zip polynomial), to catch a corrupt member whose deflate stream still decodes. */
const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(crc: number, bytes: Uint8Array): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

interface Member {
  name: string;
  crc: number;
  method: number;
  flags: number;
  compressedSize: number;
  localOffset: number;
}

function readAt(fd: number, file: string, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const got = fs.readSync(fd, buf, done, length - done, offset + done);
    if (got === 0) fail('BAD_WEIGHTS', { file }, `file ends at byte ${offset + done}, inside a zip record.`, 'The file is truncated: download it again.');
    done += got;
  }
  return buf;
}

function u64(buf: Buffer, at: number): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  return Number(v);
}

/** The central directory's members, from the end-of-central-directory record (zip64 included). */
function members(fd: number, file: string, size: number): Member[] {
  const tailLen = Math.min(size, 65535 + 22);
  const tail = readAt(fd, file, size - tailLen, tailLen);
  let eocd = -1;
  for (let i = tailLen - 22; i >= 0; i--) if (tail.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  if (eocd < 0) fail('BAD_WEIGHTS', { file }, 'not a zip file (no end-of-central-directory record).', 'A .npz is a zip archive: download it again.');
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || tail.readUInt32LE(loc) !== 0x07064b50) fail('BAD_WEIGHTS', { file }, 'zip64 locator missing.');
    const z64Offset = u64(tail, loc + 8);
    if (z64Offset + 56 > size) fail('BAD_WEIGHTS', { file }, 'zip64 record lies outside the file.');
    const z = readAt(fd, file, z64Offset, 56);
    if (z.readUInt32LE(0) !== 0x06064b50) fail('BAD_WEIGHTS', { file }, 'zip64 end record missing.');
    count = u64(z, 32);
    cdSize = u64(z, 40);
    cdOffset = u64(z, 48);
  }
  if (count > MAX_MEMBERS) fail('BAD_WEIGHTS', { file }, `zip lists ${count} members; a params.npz has a handful.`);
  if (cdSize > MAX_CENTRAL_DIRECTORY || cdOffset + cdSize > size) fail('BAD_WEIGHTS', { file }, 'zip central directory lies outside the file or is implausibly large.');
  const cd = readAt(fd, file, cdOffset, cdSize);
  const out: Member[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50) fail('BAD_WEIGHTS', { file }, `zip central directory entry ${i} is malformed.`);
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    const crc = cd.readUInt32LE(p + 16);
    let compressedSize = cd.readUInt32LE(p + 20);
    const uncompressed32 = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    let localOffset = cd.readUInt32LE(p + 42);
    if (p + 46 + nameLen + extraLen > cd.length) fail('BAD_WEIGHTS', { file }, `zip central directory entry ${i} runs past the directory.`);
    const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
    // zip64 extra field: the 64-bit values, in this order, for each 32-bit field saturated at 0xffffffff.
    for (let e = p + 46 + nameLen; e + 4 <= p + 46 + nameLen + extraLen;) {
      const id = cd.readUInt16LE(e);
      const len = cd.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        const take = () => {
          if (q + 8 > e + 4 + len) fail('BAD_WEIGHTS', { file, field: name }, 'zip64 extra field is short.');
          const v = u64(cd, q);
          q += 8;
          return v;
        };
        if (uncompressed32 === 0xffffffff) take(); // the declared size is not used: the .npy header bounds it
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localOffset === 0xffffffff) localOffset = take();
      }
      e += 4 + len;
    }
    out.push({ name, crc, method, flags, compressedSize, localOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** Streams a member's .npy bytes: parses the header, then fills a float32 array of exactly its shape. */
class NpyReceiver {
  private head = Buffer.alloc(0);
  private raw?: Uint8Array;
  private filled = 0;
  shape?: number[];
  data?: Float32Array;
  private descr = '';
  /** CRC-32 of every byte received. */
  crc = 0;

  constructor(private readonly file: string, private readonly field: string, private readonly budget: () => number) {}

  push(chunk: Uint8Array): void {
    this.crc = crc32(this.crc, chunk);
    if (!this.raw) {
      this.head = Buffer.concat([this.head, chunk]);
      const start = this.parseHeader();
      if (start === undefined) return;
      chunk = this.head.subarray(start);
      this.head = Buffer.alloc(0);
    }
    const raw = this.raw!;
    if (this.filled + chunk.length > raw.length) {
      fail('BAD_WEIGHTS', { file: this.file, field: this.field }, `member holds more bytes than its shape [${this.shape!.join(', ')}] declares.`, 'The file is corrupt or hostile.');
    }
    raw.set(chunk, this.filled);
    this.filled += chunk.length;
  }

  /** The data's first byte once the header is complete, else undefined (more bytes needed). */
  private parseHeader(): number | undefined {
    const where = { file: this.file, field: this.field };
    const h = this.head;
    if (h.length < 10) return undefined;
    if (h.toString('latin1', 0, 6) !== '\x93NUMPY') fail('BAD_WEIGHTS', where, 'member is not a .npy array.');
    const major = h[6];
    if (major < 1 || major > 3) fail('BAD_WEIGHTS', where, `.npy version ${major} is not one numpy writes.`);
    const lenBytes = major === 1 ? 2 : 4;
    if (h.length < 8 + lenBytes) return undefined;
    const headerLen = major === 1 ? h.readUInt16LE(8) : h.readUInt32LE(8);
    if (headerLen > MAX_NPY_HEADER) fail('BAD_WEIGHTS', where, `.npy header of ${headerLen} bytes is implausibly large.`);
    const start = 8 + lenBytes + headerLen;
    if (h.length < start) {
      if (h.length > start + CHUNK) fail('BAD_WEIGHTS', where, '.npy header is malformed.');
      return undefined;
    }
    const text = h.toString('latin1', 8 + lenBytes, start);
    const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
    const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
    const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
    if (descr === undefined || fortran === undefined || shapeText === undefined) fail('BAD_WEIGHTS', where, `.npy header ${JSON.stringify(text.trim().slice(0, 120))} is malformed.`);
    if (!['<f4', '<f2', '<f8'].includes(descr)) fail('BAD_WEIGHTS', where, `member has dtype ${descr}, not a little-endian float array.`, 'Dictionary tensors must be float16, float32 or float64.');
    if (fortran === 'True') fail('UNSUPPORTED', where, 'member is stored in Fortran order.', 'Save it again with numpy.savez from a C-ordered array.');
    const dims = shapeText.split(',').map((s) => s.trim()).filter(Boolean);
    if (!dims.every((d) => /^\d{1,12}$/.test(d))) fail('BAD_WEIGHTS', where, `.npy shape (${shapeText}) is not a tuple of integers.`);
    const shape = dims.map(Number);
    const n = shape.reduce((a, b) => a * b, 1);
    const itemSize = Number(descr[2]);
    if (!Number.isSafeInteger(n * 8) || n * 4 > this.budget()) {
      fail('OVER_LIMIT', where, `member of shape [${shape.join(', ')}] would take ${n * 4} bytes of memory, more than the ${this.budget()} left for this dictionary.`, 'Raise the limit only for a file you trust.');
    }
    this.shape = shape;
    this.descr = descr;
    this.data = new Float32Array(n);
    this.raw = descr === '<f4' ? new Uint8Array(this.data.buffer) : new Uint8Array(n * itemSize);
    return start;
  }

  finish(): NpyArray {
    const where = { file: this.file, field: this.field };
    if (!this.raw) fail('BAD_WEIGHTS', where, 'member ends inside its .npy header.', 'The file is truncated.');
    if (this.filled !== this.raw.length) fail('BAD_WEIGHTS', where, `member holds ${this.filled} bytes but its shape [${this.shape!.join(', ')}] needs ${this.raw.length}.`, 'The file is truncated.');
    const data = this.data!;
    const view = new DataView(this.raw.buffer, this.raw.byteOffset, this.raw.byteLength);
    if (this.descr === '<f2') for (let i = 0; i < data.length; i++) data[i] = halfToFloat(view.getUint16(2 * i, true));
    if (this.descr === '<f8') for (let i = 0; i < data.length; i++) data[i] = view.getFloat64(8 * i, true);
    return { shape: this.shape!, data };
  }
}

/** Every `.npy` member of an .npz, by name without the extension, as float32. */
export function readNpz(file: string, opts: NpzOptions): Map<string, NpyArray> {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    fail('NOT_FOUND', { file }, `cannot open (${(e as NodeJS.ErrnoException).code ?? e}).`);
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size < 22) fail('BAD_WEIGHTS', { file }, `file is ${size} bytes, too short for a zip archive.`);
    const out = new Map<string, NpyArray>();
    let used = 0;
    for (const m of members(fd, file, size)) {
      if (!m.name.endsWith('.npy')) continue;
      const field = m.name.slice(0, -4);
      if (m.flags & 1) fail('UNSUPPORTED', { file, field }, 'member is encrypted.');
      if (m.method !== 0 && m.method !== 8) fail('UNSUPPORTED', { file, field }, `zip compression method ${m.method} (only stored and deflate are read).`);
      if (m.localOffset + 30 > size) fail('BAD_WEIGHTS', { file, field }, 'member lies outside the file.');
      const local = readAt(fd, file, m.localOffset, 30);
      if (local.readUInt32LE(0) !== 0x04034b50) fail('BAD_WEIGHTS', { file, field }, 'member has no local zip header.');
      const dataStart = m.localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
      if (dataStart + m.compressedSize > size) fail('BAD_WEIGHTS', { file, field }, 'member data runs past the end of the file.', 'The file is truncated.');
      const rx = new NpyReceiver(file, field, () => opts.maxBytes - used);
      const inflater = m.method === 8 ? new Inflate((chunk) => rx.push(chunk)) : undefined;
      try {
        for (let off = 0; off < m.compressedSize; off += CHUNK) {
          const len = Math.min(CHUNK, m.compressedSize - off);
          const chunk = readAt(fd, file, dataStart + off, len);
          if (inflater) inflater.push(chunk, off + len >= m.compressedSize);
          else rx.push(chunk);
        }
        if (inflater && m.compressedSize === 0) inflater.push(new Uint8Array(0), true);
      } catch (e) {
        if (isEngineError(e)) throw e;
        fail('BAD_WEIGHTS', { file, field }, `member does not inflate (${(e as Error).message}).`, 'The file is corrupt: download it again.');
      }
      const arr = rx.finish();
      if (rx.crc !== m.crc) fail('BAD_WEIGHTS', { file, field }, 'member fails its CRC check.', 'The file is corrupt: download it again.');
      used += arr.data.byteLength;
      out.set(field, arr);
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}
