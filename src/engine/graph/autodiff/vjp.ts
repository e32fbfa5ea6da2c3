/**
 * Vector-Jacobian products of the ONNX ops the graph builders emit: given the gradients of a node's
 * outputs (undefined where an output gets none), the gradients of its differentiable inputs that are
 * active. Weight gradients are never asked for (weights are not active), so MatMul and Gemm cost one
 * matrix product each backward. Broadcast inputs are summed back to their shapes (emit.ts).
 */
import type { onnx } from 'onnx-proto';
import { fail } from '../../errors';
import type { AttrValue } from '../builder';
import type { BackwardEmitter } from './emit';
import { SymShape, attr, reduceAxes } from './shapes';

export interface VjpArgs {
  node: onnx.INodeProto;
  /** The node's input tensor names. */
  x: string[];
  /** The node's output tensor names. */
  y: string[];
  /** Gradients of the outputs (undefined: none flows back through that output). */
  gy: (string | undefined)[];
  /** Which inputs want a gradient. */
  want: boolean[];
  e: BackwardEmitter;
}

export interface VjpRule {
  /** Indices of the inputs a gradient can flow to (others are indices, shapes, masks), or all of them. */
  differentiable: readonly number[] | 'all';
  /** Outputs that carry a gradient (default: the first), or all of them. */
  outputs?: readonly number[] | 'all';
  vjp(a: VjpArgs): (string | undefined)[];
}

const FLOAT = 1;

const sh = (a: VjpArgs, t: string): SymShape | undefined => a.e.shapes.shape(t);
const gy0 = (a: VjpArgs): string => a.gy[0]!;
const mul = (a: VjpArgs, p: string, q: string, shape = sh(a, a.y[0])) => a.e.op('Mul', [p, q], {}, shape);

/** Elementwise rule dy/dx = f(x, y), times the output gradient. */
function unary(deriv: (a: VjpArgs) => string): VjpRule {
  return { differentiable: [0], vjp: (a) => [mul(a, gy0(a), deriv(a))] };
}

/** Swaps the last two axes of a tensor of rank r. */
function swapLast(a: VjpArgs, t: string): string {
  const s = a.e.shapeOfStatic(t, 'MatMul');
  const r = s.length;
  const perm = Array.from({ length: r }, (_, i) => (i === r - 2 ? r - 1 : i === r - 1 ? r - 2 : i));
  return a.e.op('Transpose', [t], { perm }, perm.map((p) => s[p]));
}

/** The gradient of the output of a Reduce* node, with the reduced axes kept (size 1), expanded to x's shape. */
function expandReduced(a: VjpArgs): string {
  const xs = a.e.shapeOfStatic(a.x[0], a.node.opType!);
  const axes = reduceAxes(a.node, a.e.shapes, xs.length);
  if (!axes) fail('RUNTIME', { field: a.node.name ?? '' }, 'autodiff: a reduction with runtime axes.');
  const keep = Number(attr(a.node, 'keepdims') ?? 1) === 1;
  const g = keep || axes.length === 0 ? gy0(a) : a.e.op('Unsqueeze', [gy0(a), a.e.g.constI(axes)], {}, xs.map((d, i) => (axes.includes(i) ? 1 : d)));
  return a.e.op('Expand', [g, a.e.shapeOf(a.x[0])], {}, xs);
}

/** 1 / (number of elements a Reduce* node averages), static where the reduced dims are known. */
function meanFactor(a: VjpArgs): string {
  const xs = a.e.shapeOfStatic(a.x[0], a.node.opType!);
  const axes = reduceAxes(a.node, a.e.shapes, xs.length)!;
  const dims = axes.map((i) => xs[i]);
  if (dims.every((d) => typeof d === 'number')) return a.e.scalar(1 / (dims as number[]).reduce((p, q) => p * q, 1));
  const size = (t: string) => a.e.g.op('Cast', [a.e.g.op('Size', [t])], { to: FLOAT });
  return a.e.g.op('Div', [size(a.y[0]), size(a.x[0])]);
}

