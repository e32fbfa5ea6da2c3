import assert from 'node:assert/strict';
import { test } from 'node:test';
import { experimentPath } from '../../src/host/experiment-path';

test('New Experiment writes one .circuit.json, whatever the save dialog appended', () => {
  for (const p of ['/w/my-first', '/w/my-first.json', '/w/my-first.circuit.json', '/w/my-first.circuit.json.circuit.json', '/w/my-first.circuit.json.json', '/w/my-first.circuit']) {
    assert.equal(experimentPath(p), '/w/my-first.circuit.json', p);
  }
  assert.equal(experimentPath('/w/v1.2'), '/w/v1.2.circuit.json');
});
