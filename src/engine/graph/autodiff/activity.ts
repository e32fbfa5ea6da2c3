/**
 * Activity analysis: the tensors that get a gradient are those downstream of the sources (the requested
 * hooks' tensors) and upstream of the seed (the metric's logits). Everything else, weights included, gets
 * none, so the backward computes no weight gradients and nothing on branches that cannot reach the metric.
 */
import type { onnx } from 'onnx-proto';
import { fail } from '../../errors';
import { NON_DIFFERENTIABLE, RULES, differentiableInputs, gradientOutputs } from './vjp';

export function activeTensors(nodes: readonly onnx.INodeProto[], sources: readonly string[], seed: string): Set<string> {
  const varied = new Set(sources);
  for (const n of nodes) {
    const op = n.opType!;
    if (NON_DIFFERENTIABLE.has(op)) continue;
    const rule = RULES[op];
    const ins = n.input ?? [];
    if (!rule) {
      // An op without a rule may only sit off the gradient path: its outputs are marked so the check below can name it.
      if (ins.some((t) => varied.has(t))) for (const o of n.output ?? []) varied.add(o);
      continue;
    }
    if (differentiableInputs(rule, n).some((i) => varied.has(ins[i]))) for (const i of gradientOutputs(rule, n)) varied.add(n.output![i]);
  }
  const useful = new Set([seed]);
  for (let k = nodes.length - 1; k >= 0; k--) {
    const n = nodes[k];
    const op = n.opType!;
    if (NON_DIFFERENTIABLE.has(op) || !(n.output ?? []).some((o) => useful.has(o))) continue;
    const rule = RULES[op];
    const ins = n.input ?? [];
    if (!rule) {
      if (ins.some((t) => varied.has(t))) fail('RUNTIME', { field: n.name ?? op }, `autodiff: no gradient rule for the ${op} op on the path from the hooks to the metric.`);
      continue;
    }
    for (const i of differentiableInputs(rule, n)) if (ins[i]) useful.add(ins[i]);
  }
  return new Set([...varied].filter((t) => useful.has(t)));
}
