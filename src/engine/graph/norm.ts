/**
 * LayerNorm and RMSNorm with TransformerLens' hooks: `hook_scale` is sqrt(mean(x^2) + eps) of the
 * (centred, for LayerNorm) input, [batch, pos, 1]; LayerNorm's `hook_normalized` is after its weight and
 * bias, RMSNorm's before its weight (TransformerLens' RMSNorm quirk). A norm with a `weightOffset` (Gemma)
 * multiplies by w + offset: an Add on the weight that onnxruntime folds once at session creation. A norm
 * without a weight (folded into the next layer) is TransformerLens' LNPre / RMSPre.
 */
import type { NormKind } from '../model-config';
import type { Norm } from '../params';
import type { GraphContext } from './context';
import type { HookedGraph } from './hooked-graph';

/** The RMSNorm multiplier of a norm with a weight: w, or w + weightOffset. */
function rmsWeight(ctx: GraphContext, n: Norm): string {
  const w = ctx.W(n.w!);
  return n.weightOffset ? ctx.g.op('Add', [w, ctx.g.constF([n.weightOffset], [])]) : w;
}

/**
 * Normalizes x [batch, pos, d_model] (or [batch, pos, head, d_head], over d_head) and returns the tensor the next
 * layer reads (into tensor `out` when given).
 */
export function normalize(ctx: GraphContext, hg: HookedGraph, kind: NormKind, eps: number, x: string, n: Norm, prefix: string, out?: string): string {
  const g = ctx.g;
  if (kind === 'layernorm' && hg.wantsGrad(`${prefix}.hook_scale`)) return unfusedLayerNorm(ctx, hg, eps, x, n, prefix, out);
  if (kind === 'layernorm') {
    const invStd = g.tmp('invstd');
    const y = hg.hook(`${prefix}.hook_normalized`, (o) =>
      g.op('LayerNormalization', layerNormInputs(ctx, x, n), { axis: -1, epsilon: { floatValue: eps } }, [o, g.tmp('mean'), invStd]));
    hg.hook(`${prefix}.hook_scale`, (o) => g.op('Reciprocal', [invStd], {}, o)); // [batch, pos, 1]
    return out ? g.op('Identity', [y], {}, out) : y;
  }
  const meanSq = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [-1], keepdims: 1 }); // [batch, pos, 1]
  const scale = hg.hook(`${prefix}.hook_scale`, (o) => g.op('Sqrt', [g.op('Add', [meanSq, g.constF([eps], [])])], {}, o));
  const normalized = hg.hook(`${prefix}.hook_normalized`, (o) => g.op('Div', [x, scale], {}, o)); // [batch, pos, d_model]
  return n.w ? g.op('Mul', [normalized, rmsWeight(ctx, n)], {}, out) : out ? g.op('Identity', [normalized], {}, out) : normalized;
}

/**
 * LayerNorm as TransformerLens computes it, (x - mean) / scale * w + b with hook_scale on the gradient path:
 * for a backward that asks for hook_scale's gradient (the fused op's scale is a side output).
 */
function unfusedLayerNorm(ctx: GraphContext, hg: HookedGraph, eps: number, x: string, n: Norm, prefix: string, out?: string): string {
  const g = ctx.g;
  const centred = g.op('Sub', [x, g.op('ReduceMean', [x], { axes: [-1], keepdims: 1 })]); // [batch, pos, d_model]
  const variance = g.op('ReduceMean', [g.op('Mul', [centred, centred])], { axes: [-1], keepdims: 1 }); // [batch, pos, 1]
  const scale = hg.hook(`${prefix}.hook_scale`, (o) => g.op('Sqrt', [g.op('Add', [variance, g.constF([eps], [])])], {}, o));
  const y = hg.hook(`${prefix}.hook_normalized`, (o) => {
    const weighted = n.w ? g.op('Mul', [g.op('Div', [centred, scale]), ctx.W(n.w)]) : g.op('Div', [centred, scale]);
    return n.b ? g.op('Add', [weighted, ctx.W(n.b)], {}, o) : g.op('Identity', [weighted], {}, o);
  });
  return out ? g.op('Identity', [y], {}, out) : y;
}

/** LayerNormalization's inputs: x, its scale (ones when folded away) and its bias when there is one. */
function layerNormInputs(ctx: GraphContext, x: string, n: Norm): string[] {
  const g = ctx.g;
  const scale = n.w ? ctx.W(n.w) : g.op('ConstantOfShape', [g.op('Shape', [x], { start: -1 })], { value: { tensor: { dataType: 1, dims: [1], floatData: [1] } } }); // [d_model]
  return n.b ? [x, scale, ctx.W(n.b)] : [x, scale];
}

/** The final norm on its own (logit lens): no hooks. */
export function plainNorm(ctx: GraphContext, kind: NormKind, eps: number, x: string, n: Norm): string {
  const g = ctx.g;
  if (kind === 'layernorm') return g.op('LayerNormalization', layerNormInputs(ctx, x, n), { axis: -1, epsilon: { floatValue: eps } });
  const meanSq = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
  const normalized = g.op('Div', [x, g.op('Sqrt', [g.op('Add', [meanSq, g.constF([eps], [])])])]);
  return n.w ? g.op('Mul', [normalized, rmsWeight(ctx, n)]) : normalized;
}
