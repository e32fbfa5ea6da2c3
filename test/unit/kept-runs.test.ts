/**
 * The worker's kept runs (src/worker/kept-runs.ts): a run stays while it has holders and goes with its
 * last release; over the byte budget the least recently used go first, the newest always stays; a run
 * that went is a NOT_KEPT error naming the budget's setting.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitLensError } from '../../src/protocol/errors';
import { KeptRuns } from '../../src/worker/kept-runs';

const MB = 2 ** 20;
const BUDGET = 'circuitLens.keptRunsMemoryMB';
const isNotKept = (id: number) => (e: unknown) => e instanceof CircuitLensError && e.code === 'NOT_KEPT' && e.field === `run ${id}` && e.message.includes(`raise ${BUDGET}`);

test('a run is kept while it has holders and released with its last holder', () => {
  const kept = new KeptRuns<string>(() => 100 * MB, BUDGET);
  const a = kept.add('a', 10 * MB); // held once, by whoever asked for it
  kept.hold(a); // a second panel shows it
  assert.deepEqual(kept.usage(), { runs: 1, bytes: 10 * MB });
  assert.equal(kept.get(a), 'a');
  kept.release(a);
  assert.equal(kept.get(a), 'a', 'the second holder still holds it');
  kept.release(a);
  assert.equal(kept.peek(a), undefined);
  assert.throws(() => kept.get(a), isNotKept(a));
  assert.deepEqual(kept.usage(), { runs: 0, bytes: 0 });
  kept.release(a); // already gone: a no-op
  kept.release(12345); // never kept: a no-op
  assert.deepEqual(kept.usage(), { runs: 0, bytes: 0 });
});

test('the same work by key is reused, held once more, and each holder releases once', () => {
  const kept = new KeptRuns<string>(() => 100 * MB, BUDGET);
  const a = kept.add('a', MB, 'demo|prompt a');
  kept.add('b', MB, 'demo|prompt b');
  assert.deepEqual(kept.reuse('demo|prompt a'), { id: a, run: 'a' });
  assert.equal(kept.reuse('demo|prompt c'), undefined);
  kept.release(a);
  assert.equal(kept.get(a), 'a', 'the reuse still holds it');
  kept.release(a);
  assert.equal(kept.peek(a), undefined);
  assert.equal(kept.reuse('demo|prompt a'), undefined, 'a released run is not reused');
  assert.equal(kept.usage().runs, 1);
});

test('over the budget the least recently used runs go first', () => {
  const kept = new KeptRuns<string>(() => 25 * MB, BUDGET);
  const a = kept.add('a', 10 * MB);
  const b = kept.add('b', 10 * MB);
  kept.get(a); // a is now the most recent
  const c = kept.add('c', 10 * MB);
  assert.throws(() => kept.get(b), isNotKept(b), 'b was the oldest');
  assert.equal(kept.get(a), 'a');
  assert.equal(kept.get(c), 'c');
  assert.deepEqual(kept.usage(), { runs: 2, bytes: 20 * MB });
  kept.release(b); // it went already: nothing else changes
  assert.equal(kept.usage().runs, 2);
  // A reuse counts as a use; peek does not.
  kept.reuse('none');
  kept.peek(a);
  const d = kept.add('d', 10 * MB);
  assert.equal(kept.peek(a), undefined, 'peek did not make a recent');
  assert.deepEqual([kept.peek(c), kept.peek(d)], ['c', 'd']);
});

test('the newest run always stays, even alone over the budget; a budget of 0 keeps only it', () => {
  const kept = new KeptRuns<string>(() => 25 * MB, BUDGET);
  const a = kept.add('a', 10 * MB);
  const big = kept.add('big', 100 * MB);
  assert.equal(kept.get(big), 'big', 'the panel that asked for it can read it');
  assert.throws(() => kept.get(a), isNotKept(a));
  assert.deepEqual(kept.usage(), { runs: 1, bytes: 100 * MB });

  const none = new KeptRuns<string>(() => 0, BUDGET);
  const x = none.add('x', MB);
  assert.deepEqual(none.usage(), { runs: 1, bytes: MB });
  const y = none.add('y', MB);
  assert.throws(() => none.get(x), isNotKept(x));
  assert.equal(none.get(y), 'y');
  assert.deepEqual(none.usage(), { runs: 1, bytes: MB });
});

test('EXPECTED FAILURE - holding or reading a run that is not kept is NOT_KEPT, naming the budget', () => {
  const kept = new KeptRuns<string>(() => 100 * MB, BUDGET);
  assert.throws(() => kept.get(7), isNotKept(7));
  assert.throws(() => kept.hold(7), isNotKept(7));
  assert.throws(() => kept.get(7), /run 7: this run is no longer kept .* Run it again, or raise circuitLens\.keptRunsMemoryMB\./);
});

test('drop removes the runs a closed model leaves stale, whatever their holders', () => {
  const kept = new KeptRuns<{ model: string }>(() => 100 * MB, BUDGET);
  const a = kept.add({ model: 'demo' }, MB);
  kept.hold(a);
  const b = kept.add({ model: 'other' }, MB);
  assert.deepEqual(kept.usage((r) => r.model === 'demo'), { runs: 1, bytes: 2 * MB }, 'runs counted by kind, bytes of all');
  kept.drop((r) => r.model === 'demo');
  assert.equal(kept.peek(a), undefined);
  assert.deepEqual(kept.peek(b), { model: 'other' });
  assert.deepEqual(kept.usage(), { runs: 1, bytes: MB });
});
