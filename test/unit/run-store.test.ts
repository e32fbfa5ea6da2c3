import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PromptRun } from '../../src/host/run/prompt-run';
import { RunStore, runKey } from '../../src/host/run/run-store';

/** A run whose cache and logits take `mb` MiB in all. */
function fakeRun(prompt: string, mb: number): PromptRun {
  const half = (mb * 2 ** 20) / 2;
  return { prompt, trace: { cache: { byteSize: () => half }, logits: { data: new Float32Array(half / 4) } } } as unknown as PromptRun;
}

test('a run is kept while a panel holds it and released when its last panel closes', () => {
  const store = new RunStore(() => 100 * 2 ** 20);
  const a = fakeRun('a', 10);
  const key = runKey('demo', 'a');
  store.hold('attention|prompt', key, a);
  store.hold('logitLens|prompt', key, a);
  assert.deepEqual(store.usage(), { runs: 1, bytes: 10 * 2 ** 20 });
  assert.equal(store.get(key), a);
  store.release('attention|prompt');
  assert.equal(store.get(key), a, 'the lens panel still holds it');
  store.release('logitLens|prompt');
  assert.equal(store.get(key), undefined);
  assert.deepEqual(store.usage(), { runs: 0, bytes: 0 });
});

test('a panel showing another run releases the one it held', () => {
  const store = new RunStore(() => 100 * 2 ** 20);
  store.hold('p', runKey('demo', 'a'), fakeRun('a', 1));
  store.hold('p', runKey('demo', 'b'), fakeRun('b', 1));
  assert.equal(store.get(runKey('demo', 'a')), undefined);
  assert.ok(store.get(runKey('demo', 'b')));
  store.release('p');
  assert.equal(store.usage().runs, 0);
  store.release('never-held'); // no-op
});

test('over the budget the least recently used runs are released first', () => {
  const store = new RunStore(() => 25 * 2 ** 20);
  store.hold('p1', runKey('m', 'a'), fakeRun('a', 10));
  store.hold('p2', runKey('m', 'b'), fakeRun('b', 10));
  store.get(runKey('m', 'a')); // a is now the most recent
  store.hold('p3', runKey('m', 'c'), fakeRun('c', 10));
  assert.equal(store.get(runKey('m', 'b')), undefined, 'b was the oldest');
  assert.ok(store.get(runKey('m', 'a')));
  assert.ok(store.get(runKey('m', 'c')));
  assert.deepEqual(store.usage(), { runs: 2, bytes: 20 * 2 ** 20 });
  store.release('p2'); // its run is already gone: nothing else changes
  assert.equal(store.usage().runs, 2);
});

test('a budget of 0 keeps nothing', () => {
  const store = new RunStore(() => 0);
  store.hold('p', runKey('m', 'a'), fakeRun('a', 1));
  assert.deepEqual(store.usage(), { runs: 0, bytes: 0 });
});
