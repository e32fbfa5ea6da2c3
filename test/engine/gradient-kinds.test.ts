/**
 * The gradient kinds through the worker, as the editor and the CLI run them: attributionPatching on the
 * same axes and labels as patching (so the two compare cell by cell), and inputAttribution's per-token
 * values with each token's characters in the prompt, for the inline view. Needs `node tools/build.mjs`.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { withRunner } from '../helpers/runner';
import type { AnalysisOutput } from '../../src/protocol/analysis';
import { PATCH_TARGETS } from '../../src/engine/analysis/patching';

const CLEAN = 'Moses took the staff of God, and Aaron took the staff of';
const spec = JSON.stringify({
  model: 'demo',
  prompts: [{ name: 'clean', text: CLEAN, answer: ' God', counterfactual: ' Israel' }, { name: 'corrupted', text: 'Moses took the staff of Israel, and Aaron took the staff of' }],
  analyses: [
    ...PATCH_TARGETS.flatMap((target) => [
      { kind: 'patching', corrupted: 'corrupted', target, positions: [3, 8, 17] },
      { kind: 'attributionPatching', corrupted: 'corrupted', target, positions: [3, 8, 17] },
    ]),
    { kind: 'inputAttribution', steps: 4 },
  ],
});

test('attributionPatching has patching\'s axes and labels for every target; inputAttribution sends per-token values with their characters', async () => {
  await withRunner({}, async (client) => {
    const output = async (analysis: number) => {
      const r = await client.request('analysis/run', { spec: { text: spec, path: '/tmp/gradient-kinds.circuit.json' }, analysis });
      const out = (await client.request('run/slice', { runId: r.runId, slice: { kind: 'output' } })) as AnalysisOutput;
      return { r, out };
    };
    for (const [i, target] of PATCH_TARGETS.entries()) {
      const [exact, estimate] = [(await output(2 * i)).out, (await output(2 * i + 1)).out];
      assert.deepEqual(estimate.axes, exact.axes, target);
      assert.equal(estimate.values.length, exact.values.length);
      const worst = Math.max(...exact.values.map((v, k) => Math.abs(v - estimate.values[k])));
      assert.ok(worst < 0.2, `${target}: AtP within 0.2 of exact patching on the demo, got ${worst}`);
    }
    const { r, out } = await output(2 * PATCH_TARGETS.length);
    assert.equal(out.kind, 'inputAttribution');
    const tv = r.tokenValues!;
    assert.deepEqual(tv.tokens.map((t) => t.value), out.values);
    assert.equal(tv.tokens[8].text, ' God');
    assert.equal(CLEAN.slice(tv.tokens[8].start, tv.tokens[8].end), ' God');
    assert.equal(out.sequences![0].tokens.length, tv.tokens.length);
  });
});
