/** Slices of a kept hook point: ranges and single indices per dimension, copied out of the kept tensor. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hookSlice, TraceRun } from '../../src/worker/trace-run';

// [2, 3, 4] with value = flat index
const data = Float32Array.from({ length: 24 }, (_, i) => i);
const run = { trace: { cache: { get: () => ({ dims: [2, 3, 4], data }) } } } as unknown as TraceRun;

test('a selection keeps each dimension, ranges as [from, to) and single indices with size 1', () => {
  const s = hookSlice(run, 'h', [1, [1, 3], [2, 4]]);
  assert.deepEqual(s.dims, [1, 2, 2]);
  assert.deepEqual([...s.data], [18, 19, 22, 23]);
  assert.deepEqual([...hookSlice(run, 'h', [null, 2]).data], [8, 9, 10, 11, 20, 21, 22, 23]);
});

test('no selection is a copy of the whole tensor, never the kept buffer itself', () => {
  const s = hookSlice(run, 'h');
  assert.deepEqual(s.dims, [2, 3, 4]);
  assert.deepEqual([...s.data], [...data]);
  assert.notEqual(s.data.buffer, data.buffer);
});

test('BAD CALL - a selection outside the tensor names the dimension', () => {
  assert.throws(() => hookSlice(run, 'h', [2]), /select\[0\]: must lie in \[0, 2\)/);
  assert.throws(() => hookSlice(run, 'h', [0, [2, 1]]), /select\[1\]/);
  assert.throws(() => hookSlice(run, 'h', [0, 0, 0, 0]), /4 dimensions|3 dimensions/);
});
