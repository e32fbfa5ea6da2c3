import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeDropped, parsePanelState, parseWebviewMessage } from '../../src/protocol/panels';

test('accepts the messages a panel may send', () => {
  assert.deepEqual(parseWebviewMessage({ type: 'ready', version: 1 }), { type: 'ready', version: 1 });
  assert.deepEqual(parseWebviewMessage({ type: 'revealToken', pos: 3, extra: 'dropped' }), { type: 'revealToken', pos: 3 });
  assert.deepEqual(parseWebviewMessage({ type: 'revealSpec' }), { type: 'revealSpec' });
  assert.deepEqual(parseWebviewMessage({ type: 'rerun' }), { type: 'rerun' });
  assert.deepEqual(parseWebviewMessage({ type: 'setTarget', text: ' Mary' }), { type: 'setTarget', text: ' Mary' });
});

test('BAD CALL - rejects malformed or unknown webview messages', () => {
  for (const bad of [null, 'ready', [], { type: 'ready' }, { type: 'ready', version: '1' }, { type: 'revealToken', pos: -1 }, { type: 'revealToken', pos: 1.5 }, { type: 'revealToken' }, { type: 'openFile', path: '/etc/passwd' }, { type: 'setTarget', text: '' }, { type: 'setTarget', text: 'x'.repeat(201) }, { type: 'setTarget', text: 3 }]) {
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
  assert.equal(describeDropped({ pos: 1 }), 'an object without a type');
  assert.equal(describeDropped({ type: 'x'.repeat(100), secret: 'prompt text' }), `type "${'x'.repeat(40)}" with invalid fields`);
});
