/**
 * Static shape inference over a built forward graph, for the backward pass: each tensor's shape as
 * symbolic dims (numbers, symbols such as 'batch', products such as 'batch*pos', or null where unknown),
 * and the values of small int64 tensors that carry shapes (Shape, Concat, constants). The backward uses
 * it to see statically where a broadcast input's gradient must be summed back, and falls back to a
 * dynamic sum where it cannot tell. Dims of intervention inputs (hooked-graph.ts: `hook::dN`) broadcast
 * to whatever they meet.
 */
import type { onnx } from 'onnx-proto';
import type { GraphBuilder } from '../builder';

/** A dim: a size, a symbol or product of symbols ('batch*pos'), or null (unknown). */
export type SymDim = number | string | null;
export type SymShape = SymDim[];

const BIG = 2 ** 31 - 1;

/** A symbol that is 1 or equal to the dim it meets (keep/add inputs of an intervention). */
export function isWildcard(d: SymDim): boolean {
  return typeof d === 'string' && d.includes('::');
}

/** Numeric factor and sorted symbols of a dim. */
function factors(d: number | string): { n: number; s: string[] } {
  if (typeof d === 'number') return { n: d, s: [] };
  let n = 1;
  const s: string[] = [];
  for (const p of d.split('*')) /^\d+$/.test(p) ? (n *= Number(p)) : s.push(p);
  return { n, s: s.sort() };
}

function fromFactors(n: number, s: string[]): SymDim {
  if (s.length === 0) return n;
  const sym = [...s].sort().join('*');
  return n === 1 ? sym : `${n}*${sym}`;
}

function product(dims: SymDim[]): SymDim {
  let n = 1;
  const s: string[] = [];
  for (const d of dims) {
    if (d === null || isWildcard(d)) return null;
    const f = factors(d);
    n *= f.n;
    s.push(...f.s);
  }
  return fromFactors(n, s);
}

/** a / b when it divides exactly, else null. */
function quotient(a: SymDim, b: SymDim): SymDim {
  if (a === null || b === null) return null;
  const fa = factors(a), fb = factors(b);
  if (fb.n === 0 || fa.n % fb.n !== 0) return null;
  const rest = [...fa.s];
  for (const sym of fb.s) {
    const i = rest.indexOf(sym);
    if (i < 0) return null;
    rest.splice(i, 1);
  }
  return fromFactors(fa.n / fb.n, rest);
}

export function broadcastDim(a: SymDim, b: SymDim): SymDim {
  if (a === b) return a;
  if (a === 1 || isWildcard(a)) return b;
  if (b === 1 || isWildcard(b)) return a;
  if (a === null) return typeof b === 'number' ? b : null;
  if (b === null) return typeof a === 'number' ? a : null;
  return null;
}

export function broadcastShapes(...shapes: SymShape[]): SymShape {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: SymShape = [];
  for (let i = 0; i < rank; i++) {
    let d: SymDim = 1;
    for (const s of shapes) {
      const j = i - (rank - s.length);
      if (j >= 0) d = broadcastDim(d, s[j]);
    }
    out.push(d);
  }
  return out;
}

/** Attribute `name` of a node: int, ints, float or string. */
export function attr(node: onnx.INodeProto, name: string): number | number[] | string | undefined {
  const a = node.attribute?.find((x) => x.name === name);
  if (!a) return undefined;
  if (a.ints && a.ints.length) return a.ints.map(Number);
  if (a.s && a.s.length) return new TextDecoder().decode(a.s);
  if (a.type === 1) return a.f ?? 0; // FLOAT
  if (a.type === 7) return []; // INTS, empty
  return Number(a.i ?? 0);
}

const UNARY = new Set(['Identity', 'Neg', 'Sqrt', 'Reciprocal', 'Tanh', 'Erf', 'Sigmoid', 'Relu', 'Exp', 'Log', 'Cos', 'Sin', 'Softmax', 'LogSoftmax', 'Trilu', 'Abs']);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Greater', 'Less', 'Equal', 'And', 'Or', 'Min', 'Max', 'Where']);

export class ShapeTable {
  private readonly shapes = new Map<string, SymShape>();
  private readonly values = new Map<string, SymDim[]>();

  constructor(private readonly g: GraphBuilder) {
    for (const i of g.inputList) {
      const dims = i.type?.tensorType?.shape?.dim ?? [];
      this.shapes.set(i.name!, dims.map((d) => (d.dimParam ? d.dimParam : d.dimValue !== undefined && d.dimValue !== null ? Number(d.dimValue) : null)));
    }
    for (const n of g.nodeList) this.infer(n);
  }

  /** The tensor's shape, or undefined when not even its rank is known. */
  shape(name: string): SymShape | undefined {
    const s = this.shapes.get(name);
    if (s) return s;
    const init = this.g.initializer(name);
    if (init) {
      const dims = (init.dims ?? []).map(Number);
      this.shapes.set(name, dims);
      return dims;
    }
    return undefined;
  }

