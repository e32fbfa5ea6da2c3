import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSafetensorsHeader } from '../../src/engine/safetensors';
import { EngineError } from '../../src/engine/errors';
import { bfloatToFloat, halfToFloat } from '../../src/engine/dtype';
import { tmpDir } from '../helpers/reference';
import { readTensorF32 } from '../helpers/tensors';
import { f32, safetensorsBytes, writeSafetensors } from '../helpers/safetensors-writer';

const dir = tmpDir('st');
const good = { a: { dtype: 'F32', shape: [2, 2], bytes: f32([1, 2, 3, 4]) }, b: { dtype: 'F16', shape: [2], bytes: new Uint8Array([0x00, 0x3c, 0x00, 0xc0]) } };

test('reads a valid file: entries, absolute offsets, f32 and f16 values', () => {
  const file = path.join(dir, 'good.safetensors');
  writeSafetensors(file, good);
  const st = readSafetensorsHeader(file);
  assert.deepEqual([...st.tensors.keys()], ['a', 'b']);
  assert.equal(st.tensors.get('a')!.offset, st.dataStart);
  assert.deepEqual([...readTensorF32(st, 'a')], [1, 2, 3, 4]);
  assert.deepEqual([...readTensorF32(st, 'b')], [1, -2]);
});

test('half and bfloat16 conversions are exact', () => {
  assert.equal(halfToFloat(0x3c00), 1);
  assert.equal(halfToFloat(0x0001), 2 ** -24); // smallest subnormal
  assert.equal(halfToFloat(0x7bff), 65504);
  assert.equal(halfToFloat(0xfc00), -Infinity);
  assert.ok(Number.isNaN(halfToFloat(0x7e00)));
  assert.equal(bfloatToFloat(0x3f80), 1);
  assert.equal(bfloatToFloat(0xc049), -3.140625);
});

function expectBad(name: string, bytes: Buffer, pattern: RegExp): void {
  const file = path.join(dir, `${name}.safetensors`);
  fs.writeFileSync(file, bytes);
  assert.throws(() => readSafetensorsHeader(file), (e: unknown) => {
    assert.ok(e instanceof EngineError, `expected EngineError, got ${e}`);
    assert.equal(e.code, 'BAD_WEIGHTS');
    assert.match(e.message, pattern);
    assert.ok(e.message.includes(file), 'message names the file');
    return true;
  });
}

test('EXPECTED FAILURE - file shorter than the length prefix', () => expectBad('short', Buffer.from([1, 2, 3]), /too short/));
test('EXPECTED FAILURE - header length larger than the file', () => {
  const b = safetensorsBytes(good);
  b.writeBigUInt64LE(BigInt(b.length * 10), 0);
  expectBad('hugeheader', b, /larger than the file/);
});
test('EXPECTED FAILURE - truncated data section', () => {
  const b = safetensorsBytes(good);
  expectBad('truncated', b.subarray(0, b.length - 3), /truncated/);
});
test('EXPECTED FAILURE - overlapping tensors', () => expectBad('overlap', safetensorsBytes(good, (h) => {
  (h.b as { data_offsets: number[]; dtype: string }).data_offsets = [8, 12];
  (h.b as { dtype: string }).dtype = 'F32';
  (h.b as { shape: number[] }).shape = [1];
}), /overlaps tensor a/));
test('EXPECTED FAILURE - unknown dtype', () => expectBad('dtype', safetensorsBytes(good, (h) => {
  (h.a as { dtype: string }).dtype = 'F31';
}), /unknown dtype/));
test('EXPECTED FAILURE - shape inconsistent with the byte range', () => expectBad('shape', safetensorsBytes(good, (h) => {
  (h.a as { shape: number[] }).shape = [3, 2];
}), /needs 24 bytes/));
test('EXPECTED FAILURE - negative or fractional shape', () => expectBad('negshape', safetensorsBytes(good, (h) => {
  (h.a as { shape: number[] }).shape = [-2, -2];
}), /not a list of non-negative integers/));
test('EXPECTED FAILURE - header is not JSON', () => {
  const b = safetensorsBytes(good);
  b.write('{{{{', 8);
  expectBad('json', b, /not valid UTF-8 JSON/);
});
test('EXPECTED FAILURE - missing file is NOT_FOUND', () => {
  assert.throws(() => readSafetensorsHeader(path.join(dir, 'nope.safetensors')), (e: unknown) => e instanceof EngineError && e.code === 'NOT_FOUND');
});