/** [begin..., end...] pads undoing a Slice of x (step 1), static where the sliced dims are known. */
function slicePads(a: VjpArgs): string {
  const e = a.e;
  const xs = e.shapeOfStatic(a.x[0], 'Slice');
  const r = xs.length;
  const starts = e.shapes.value(a.x[1]), ends = e.shapes.value(a.x[2]);
  const axes = a.x[3] ? e.shapes.value(a.x[3]) : starts?.map((_, i) => i);
  const steps = a.x[4] ? e.shapes.value(a.x[4]) : undefined;
  if (!starts || !ends || !axes || starts.some((s) => typeof s !== 'number') || ends.some((s) => typeof s !== 'number') || steps?.some((s) => s !== 1)) {
    fail('RUNTIME', { field: a.node.name ?? '' }, 'autodiff: Slice needs constant starts, ends and axes and step 1.');
  }
  const before: (number | string)[] = Array(r).fill(0);
  const after: (number | string)[] = Array(r).fill(0);
  let dynamic = false;
  axes.forEach((ax, i) => {
    const axis = Number(ax) < 0 ? Number(ax) + r : Number(ax);
    const s = starts[i] as number, en = ends[i] as number;
    const d = xs[axis];
    if (typeof d === 'number') {
      const b = Math.max(0, Math.min(d, s < 0 ? s + d : s));
      const f = Math.max(b, Math.min(d, en < 0 ? en + d : en));
      before[axis] = b;
      after[axis] = d - f;
      return;
    }
    dynamic = true;
    // A run-length dim: pads from Shape(x) in the graph.
    const dim = e.g.op('Shape', [a.x[0]], { start: axis, end: axis + 1 }); // [1]
    const clamp = (v: number) => (v < 0 ? e.g.op('Max', [e.g.op('Add', [dim, e.g.constI([v])]), e.g.constI([0])]) : e.g.op('Min', [dim, e.g.constI([v])]));
    const b = clamp(s);
    const f = e.g.op('Max', [b, clamp(en)]);
    before[axis] = b;
    after[axis] = e.g.op('Sub', [dim, f]);
  });
  if (!dynamic) return e.g.constI([...before, ...after] as number[]);
  const part = (v: number | string) => (typeof v === 'number' ? e.g.constI([v]) : v);
  return e.g.op('Concat', [...before, ...after].map(part), { axis: 0 });
}

