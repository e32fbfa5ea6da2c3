/**
 * The runner gives the loaded model's graph sessions back once no model work has come for a while
 * (onnxruntime's arena keeps each session's largest run until its session is released), never while work
 * is queued, and the next run makes the session it needs again with the same result.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SCAN_WORKER } from '../helpers/engine';
import { runnerInThread, testConfig } from '../helpers/runner';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('idle sessions are released and remade on the next run', async () => {
  const { call, runner, configured } = runnerInThread(testConfig({ backend: 'cpu' }), { scanWorkerPath: SCAN_WORKER, idleReleaseMs: 300 });
  await configured;
  const params = { model: { ref: 'demo' }, input: { text: 'Speak unto the children of' }, hooks: 'blocks.0.attn.hook_pattern' };
  const first = await call('trace', params);
  assert.ok(runner.sessionsHeld() > 0, 'the trace made its session');
  // Work that keeps coming within the idle time keeps the sessions.
  for (let i = 0; i < 3; i++) {
    await sleep(100);
    await call('trace', params);
    assert.ok(runner.sessionsHeld() > 0, `still held after run ${i + 2}`);
  }
  await sleep(700);
  assert.equal(runner.sessionsHeld(), 0, 'released after the idle time');
  const again = await call('trace', params);
  assert.ok(runner.sessionsHeld() > 0, 'remade by the next run');
  assert.deepEqual(again.top, first.top, 'the same predictions from the remade session');
});
