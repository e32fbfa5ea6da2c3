/**
 * The backward pass of a hooked model graph (a variant with `grad`): the metric's seed at the logits,
 * reverse-mode differentiation back to the requested hooks' tensors (their values after any
 * intervention, so keep/add stay in effect), and each gradient as the graph output `<hook>_grad` with
 * the hook's shape.
 */
import { fail } from '../../errors';
import { GraphVariant, HookedGraph, computedIn, gradOutput, outputFor } from '../hooked-graph';
import { emitBackward } from './backward';
import { emitMetricSeed } from './metric-seed';

export function emitHookGradients(hg: HookedGraph, variant: GraphVariant, dVocab: number): void {
  const grad = variant.grad;
  if (!grad) return;
  const g = hg.g;
  const points = grad.hooks.map((name) => {
    const p = hg.point(name);
    if (!computedIn(name, variant)) fail('BAD_INPUT', { field: name }, `is before layer ${variant.startLayer}, where this run starts, so it has no gradient.`);
    return p;
  });
  const sources = [...new Set(points.map((p) => outputFor(p, variant)))];
  const grads = emitBackward(g, { sources, seedOf: 'logits', seed: (e) => emitMetricSeed(e, grad.metric, 'logits', dVocab, !!variant.lastPositionLogits) });
  for (const p of points) {
    g.op('Identity', [grads.get(outputFor(p, variant))!], {}, gradOutput(p.name));
    g.output(gradOutput(p.name), 'float', p.shape);
  }
}
