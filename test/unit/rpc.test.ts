/** The request/reply helper of every boundary: replies by id, errors as data, events, cancel, unknown methods. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitLensError } from '../../src/protocol/errors';
import { RpcMessage, RpcPeer, ownedBuffers } from '../../src/protocol/rpc';

type Methods = {
  add: { params: { a: number; b: number }; result: number };
  slow: { params: Record<string, never>; result: string; event: { step: number } };
  fail: { params: Record<string, never>; result: void };
};

/** Two peers joined back to back; messages cross asynchronously, as over a real port. */
function pair() {
  let toServer: (m: RpcMessage) => void = () => undefined;
  const seenByServer: RpcMessage[] = [];
  const client = new RpcPeer<Methods>((m) => void setImmediate(() => toServer(m)));
  let slowSignal: AbortSignal | undefined;
  const server = new RpcPeer<Record<never, never>, Methods>((m) => void setImmediate(() => client.receive(m)), {
    add: (p) => p.a + p.b,
    slow: async (_p, ctx) => {
      slowSignal = ctx.signal;
      ctx.event({ step: 1 });
      await new Promise((r) => setTimeout(r, 50));
      ctx.event({ step: 2 });
      return 'done';
    },
    fail: () => {
      throw new CircuitLensError({ code: 'BAD_INPUT', message: 'no.', field: 'x' });
    },
  });
  toServer = (m) => {
    seenByServer.push(m);
    server.receive(m);
  };
  return { client, seenByServer, slowSignal: () => slowSignal };
}

test('replies reach their request by id, in any order', async () => {
  const { client } = pair();
  const [slow, sum] = await Promise.all([client.request('slow', {}), client.request('add', { a: 2, b: 3 })]);
  assert.equal(slow, 'done');
  assert.equal(sum, 5);
  assert.equal(client.outstanding, 0);
});

test('events arrive before the reply; errors arrive as the same error class with code and field', async () => {
  const { client } = pair();
  const steps: number[] = [];
  assert.equal(await client.request('slow', {}, { onEvent: (e) => steps.push(e.step) }), 'done');
  assert.deepEqual(steps, [1, 2]);
  await assert.rejects(client.request('fail', {}), (e: unknown) => e instanceof CircuitLensError && e.code === 'BAD_INPUT' && e.field === 'x' && e.message === 'no.');
});

test('cancelling rejects at once, tells the other side, and aborts its handler', async () => {
  const { client, seenByServer, slowSignal } = pair();
  const abort = new AbortController();
  const pending = client.request('slow', {}, { signal: abort.signal });
  await new Promise((r) => setTimeout(r, 10));
  abort.abort();
  await assert.rejects(pending, (e: unknown) => e instanceof CircuitLensError && e.code === 'CANCELLED');
  await new Promise((r) => setTimeout(r, 10));
  assert.ok(seenByServer.some((m) => m.rpc === 'notify' && m.method === '$/cancel'));
  assert.equal(slowSignal()?.aborted, true);
});

test('BAD CALL - an unknown method gets an error reply; a message that is not RPC is not taken', async () => {
  const { client } = pair();
  await assert.rejects((client as unknown as RpcPeer<{ nope: { params: object; result: void } }>).request('nope', {}), /unknown request "nope"/);
  assert.equal(client.receive({ type: 'show' }), false);
  assert.equal(client.receive(null), false);
});

test('ownedBuffers moves whole typed arrays only, each buffer once', () => {
  const whole = new Float32Array(4);
  const view = new Float32Array(new ArrayBuffer(64), 16, 4);
  const found = ownedBuffers({ a: whole, b: [whole, { c: view }], d: 'text', e: new Int32Array(2) });
  assert.equal(found.length, 2);
  assert.ok(found.includes(whole.buffer as ArrayBuffer));
  assert.ok(!found.includes(view.buffer as ArrayBuffer));
});
