/**
 * Reverse-mode differentiation of a built forward graph, emitted into the same graph after it: from a
 * seed gradient of one forward tensor (the metric's gradient at the logits), the gradients of the source
 * tensors (the requested hooks' values), each summed over all its uses. Nodes are visited in reverse of
 * the order the builder recorded them (a topological order), so a tensor's gradient is complete when its
 * producer is reached.
 */
import type { GraphBuilder } from '../builder';
import { activeTensors } from './activity';
import { BackwardEmitter } from './emit';
import { ShapeTable } from './shapes';
import { RULES, differentiableInputs, gradientOutputs } from './vjp';

export interface BackwardRequest {
  /** Tensors whose gradients are wanted. */
  sources: readonly string[];
  /** The forward tensor the seed is the gradient of. */
  seedOf: string;
  /** Emits the seed gradient (same shape as `seedOf`) into the graph. */
  seed: (e: BackwardEmitter) => string;
}

/** Emits the backward pass; returns each source's gradient tensor (zeros where the metric does not depend on it). */
export function emitBackward(g: GraphBuilder, req: BackwardRequest): Map<string, string> {
  const forward = [...g.nodeList];
  const shapes = new ShapeTable(g);
  const e = new BackwardEmitter(g, shapes);
  const active = activeTensors(forward, req.sources, req.seedOf);
  const parts = new Map<string, string[]>([[req.seedOf, [req.seed(e)]]]);
  const done = new Map<string, string>();
  /** The summed gradient of a tensor (undefined: none reached it). */
  const gradOf = (t: string): string | undefined => {
    const known = done.get(t);
    if (known) return known;
    const p = parts.get(t);
    if (!p?.length) return undefined;
    const sum = p.reduce((acc, q) => e.op('Add', [acc, q], {}, shapes.shape(t)));
    done.set(t, sum);
    return sum;
  };
  for (let k = forward.length - 1; k >= 0; k--) {
    const node = forward[k];
    const rule = RULES[node.opType!];
    const y = node.output ?? [];
    if (!rule || !y.some((o) => active.has(o))) continue;
    const outs = new Set(gradientOutputs(rule, node));
    const gy = y.map((o, i) => (outs.has(i) && active.has(o) ? gradOf(o) : undefined));
    if (gy.every((t) => t === undefined)) continue;
    const x = node.input ?? [];
    const diff = new Set(differentiableInputs(rule, node));
    const want = x.map((t, i) => diff.has(i) && active.has(t));
    if (!want.some(Boolean)) continue;
    const gx = rule.vjp({ node, x, y, gy, want, e });
    x.forEach((t, i) => {
      if (!want[i] || !gx[i]) return;
      const list = parts.get(t) ?? [];
      list.push(gx[i]!);
      parts.set(t, list);
    });
  }
  return new Map(req.sources.map((s) => [s, gradOf(s) ?? e.zerosLike(s)]));
}
