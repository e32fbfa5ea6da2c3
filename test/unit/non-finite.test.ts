import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countNonFinite, describeNonFinite } from '../../src/engine/non-finite';

const f32 = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);
const u16 = (bits: number[]) => new Uint8Array(new Uint16Array(bits).buffer);

test('counts NaN and infinities of F32 weights, and nothing else', () => {
  assert.equal(countNonFinite(f32([0, -0, 1, -3.4e38, 3.4028235e38, 1e-45, -1e-40]), 'F32'), 0);
  assert.equal(countNonFinite(f32([NaN, 1, Infinity, -Infinity, 2]), 'F32'), 3);
});

test('counts them from the exponent bits of F16 and BF16', () => {
  // F16: 0x7c00 +Inf, 0xfc00 -Inf, 0x7e00 NaN; 0x7bff largest finite, 0x0001 smallest subnormal.
  assert.equal(countNonFinite(u16([0x7c00, 0xfc00, 0x7e00, 0x7bff, 0x0001, 0x3c00]), 'F16'), 3);
  // BF16: 0x7f80 +Inf, 0xff80 -Inf, 0x7fc0 NaN; 0x7f7f largest finite.
  assert.equal(countNonFinite(u16([0x7f80, 0xff80, 0x7fc0, 0x7f7f, 0x3f80, 0x0001]), 'BF16'), 3);
});

test('ignores dtypes that are not floats', () => {
  assert.equal(countNonFinite(new Uint8Array([0xff, 0xff, 0xff, 0xff]), 'I32'), 0);
});

test('the warning names the tensors with the most non-finite values first', () => {
  const text = describeNonFinite('m', [
    { name: 'a', file: 'f', count: 1, total: 10 },
    { name: 'b', file: 'f', count: 5, total: 10 },
  ]);
  assert.match(text, /^m has 6 NaN or infinite weight values in 2 tensors: b \(5 of 10\), a \(1 of 10\)\./);
});
