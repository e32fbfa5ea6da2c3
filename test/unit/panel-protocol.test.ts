import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeDropped, parsePanelState, parseWebviewMessage } from '../../src/protocol/panels';

const request = (id: unknown, method: string, params?: unknown) => ({ rpc: 'request', id, method, ...(params !== undefined ? { params } : {}) });
const notify = (method: string, params?: unknown) => ({ rpc: 'notify', method, ...(params !== undefined ? { params } : {}) });

test('accepts the messages a panel may send', () => {
  assert.deepEqual(parseWebviewMessage(request(1, 'panel/data', { version: 2 })), request(1, 'panel/data', { version: 2 }));
  assert.deepEqual(parseWebviewMessage(notify('revealToken', { pos: 3, extra: 'dropped' })), notify('revealToken', { pos: 3 }));
  assert.deepEqual(parseWebviewMessage(notify('revealSpec')), notify('revealSpec', {}));
  assert.deepEqual(parseWebviewMessage(notify('rerun', {})), notify('rerun', {}));
  assert.deepEqual(parseWebviewMessage(notify('openHead', { layer: 1, head: 3 })), notify('openHead', { layer: 1, head: 3 }));
  assert.deepEqual(parseWebviewMessage({ ...request(7, 'panel/retarget', { text: ' Mary' }), extra: 'dropped' }), request(7, 'panel/retarget', { text: ' Mary' }));
});

test('BAD CALL - rejects malformed or unknown webview messages', () => {
  for (const bad of [
    null, 'ready', [], { type: 'ready', version: 2 }, { rpc: 'request', method: 'panel/data', params: { version: 2 } },
    request(-1, 'panel/data', { version: 2 }), request(1.5, 'panel/data', { version: 2 }), request(1, 'panel/data'), request(1, 'panel/data', { version: '2' }), request(1, 'panel/data', 'x'),
    notify('revealToken', { pos: -1 }), notify('revealToken', { pos: 1.5 }), notify('revealToken'), notify('openHead', { layer: 1 }), notify('openHead', { layer: -1, head: 0 }),
    request(1, 'openFile', { path: '/etc/passwd' }), notify('openFile', { path: '/etc/passwd' }),
    request(1, 'panel/retarget', { text: '' }), request(1, 'panel/retarget', { text: 'x'.repeat(201) }), request(1, 'panel/retarget', { text: 3 }),
    // A webview never replies to the host, nor sends events.
    { rpc: 'reply', id: 1, result: {} }, { rpc: 'error', id: 1, error: { code: 'RUNTIME', message: 'x' } }, { rpc: 'event', id: 1, event: {} },
  ]) {
    assert.equal(parseWebviewMessage(bad), undefined, JSON.stringify(bad));
  }
});

test('revives only well-formed panel states', () => {
  const spec = { view: 'attention', source: { kind: 'spec', specUri: 'file:///a.circuit.json', specName: 'a.circuit.json', analysisIndex: 0, analysisTitle: 'x' } };
  assert.deepEqual(parsePanelState(spec), spec);
  const prompt = { view: 'logitLens', source: { kind: 'prompt', model: 'demo', prompt: 'hi' } };
  assert.deepEqual(parsePanelState(prompt), prompt);
  assert.equal(parsePanelState({ view: 'other', source: prompt.source }), undefined);
  assert.equal(parsePanelState({ view: 'attention', source: { kind: 'spec', specUri: 1 } }), undefined);
  for (const specUri of ['https://example.com/a.circuit.json', 'file:///etc/passwd', 'command:workbench.action.quit', 'file:///a.circuit.json?x=1']) {
    assert.equal(parsePanelState({ ...spec, source: { ...spec.source, specUri } }), undefined, specUri);
  }
  assert.equal(parsePanelState(undefined), undefined);
});

test('describes a dropped message by its shape, never by its content', () => {
  assert.equal(describeDropped(null), 'null');
  assert.equal(describeDropped(42), 'a number');
  assert.equal(describeDropped([1, 2]), 'an array of 2');
  assert.equal(describeDropped({ pos: 1 }), 'an object without a method');
  assert.equal(describeDropped({ rpc: 'notify', method: 'x'.repeat(100), params: { secret: 'prompt text' } }), `"${'x'.repeat(40)}" with invalid fields`);
  assert.equal(describeDropped({ type: 'x'.repeat(100), secret: 'prompt text' }), `"${'x'.repeat(40)}" with invalid fields`);
});
