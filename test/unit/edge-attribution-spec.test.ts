/**
 * The edgeAttribution kind in a spec: defaults, a dataset instead of a corrupted prompt, a threshold
 * instead of topN, and problems that name the field on its text; and the graph panel's layout (pure).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSpec } from '../../src/engine/spec/parse';
import type { EdgeGraphView } from '../../src/protocol/analysis';
import { hitTest, layoutGraph } from '../../webview/analysis/edge-graph-layout';

const spec = (analysis: Record<string, unknown>) => JSON.stringify({
  model: 'planted-induction',
  prompts: [{ name: 'a', text: 'x y', answer: ' y', counterfactual: ' x' }, { name: 'b', text: 'y y' }],
  datasets: { rep: { generate: 'repeatedRandomTokens', count: 2, length: 5 } },
  analyses: [{ kind: 'edgeAttribution', ...analysis }],
}, null, 1);

function problems(text: string): string[] {
  return parseSpec(text).problems.map((p) => `${p.message} @ ${text.slice(p.range.offset, p.range.offset + p.range.length)}`);
}

test('edgeAttribution: defaults eap, 16 steps, top 100, patch ablation, logitDiff', () => {
  const { spec: s, problems: ps } = parseSpec(spec({ corrupted: 'b' }));
  assert.deepEqual(ps, []);
  const a = s.analyses[0];
  assert.ok(a.kind === 'edgeAttribution');
  assert.deepEqual({ method: a.method, steps: a.steps, topN: a.topN, threshold: a.threshold, ablation: a.ablation, metric: a.metric, corrupted: a.corrupted?.value }, { method: 'eap', steps: 16, topN: 100, threshold: undefined, ablation: 'patch', metric: 'logitDiff', corrupted: 'b' });
});

test('edgeAttribution: a dataset, eapIg, a threshold and mean ablation over a reference dataset', () => {
  const { spec: s, problems: ps } = parseSpec(spec({ dataset: 'rep', method: 'eapIg', steps: 4, threshold: 0.01, ablation: 'mean', reference: 'rep', metric: 'loss' }));
  assert.deepEqual(ps, []);
  const a = s.analyses[0];
  assert.ok(a.kind === 'edgeAttribution' && a.dataset?.value === 'rep' && a.method === 'eapIg' && a.steps === 4 && a.threshold === 0.01 && a.ablation === 'mean' && a.reference?.value === 'rep' && a.metric === 'loss');
});

test('EXPECTED FAILURE - edgeAttribution without a corrupted prompt or dataset, or with bad options, names the field', () => {
  assert.deepEqual(problems(spec({})).filter((p) => /edgeAttribution needs/.test(p)).length, 1);
  const bad = problems(spec({ corrupted: 'b', method: 'acdc', steps: 0, ablation: 'resample' })).join('\n');
  assert.match(bad, /"method" must be one of eap, eapIg/);
  assert.match(bad, /"steps" must be a number from 1 to 1000/);
  assert.match(bad, /"ablation" must be one of patch, mean, zero/);
});

const VIEW: EdgeGraphView = {
  nLayers: 2, nHeads: 2, edgeCount: 46, keptCount: 1, scoreLabel: 's',
  nodes: [{ label: 'input', layer: -1 }, { label: 'a0.h0', layer: 0, head: 0 }, { label: 'a0.h1', layer: 0, head: 1 }, { label: 'm0', layer: 0 },
    { label: 'a1.h0', layer: 1, head: 0 }, { label: 'a1.h1', layer: 1, head: 1 }, { label: 'm1', layer: 1 }, { label: 'logits', layer: 2 }],
  edges: [{ from: 1, to: 5, input: 'k', score: -1, kept: true }, { from: 0, to: 7, score: 0.1, kept: false }],
};

test('graph layout: input at the bottom, logits at the top, heads by column, MLPs in their own column a half row above; the circuit drawn last, width by |score|', () => {
  const l = layoutGraph(VIEW, 400);
  const y = (i: number) => l.nodes[i].y;
  assert.ok(y(0) > y(1) && y(1) > y(3) && y(3) > y(4) && y(4) > y(6) && y(6) > y(7), 'rows from input (bottom) to logits (top)');
  assert.equal(y(1), y(2));
  assert.ok(l.nodes[1].x < l.nodes[2].x);
  assert.deepEqual(l.edges.map((e) => e.index), [1, 0], 'the kept edge on top');
  assert.ok(l.edges[1].width > l.edges[0].width && l.edges[1].sign === -1 && l.edges[0].sign === 1);
  // The key input enters a1.h1 at its middle; hovering the edge's midpoint finds it, a node's centre the node.
  const e = l.edges[1];
  assert.equal(e.to.x, l.nodes[5].x);
  assert.deepEqual(hitTest(l, { x: (e.from.x + e.to.x) / 2, y: (e.from.y + e.to.y) / 2 }), { edge: 0 });
  assert.deepEqual(hitTest(l, l.nodes[4]), { node: 4 });
  assert.equal(hitTest(l, { x: 1, y: 1 }), undefined);
});
