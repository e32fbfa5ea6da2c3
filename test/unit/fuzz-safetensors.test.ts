/**
 * Fuzzing the safetensors reader with 10,000 seeded cases: valid files mutated (bytes flipped, header
 * length changed, file truncated), and headers generated from hostile values (overlaps, out-of-bounds
 * offsets, overflowing shapes, unknown dtypes, deep nesting, wrong JSON types). Each case ends in a
 * parsed header whose tensors all lie inside the file without overlap, or in an EngineError.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSafetensorsHeader } from '../../src/engine/safetensors';
import { readTensorF32 } from '../helpers/tensors';
import { tmpDir } from '../helpers/reference';
import { Rng, fuzz } from '../helpers/fuzz';
import { f32, safetensorsBytes } from '../helpers/safetensors-writer';

const file = path.join(tmpDir('fuzz-st'), 'm.safetensors');
const DTYPES = ['F32', 'F16', 'BF16', 'I64', 'U8', 'BOOL', 'F64', 'F8_E4M3', 'f32', 'Q4', '', 'F3'];

function hostileValue(r: Rng, depth = 0): unknown {
  switch (r.int(0, 9)) {
    case 0: return r.int(-5, 5);
    case 1: return 2 ** r.int(31, 70);
    case 2: return -(2 ** r.int(0, 60));
    case 3: return r.next();
    case 4: return r.pick(DTYPES);
    case 5: return null;
    case 6: return depth > 3 ? [] : Array.from({ length: r.int(0, 3) }, () => hostileValue(r, depth + 1));
    case 7: return depth > 3 ? {} : { x: hostileValue(r, depth + 1) };
    case 8: return true;
    default: return NaN;
  }
}

function generated(r: Rng): Buffer {
  const n = r.int(0, 5);
  const header: Record<string, unknown> = {};
  let off = 0;
  for (let i = 0; i < n; i++) {
    const dtype = r.next() < 0.7 ? r.pick(['F32', 'F16', 'BF16']) : hostileValue(r);
    const shape = r.next() < 0.7 ? Array.from({ length: r.int(0, 3) }, () => r.int(0, 6)) : hostileValue(r);
    const dims = Array.isArray(shape) ? shape.filter((d): d is number => Number.isSafeInteger(d) && d >= 0 && d < 100) : [];
    const size = dims.reduce((a, b) => a * b, 1) * 4;
    const begin = r.next() < 0.8 ? off : r.int(-10, off + 50);
    const offsets = r.next() < 0.8 ? [begin, begin + size] : hostileValue(r);
    header[r.next() < 0.9 ? `t${i}` : '__metadata__'] = r.next() < 0.9 ? { dtype, shape, data_offsets: offsets } : hostileValue(r);
    off += r.int(0, size);
  }
  let json = JSON.stringify(header);
  if (r.next() < 0.05) json = '['.repeat(r.int(1000, 200000)) + ']'.repeat(r.int(0, 10)); // deep nesting
  if (r.next() < 0.05) json = json.slice(0, r.int(0, json.length)); // broken JSON
  const body = Buffer.from(json);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(body.length));
  return Buffer.concat([len, body, Buffer.alloc(r.int(0, off + 20))]);
}

function mutated(r: Rng, base: Buffer): Buffer {
  const b = Buffer.from(base);
  const kind = r.int(0, 3);
  if (kind === 0) for (let k = r.int(1, 8); k > 0; k--) b[r.int(0, b.length - 1)] = r.int(0, 255);
  if (kind === 1) b.writeBigUInt64LE(BigInt(r.next() < 0.5 ? r.int(0, b.length + 100) : 2 ** r.int(20, 63)) & 0xffffffffffffffffn, 0);
  if (kind === 2) return b.subarray(0, r.int(0, b.length));
  if (kind === 3) return Buffer.concat([b, Buffer.alloc(r.int(1, 64), r.int(0, 255))]);
  return b;
}

test('10,000 fuzzed safetensors files end in a valid header or an EngineError', () => {
  const base = safetensorsBytes({
    a: { dtype: 'F32', shape: [2, 3], bytes: f32([1, 2, 3, 4, 5, 6]) },
    b: { dtype: 'F16', shape: [4], bytes: new Uint8Array(8) },
    c: { dtype: 'BF16', shape: [1, 2], bytes: new Uint8Array(4) },
  });
  const outcome = fuzz('safetensors', 10_000, 1, (r) => {
    fs.writeFileSync(file, r.next() < 0.5 ? mutated(r, base) : generated(r));
    const st = readSafetensorsHeader(file);
    // Whatever parsed is safe to use: in bounds, no overlaps, readable.
    const spans = [...st.tensors.values()].filter((t) => t.byteLength > 0).sort((x, y) => x.offset - y.offset);
    spans.forEach((t, i) => {
      assert.ok(t.offset >= st.dataStart && t.offset + t.byteLength <= st.fileSize);
      if (i > 0) assert.ok(t.offset >= spans[i - 1].offset + spans[i - 1].byteLength);
    });
    for (const t of st.tensors.values()) if (['F32', 'F16', 'BF16'].includes(t.dtype)) assert.equal(readTensorF32(st, t.name).length, t.shape.reduce((x, y) => x * y, 1));
  });
  assert.ok(outcome.ok > 100 && outcome.engineErrors > 1000, `ok ${outcome.ok}, errors ${outcome.engineErrors}`);
  console.log(`# safetensors fuzz: ${outcome.ok} parsed, ${outcome.engineErrors} EngineErrors in ${outcome.kinds.size} kinds`);
});

test('1,000 overlapping layouts and 1,000 shapes with overflowing element counts are all refused', () => {
  const refuse = (name: string, seed: number, make: (r: Rng) => Buffer, why: RegExp) => {
    const outcome = fuzz(name, 1000, seed, (r) => {
      fs.writeFileSync(file, make(r));
      readSafetensorsHeader(file);
    });
    assert.equal(outcome.ok, 0, `${name}: every case is refused`);
    for (const kind of outcome.kinds.keys()) assert.match(kind, why);
    console.log(`# ${name}: ${outcome.engineErrors} EngineErrors of 1000`);
  };
  // Two tensors of n floats each, the second starting inside the first.
  refuse('overlapping tensors', 5, (r) => {
    const n = r.int(1, 64);
    const start = r.int(0, 4 * n - 1);
    return safetensorsBytes({ a: { dtype: 'F32', shape: [n], bytes: new Uint8Array(4 * n) }, b: { dtype: 'F32', shape: [n], bytes: new Uint8Array(4 * n) } },
      (h) => ((h.b as { data_offsets: number[] }).data_offsets = [start, start + 4 * n]));
  }, /overlaps tensor a/);
  // Shapes whose element count passes 2^53 (doubles lose integers), with small byte spans.
  refuse('overflowing shapes', 6, (r) => safetensorsBytes({ a: { dtype: 'F32', shape: [1], bytes: new Uint8Array(4) } },
    (h) => ((h.a as { shape: number[] }).shape = Array.from({ length: r.int(2, 6) }, () => 2 ** r.int(17, 40)).concat([2 ** 20]))), /has too many elements/);
});