  /** The value of a small int64 tensor (a shape, axes, starts), where known. */
  value(name: string): SymDim[] | undefined {
    const v = this.values.get(name);
    if (v) return v;
    const init = this.g.initializer(name);
    if (init?.int64Data?.length) return init.int64Data.map(Number);
    return undefined;
  }

  /** The values of a float constant stored inline, where known. */
  floatValue(name: string): number[] | undefined {
    const init = this.g.initializer(name);
    return init?.floatData?.length ? init.floatData.map(Number) : undefined;
  }

  /** Records the shape of a tensor the backward emits. */
  set(name: string, shape: SymShape | undefined): void {
    if (shape) this.shapes.set(name, shape);
  }

  private infer(n: onnx.INodeProto): void {
    const op = n.opType!;
    const ins = n.input ?? [];
    const outs = n.output ?? [];
    const sh = (i: number) => (ins[i] ? this.shape(ins[i]) : undefined);
    const set = (i: number, s: SymShape | undefined) => s && outs[i] && this.shapes.set(outs[i], s);
    const x = sh(0);
    const rank = x?.length ?? 0;
    const norm = (a: number) => (a < 0 ? a + rank : a);
    if (UNARY.has(op) || op === 'Cast') {
      set(0, x);
      const v = this.value(ins[0]);
      if (v && (op === 'Cast' || op === 'Identity')) this.values.set(outs[0], v);
      return;
    }
    if (BINARY.has(op)) {
      const all = ins.map((_, i) => sh(i));
      if (all.every(Boolean)) set(0, broadcastShapes(...(all as SymShape[])));
      return;
    }
    switch (op) {
      case 'Shape': {
        if (!x) return;
        const start = norm(Number(attr(n, 'start') ?? 0));
        const endAttr = attr(n, 'end');
        const end = endAttr === undefined ? rank : norm(Number(endAttr));
        const v = x.slice(start, end);
        this.values.set(outs[0], v);
        set(0, [v.length]);
        return;
      }
      case 'Size':
        set(0, []);
        return;
      case 'Concat': {
        const parts = ins.map((_, i) => sh(i));
        if (!parts.every(Boolean)) return;
        const axis = Number(attr(n, 'axis'));
        const a = axis < 0 ? axis + parts[0]!.length : axis;
        set(0, parts[0]!.map((d, i) => (i === a ? sumDims(parts.map((p) => p![i])) : d)));
        const vals = ins.map((t) => this.value(t));
        if (parts[0]!.length === 1 && vals.every(Boolean)) this.values.set(outs[0], vals.flat() as SymDim[]);
        return;
      }
      case 'Gather': {
        const idx = sh(1);
        if (!x || !idx) return;
        const a = norm(Number(attr(n, 'axis') ?? 0));
        set(0, [...x.slice(0, a), ...idx, ...x.slice(a + 1)]);
        return;
      }
      case 'GatherElements':
        set(0, sh(1));
        return;
      case 'ScatterElements':
      case 'ScatterND':
        set(0, x);
        return;
      case 'ConstantOfShape': {
        const v = this.value(ins[0]);
        if (v) set(0, v);
        return;
      }
      case 'Range':
        set(0, [null]);
        return;
      case 'MatMul': {
        const b = sh(1);
        if (!x || !b || x.length < 2 || b.length < 2) return;
        const batch = broadcastShapes(x.slice(0, -2), b.slice(0, -2));
        set(0, [...batch, x[x.length - 2], b[b.length - 1]]);
        return;
      }
      case 'Gemm': {
        const b = sh(1);
        if (!x || !b) return;
        set(0, [attr(n, 'transA') ? x[1] : x[0], attr(n, 'transB') ? b[0] : b[1]]);
        return;
      }
      case 'LayerNormalization': {
        if (!x) return;
        const a = norm(Number(attr(n, 'axis') ?? -1));
        set(0, x);
        const stat = x.map((d, i) => (i >= a ? 1 : d));
        set(1, stat);
        set(2, stat);
        return;
      }
      case 'ReduceMean':
      case 'ReduceSum':
      case 'ReduceSumSquare':
      case 'ReduceMax': {
        if (!x) return;
        const axes = reduceAxes(n, this, rank);
        if (!axes) return;
        const keep = Number(attr(n, 'keepdims') ?? 1) === 1;
        set(0, keep ? x.map((d, i) => (axes.includes(i) ? 1 : d)) : x.filter((_, i) => !axes.includes(i)));
        return;
      }
      case 'Reshape': {
        const target = this.value(ins[1]);
        if (!target || !x) {
          const t = sh(1);
          if (t && typeof t[0] === 'number') set(0, Array(t[0]).fill(null));
          return;
        }
        const dims = target.map((d, i) => (d === 0 ? x[i] ?? null : d));
        const unknown = dims.indexOf(-1);
        if (unknown >= 0) dims[unknown] = quotient(product(x), product(dims.filter((_, i) => i !== unknown)));
        set(0, dims);
        return;
      }
      case 'Transpose': {
        if (!x) return;
        const perm = (attr(n, 'perm') as number[] | undefined) ?? x.map((_, i) => rank - 1 - i);
        set(0, perm.map((p) => x[p]));
        return;
      }
      case 'Slice': {
        if (!x) return;
        const starts = this.value(ins[1]), ends = this.value(ins[2]);
        const axes = ins[3] ? this.value(ins[3]) : starts?.map((_, i) => i);
        const steps = ins[4] ? this.value(ins[4]) : undefined;
        const out = [...x];
        if (!starts || !ends || !axes) {
          set(0, x.map(() => null));
          return;
        }
        axes.forEach((ax, i) => {
          const a = norm(Number(ax));
          out[a] = sliceDim(x[a], starts[i], ends[i], steps?.[i] ?? 1);
        });
        set(0, out);
        const v = this.value(ins[0]);
        if (v && rank === 1 && typeof starts[0] === 'number' && typeof ends[0] === 'number') this.values.set(outs[0], v.slice(starts[0], Math.min(v.length, ends[0])));
        return;
      }
      case 'Split': {
        if (!x) return;
        const a = norm(Number(attr(n, 'axis') ?? 0));
        const sizes = ins[1] ? this.value(ins[1]) : undefined;
        outs.forEach((_, i) => set(i, x.map((d, j) => (j === a ? sizes?.[i] ?? null : d))));
        return;
      }
      case 'Expand': {
        const target = this.value(ins[1]);
        if (x && target) set(0, broadcastShapes(x, target));
        else if (x) set(0, x.map(() => null));
        return;
      }
      case 'Unsqueeze': {
        const axes = this.value(ins[1]);
        if (!x || !axes) return;
        const r = rank + axes.length;
        const at = axes.map((a) => (Number(a) < 0 ? Number(a) + r : Number(a)));
        const out: SymShape = [];
        let j = 0;
        for (let i = 0; i < r; i++) out.push(at.includes(i) ? 1 : x[j++]);
        set(0, out);
        const v = this.value(ins[0]);
        if (v && rank === 0) this.values.set(outs[0], v);
        return;
      }
      case 'Squeeze': {
        const axes = ins[1] ? this.value(ins[1])?.map((a) => norm(Number(a))) : undefined;
        if (!x) return;
        set(0, axes ? x.filter((_, i) => !axes.includes(i)) : x.filter((d) => d !== 1));
        const v = this.value(ins[0]);
        if (v && rank === 1) this.values.set(outs[0], v);
        return;
      }
      case 'TopK': {
        const k = this.value(ins[1]);
        if (!x) return;
        const a = norm(Number(attr(n, 'axis') ?? -1));
        const s = x.map((d, i) => (i === a ? k?.[0] ?? null : d));
        set(0, s);
        set(1, s);
        return;
      }
      default:
        return;
    }
  }
}

