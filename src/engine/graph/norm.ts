/**
 * LayerNorm and RMSNorm with TransformerLens' hooks: `hook_scale` is sqrt(mean(x^2) + eps) of the
 * (centred, for LayerNorm) input, [batch, pos, 1]; LayerNorm's `hook_normalized` is after its weight and
 * bias, RMSNorm's before its weight (TransformerLens' RMSNorm quirk). A norm with a `weightOffset` (Gemma)
 * multiplies by w + offset: an Add on the weight that onnxruntime folds once at session creation.
 */
import type { NormKind } from '../model-config';
import type { Norm } from '../params';
import type { GraphContext } from './context';
import type { HookedGraph } from './hooked-graph';

/** The RMSNorm multiplier: w, or w + weightOffset. */
function rmsWeight(ctx: GraphContext, n: Norm): string {
  const w = ctx.W(n.w);
  return n.weightOffset ? ctx.g.op('Add', [w, ctx.g.constF([n.weightOffset], [])]) : w;
}

/**
 * Normalizes x [batch, pos, d_model] (or [batch, pos, head, d_head], over d_head) and returns the tensor the next
 * layer reads (into tensor `out` when given).
 */
export function normalize(ctx: GraphContext, hg: HookedGraph, kind: NormKind, eps: number, x: string, n: Norm, prefix: string, out?: string): string {
  const g = ctx.g;
  if (kind === 'layernorm') {
    const invStd = g.tmp('invstd');
    const y = hg.hook(`${prefix}.hook_normalized`, (o) =>
      g.op('LayerNormalization', [x, ctx.W(n.w), ctx.W(n.b!)], { axis: -1, epsilon: { floatValue: eps } }, [o, g.tmp('mean'), invStd]));
    hg.hook(`${prefix}.hook_scale`, (o) => g.op('Reciprocal', [invStd], {}, o)); // [batch, pos, 1]
    return out ? g.op('Identity', [y], {}, out) : y;
  }
  const meanSq = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [-1], keepdims: 1 }); // [batch, pos, 1]
  const scale = hg.hook(`${prefix}.hook_scale`, (o) => g.op('Sqrt', [g.op('Add', [meanSq, g.constF([eps], [])])], {}, o));
  const normalized = hg.hook(`${prefix}.hook_normalized`, (o) => g.op('Div', [x, scale], {}, o)); // [batch, pos, d_model]
  return g.op('Mul', [normalized, rmsWeight(ctx, n)], {}, out);
}

/** The final norm on its own (logit lens): no hooks. */
export function plainNorm(ctx: GraphContext, kind: NormKind, eps: number, x: string, n: Norm): string {
  const g = ctx.g;
  if (kind === 'layernorm') return g.op('LayerNormalization', [x, ctx.W(n.w), ctx.W(n.b!)], { axis: -1, epsilon: { floatValue: eps } });
  const meanSq = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
  return g.op('Mul', [g.op('Div', [x, g.op('Sqrt', [g.op('Add', [meanSq, g.constF([eps], [])])])]), rmsWeight(ctx, n)]);
}