export const RULES: Record<string, VjpRule> = {
  Identity: { differentiable: [0], vjp: (a) => [gy0(a)] },
  Cast: {
    differentiable: [0],
    vjp: (a) => {
      if (Number(attr(a.node, 'to')) !== FLOAT) fail('RUNTIME', { field: a.node.name ?? '' }, 'autodiff: a Cast to a non-float type on the gradient path.');
      return [gy0(a)];
    },
  },
  Neg: { differentiable: [0], vjp: (a) => [a.e.op('Neg', [gy0(a)], {}, sh(a, a.y[0]))] },
  Add: { differentiable: [0, 1], vjp: (a) => a.x.map((t, i) => (a.want[i] ? a.e.sumTo(gy0(a), sh(a, a.y[0]), t) : undefined)) },
  Sub: {
    differentiable: [0, 1],
    vjp: (a) => [
      a.want[0] ? a.e.sumTo(gy0(a), sh(a, a.y[0]), a.x[0]) : undefined,
      a.want[1] ? a.e.sumTo(a.e.op('Neg', [gy0(a)], {}, sh(a, a.y[0])), sh(a, a.y[0]), a.x[1]) : undefined,
    ],
  },
  Mul: {
    differentiable: [0, 1],
    vjp: (a) => a.x.map((t, i) => (a.want[i] ? a.e.sumTo(mul(a, gy0(a), a.x[1 - i]), sh(a, a.y[0]), t) : undefined)),
  },
  Div: {
    differentiable: [0, 1],
    vjp: (a) => [
      a.want[0] ? a.e.sumTo(a.e.op('Div', [gy0(a), a.x[1]], {}, sh(a, a.y[0])), sh(a, a.y[0]), a.x[0]) : undefined,
      // d(x / b)/db = -y / b
      a.want[1] ? a.e.sumTo(a.e.op('Neg', [a.e.op('Div', [mul(a, gy0(a), a.y[0]), a.x[1]], {}, sh(a, a.y[0]))], {}, sh(a, a.y[0])), sh(a, a.y[0]), a.x[1]) : undefined,
    ],
  },
  Pow: {
    differentiable: [0],
    vjp: (a) => {
      const p = a.e.shapes.floatValue(a.x[1]);
      if (!p || p.length !== 1) fail('RUNTIME', { field: a.node.name ?? '' }, 'autodiff: Pow needs a constant scalar exponent.');
      const d = mul(a, a.e.op('Pow', [a.x[0], a.e.scalar(p[0] - 1)], {}, sh(a, a.x[0])), a.e.scalar(p[0]), sh(a, a.x[0]));
      return [a.e.sumTo(mul(a, gy0(a), d), sh(a, a.y[0]), a.x[0])];
    },
  },
  Sqrt: unary((a) => a.e.op('Div', [a.e.scalar(0.5), a.y[0]], {}, sh(a, a.y[0]))),
  Reciprocal: unary((a) => a.e.op('Neg', [mul(a, a.y[0], a.y[0])], {}, sh(a, a.y[0]))),
  Tanh: unary((a) => a.e.op('Sub', [a.e.scalar(1), mul(a, a.y[0], a.y[0])], {}, sh(a, a.y[0]))),
  Sigmoid: unary((a) => mul(a, a.y[0], a.e.op('Sub', [a.e.scalar(1), a.y[0]], {}, sh(a, a.y[0])))),
  Exp: unary((a) => a.y[0]),
  // d erf(x)/dx = 2 / sqrt(pi) exp(-x^2)
  Erf: unary((a) => mul(a, a.e.op('Exp', [a.e.op('Neg', [mul(a, a.x[0], a.x[0])], {}, sh(a, a.y[0]))], {}, sh(a, a.y[0])), a.e.scalar(2 / Math.sqrt(Math.PI)))),
  Relu: { differentiable: [0], vjp: (a) => [a.e.op('Where', [a.e.g.op('Greater', [a.x[0], a.e.scalar(0)]), gy0(a), a.e.scalar(0)], {}, sh(a, a.y[0]))] },
  Softmax: {
    differentiable: [0],
    vjp: (a) => {
      // y * (g - sum(g * y)) along the softmax axis
      const axis = Number(attr(a.node, 'axis') ?? -1);
      const dot = a.e.op('ReduceSum', [mul(a, gy0(a), a.y[0]), a.e.g.constI([axis])], { keepdims: 1 });
      return [mul(a, a.y[0], a.e.op('Sub', [gy0(a), dot], {}, sh(a, a.y[0])))];
    },
  },
  LayerNormalization: {
    differentiable: [0],
    vjp: (a) => {
      // x_hat = (x - mean) * inv_std; dx = inv_std * (gw - mean(gw) - x_hat * mean(gw * x_hat)), gw = g * scale, means over axes >= axis.
      const e = a.e;
      const xs = e.shapeOfStatic(a.x[0], 'LayerNormalization');
      const r = xs.length;
      const axis = Number(attr(a.node, 'axis') ?? -1);
      const from = axis < 0 ? axis + r : axis;
      const axes = Array.from({ length: r - from }, (_, i) => from + i);
      const stat = xs.map((d, i) => (i >= from ? 1 : d));
      const eps = Number(attr(a.node, 'epsilon') ?? 1e-5);
      const mean = a.y[1] || e.op('ReduceMean', [a.x[0]], { axes, keepdims: 1 }, stat);
      const centred = e.op('Sub', [a.x[0], mean], {}, xs);
      const invStd = a.y[2] || e.op('Reciprocal', [e.op('Sqrt', [e.op('Add', [e.op('ReduceMean', [mul(a, centred, centred, xs)], { axes, keepdims: 1 }, stat), e.scalar(eps)], {}, stat)], {}, stat)], {}, stat);
      const xHat = mul(a, centred, invStd, xs);
      const gw = mul(a, gy0(a), a.x[1], xs);
      const m1 = e.op('ReduceMean', [gw], { axes, keepdims: 1 }, stat);
      const m2 = e.op('ReduceMean', [mul(a, gw, xHat, xs)], { axes, keepdims: 1 }, stat);
      const inner = e.op('Sub', [e.op('Sub', [gw, m1], {}, xs), mul(a, xHat, m2, xs)], {}, xs);
      return [mul(a, inner, invStd, xs)];
    },
  },
  ReduceMean: { differentiable: [0], vjp: (a) => [mul(a, expandReduced(a), meanFactor(a), sh(a, a.x[0]))] },
  ReduceSum: { differentiable: [0], vjp: (a) => [expandReduced(a)] },
  ReduceSumSquare: { differentiable: [0], vjp: (a) => [mul(a, expandReduced(a), mul(a, a.x[0], a.e.scalar(2), sh(a, a.x[0])), sh(a, a.x[0]))] },
  Reshape: { differentiable: [0], vjp: (a) => [a.e.op('Reshape', [gy0(a), a.e.shapeOf(a.x[0])], {}, sh(a, a.x[0]))] },
  Unsqueeze: { differentiable: [0], vjp: (a) => [a.e.op('Reshape', [gy0(a), a.e.shapeOf(a.x[0])], {}, sh(a, a.x[0]))] },
  Squeeze: { differentiable: [0], vjp: (a) => [a.e.op('Reshape', [gy0(a), a.e.shapeOf(a.x[0])], {}, sh(a, a.x[0]))] },
  Flatten: { differentiable: [0], vjp: (a) => [a.e.op('Reshape', [gy0(a), a.e.shapeOf(a.x[0])], {}, sh(a, a.x[0]))] },
  Transpose: {
    differentiable: [0],
    vjp: (a) => {
      const r = a.e.shapeOfStatic(a.x[0], 'Transpose').length;
      const perm = (attr(a.node, 'perm') as number[] | undefined) ?? Array.from({ length: r }, (_, i) => r - 1 - i);
      const inverse = perm.map((_, i) => perm.indexOf(i));
      return [a.e.op('Transpose', [gy0(a)], { perm: inverse }, sh(a, a.x[0]))];
    },
  },
  Expand: { differentiable: [0], vjp: (a) => [a.e.sumTo(gy0(a), sh(a, a.y[0]), a.x[0])] },
  Slice: { differentiable: [0], vjp: (a) => [a.e.op('Pad', [gy0(a), slicePads(a)], { mode: 'constant' }, sh(a, a.x[0]))] },
  Concat: {
    differentiable: 'all',
    vjp: (a) => {
      const e = a.e;
      const r = e.shapeOfStatic(a.x[0], 'Concat').length;
      const axis = Number(attr(a.node, 'axis'));
      const ax = axis < 0 ? axis + r : axis;
      const sizes = a.x.map((t) => sh(a, t)?.[ax]);
      const split = sizes.every((d) => typeof d === 'number')
        ? e.g.constI(sizes as number[])
        : e.g.op('Concat', a.x.map((t) => e.g.op('Shape', [t], { start: ax, end: ax + 1 })), { axis: 0 });
      const parts = a.x.map(() => e.g.tmp('concat_grad'));
      e.g.op('Split', [gy0(a), split], { axis: ax }, parts);
      parts.forEach((p, i) => e.shapes.set(p, sh(a, a.x[i])));
      return parts.map((p, i) => (a.want[i] ? p : undefined));
    },
  },
  Split: {
    differentiable: [0],
    outputs: 'all',
    vjp: (a) => {
      const r = a.e.shapeOfStatic(a.x[0], 'Split').length;
      const axis = Number(attr(a.node, 'axis') ?? 0);
      const parts = a.y.map((t, i) => a.gy[i] ?? a.e.zerosLike(t));
      return [a.e.op('Concat', parts, { axis: axis < 0 ? axis + r : axis }, sh(a, a.x[0]))];
    },
  },
  Where: {
    differentiable: [1, 2],
    vjp: (a) => {
      const zero = a.e.scalar(0);
      const out = sh(a, a.y[0]);
      return [
        undefined,
        a.want[1] ? a.e.sumTo(a.e.op('Where', [a.x[0], gy0(a), zero], {}, out), out, a.x[1]) : undefined,
        a.want[2] ? a.e.sumTo(a.e.op('Where', [a.x[0], zero, gy0(a)], {}, out), out, a.x[2]) : undefined,
      ];
    },
  },
  MatMul: {
    differentiable: [0, 1],
    vjp: (a) => {
      const e = a.e;
      const [A, B] = a.x;
      const out = sh(a, a.y[0]);
      const bs = e.shapeOfStatic(B, 'MatMul');
      let gA: string | undefined;
      if (a.want[0]) {
        const n = bs[1];
        if (bs.length === 2 && !a.want[1] && typeof n === 'number') {
          // A constant [k, n] weight: g [..., n] times its transpose through Gemm on a 2-D view, so the weight is not copied.
          const flat = e.op('Reshape', [gy0(a), e.g.constI([-1, n])]);
          gA = e.op('Reshape', [e.op('Gemm', [flat, B], { transB: 1 }), e.shapeOf(A)], {}, sh(a, A));
        } else {
          const full = e.op('MatMul', [gy0(a), swapLast(a, B)], {}, out && [...out.slice(0, -1), e.shapeOfStatic(A, 'MatMul').at(-1)!]);
          gA = e.sumTo(full, e.shapes.shape(full), A);
        }
      }
      let gB: string | undefined;
      if (a.want[1]) {
        const full = e.op('MatMul', [swapLast(a, A), gy0(a)], {}, out && [...out.slice(0, -2), bs.at(-2)!, out.at(-1)!]);
        gB = e.sumTo(full, e.shapes.shape(full), B);
      }
      return [gA, gB];
    },
  },
  Gemm: {
    differentiable: [0, 1, 2],
    vjp: (a) => {
      const e = a.e;
      const [A, B, C] = a.x;
      const transA = Number(attr(a.node, 'transA') ?? 0), transB = Number(attr(a.node, 'transB') ?? 0);
      const alpha = Number(attr(a.node, 'alpha') ?? 1), beta = Number(attr(a.node, 'beta') ?? 1);
      const g = gy0(a);
      // y = alpha op(A) op(B) + beta C; dop(A) = g op(B)^T, dop(B) = op(A)^T g.
      const scale: Record<string, AttrValue> = alpha === 1 ? {} : { alpha: { floatValue: alpha } };
      const gA = a.want[0] ? (transA ? e.op('Gemm', [B, g], { transA: transB, transB: 1, ...scale }, sh(a, A)) : e.op('Gemm', [g, B], { transB: transB ? 0 : 1, ...scale }, sh(a, A))) : undefined;
      const gB = a.want[1] ? (transB ? e.op('Gemm', [g, A], { transA: 1, transB: transA, ...scale }, sh(a, B)) : e.op('Gemm', [A, g], { transA: transA ? 0 : 1, ...scale }, sh(a, B))) : undefined;
      const gC = a.want[2] && C ? e.sumTo(beta === 1 ? g : mul(a, g, e.scalar(beta)), sh(a, a.y[0]), C) : undefined;
      return [gA, gB, gC];
    },
  },
  Gather: {
    differentiable: [0],
    vjp: (a) => {
      if (Number(attr(a.node, 'axis') ?? 0) !== 0) fail('RUNTIME', { field: a.node.name ?? '' }, 'autodiff: Gather of an active tensor needs axis 0.');
      const idx = a.e.g.op('Unsqueeze', [a.x[1], a.e.g.constI([-1])]);
      return [a.e.op('ScatterND', [a.e.zerosLike(a.x[0]), idx, gy0(a)], { reduction: 'add' }, sh(a, a.x[0]))];
    },
  },
  GatherElements: {
    differentiable: [0],
    vjp: (a) => [a.e.op('ScatterElements', [a.e.zerosLike(a.x[0]), a.x[1], gy0(a)], { axis: Number(attr(a.node, 'axis') ?? 0), reduction: 'add' }, sh(a, a.x[0]))],
  },
  TopK: {
    differentiable: [0],
    vjp: (a) => [a.e.op('ScatterElements', [a.e.zerosLike(a.x[0]), a.y[1], gy0(a)], { axis: Number(attr(a.node, 'axis') ?? -1), reduction: 'add' }, sh(a, a.x[0]))],
  },
  ScatterElements: {
    differentiable: [0, 2],
    vjp: (a) => {
      if (attr(a.node, 'reduction') && attr(a.node, 'reduction') !== 'none') fail('RUNTIME', { field: a.node.name ?? '' }, 'autodiff: ScatterElements with a reduction.');
      const axis = Number(attr(a.node, 'axis') ?? 0);
      const g = gy0(a);
      return [
        a.want[0] ? a.e.op('ScatterElements', [g, a.x[1], a.e.zerosLike(a.x[2])], { axis }, sh(a, a.x[0])) : undefined,
        undefined,
        a.want[2] ? a.e.op('GatherElements', [g, a.x[1]], { axis }, sh(a, a.x[2])) : undefined,
      ];
    },
  },
};

/** Ops whose outputs never carry a gradient (shapes, comparisons, index arithmetic, constants). */
export const NON_DIFFERENTIABLE = new Set(['Shape', 'Size', 'ConstantOfShape', 'Range', 'Greater', 'Less', 'Equal', 'Not', 'And', 'Or', 'NonZero', 'ArgMax', 'ArgMin']);

export function differentiableInputs(rule: VjpRule, n: onnx.INodeProto): number[] {
  return rule.differentiable === 'all' ? (n.input ?? []).map((_, i) => i) : [...rule.differentiable];
}

export function gradientOutputs(rule: VjpRule, n: onnx.INodeProto): number[] {
  return rule.outputs === 'all' ? (n.output ?? []).map((_, i) => i) : [...(rule.outputs ?? [0])];
}
