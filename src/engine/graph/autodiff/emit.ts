/**
 * What the vector-Jacobian rules emit with: the builder, the forward's static shapes, and helpers for the
 * backward's recurring pieces: summing a broadcast gradient back to its input's shape (statically where
 * the shapes tell, else with a dynamic reduction), shapes of forward tensors, zeros, constants.
 */
import { fail } from '../../errors';
import type { GraphBuilder } from '../builder';
import { ShapeTable, SymShape, broadcastShapes, isWildcard } from './shapes';

export class BackwardEmitter {
  private readonly shapeOps = new Map<string, string>();
  private readonly scalars = new Map<number, string>();

  constructor(readonly g: GraphBuilder, readonly shapes: ShapeTable) {}

  /** A backward node; `shape` records its output's static shape for later rules. */
  op(type: string, inputs: string[], attrs: Parameters<GraphBuilder['op']>[2] = {}, shape?: SymShape): string {
    const out = this.g.op(type, inputs, attrs);
    this.shapes.set(out, shape);
    return out;
  }

  /** A float scalar constant, shared. */
  scalar(v: number): string {
    let s = this.scalars.get(v);
    if (!s) this.scalars.set(v, (s = this.g.constF([v], [])));
    return s;
  }

  /** Shape(t) [rank], emitted once per tensor. */
  shapeOf(t: string): string {
    let s = this.shapeOps.get(t);
    if (!s) this.shapeOps.set(t, (s = this.g.op('Shape', [t])));
    return s;
  }

  /** The static shape of a tensor; its rank at least must be known. */
  shapeOfStatic(t: string, why: string): SymShape {
    const s = this.shapes.shape(t);
    if (!s) fail('RUNTIME', { field: t }, `autodiff: the rank of this tensor is unknown (${why}).`);
    return s;
  }

  /** Zeros with t's shape. */
  zerosLike(t: string): string {
    return this.op('ConstantOfShape', [this.shapeOf(t)], { value: { tensor: { dataType: 1, dims: [1], floatData: [0] } } }, this.shapes.shape(t));
  }

  /**
   * `grad` (of shape `from`, a broadcast of `target`'s) summed over the broadcast axes back to target's
   * shape. No op when the shapes are statically equal.
   */
  sumTo(grad: string, from: SymShape | undefined, target: string): string {
    const to = this.shapeOfStatic(target, 'summing a broadcast gradient');
    const src = from ?? this.shapes.shape(grad);
    if (!src) fail('RUNTIME', { field: target }, 'autodiff: the rank of a broadcast gradient is unknown.');
    const lead = src.length - to.length;
    const axes: number[] = [];
    let known = true;
    for (let i = 0; i < src.length; i++) {
      const t = i < lead ? 1 : to[i - lead];
      const s = src[i];
      if (i < lead) {
        axes.push(i);
        continue;
      }
      if (t === s && t !== null && !isWildcard(t)) continue;
      if (t === 1 && s !== 1) {
        if (s === null) known = false;
        axes.push(i);
        continue;
      }
      // Equal after broadcasting (t is the result's dim, or both unknown): only a dynamic check can tell.
      if (broadcastShapes([t], [s])[0] === t && typeof t === 'number') continue;
      known = false;
    }
    if (known) {
      if (axes.length === 0) return grad;
      const summed = this.op('ReduceSum', [grad, this.g.constI(axes)], { keepdims: 1 }, src.map((d, i) => (axes.includes(i) ? 1 : d)));
      return lead > 0 ? this.op('Reshape', [summed, this.shapeOf(target)], {}, to) : summed;
    }
    // Dynamic: sum over the axes where target's shape (padded with leading 1s) differs from the gradient's.
    const padded = lead > 0 ? this.g.op('Concat', [this.g.constI(Array(lead).fill(1)), this.shapeOf(target)], { axis: 0 }) : this.shapeOf(target);
    const differs = this.g.op('Not', [this.g.op('Equal', [padded, this.g.op('Shape', [grad])])]);
    const axesT = this.g.op('Reshape', [this.g.op('NonZero', [differs]), this.g.constI([-1])]);
    const summed = this.op('ReduceSum', [grad, axesT], { keepdims: 1, noop_with_empty_axes: 1 });
    return this.op('Reshape', [summed, this.shapeOf(target)], {}, to);
  }
}