function sumDims(dims: SymDim[]): SymDim {
  if (dims.every((d) => typeof d === 'number')) return (dims as number[]).reduce((a, b) => a + b, 0);
  return dims.length === 1 ? dims[0] : null;
}

/** The size along an axis of dim `d` sliced [start, end) with step 1. */
function sliceDim(d: SymDim, start: SymDim, end: SymDim, step: SymDim): SymDim {
  if (step !== 1 || typeof start !== 'number') return null;
  if (typeof d === 'number' && typeof end === 'number') {
    const s = Math.max(0, Math.min(d, start < 0 ? start + d : start));
    const e = Math.max(0, Math.min(d, end < 0 ? end + d : end));
    return Math.max(0, e - s);
  }
  if (start < 0 && typeof end === 'number' && end >= BIG) return -start; // the last -start entries (d at least that long)
  if (start === 0 && typeof end === 'string') return end; // a run-length end (posLen)
  if (start === 0 && typeof end === 'number' && end >= BIG) return d;
  return null;
}

/** The axes a Reduce* node reduces (normalized), from its axes input or attribute; all axes when none. */
export function reduceAxes(n: onnx.INodeProto, t: ShapeTable, rank: number): number[] | undefined {
  const fromInput = n.input?.[1] ? t.value(n.input[1]) : undefined;
  if (n.input?.[1] && !fromInput) return undefined;
  const axes = fromInput ?? (attr(n, 'axes') as number[] | undefined);
  if (!axes || axes.length === 0) return Number(attr(n, 'noop_with_empty_axes') ?? 0) ? [] : Array.from({ length: rank }, (_, i) => i);
  return axes.map((a) => (Number(a) < 0 ? Number(a) + rank : Number(a)));
}
