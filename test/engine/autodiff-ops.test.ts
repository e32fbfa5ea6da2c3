/**
 * The autodiff's vector-Jacobian rules (src/engine/graph/autodiff/vjp.ts) one op at a time, and in small
 * combinations, against PyTorch autograd (test/reference/op_grad_reference.py): broadcasting both ways (static
 * shapes and symbolic ones, which take the dynamic sum), 4-D LayerNormalization over the last axis and
 * over the last two, MatMul with a constant weight (the Gemm path) and with both sides active, Gemm with transB,
 * Slice with run-length dims, Concat/Split, Gather/TopK/ScatterElements/GatherElements, ReduceL2, a tensor used
 * several times. Each case: the gradient of sum(y * sin(0, 1, 2, ...)) at every active input within 1e-5
 * of the largest magnitude.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../../src/engine/graph/builder';
import { emitBackward } from '../../src/engine/graph/autodiff/backward';
import { decodeNpy, encodeNpy } from '../../src/protocol/npy';
import { PYTHON, ROOT, tmpDir } from '../helpers/reference';

interface Input {
  dims: number[];
  /** Declared dims (symbolic names test the dynamic paths); default the numbers. */
  declared?: (number | string)[];
  /** A constant (an initializer in the graph, no gradient): weights, masks. */
  constant?: boolean;
  /** Values: default seeded normals. */
  values?: (i: number) => number;
}

interface OpCase {
  name: string;
  inputs: Input[];
  build: (g: GraphBuilder, x: string[]) => string;
  /** The same computation for PyTorch. */
  expr: string;
}

const BIG = 2 ** 31 - 1;
const cf = (g: GraphBuilder, v: number) => g.constF([v], []);

const CASES: OpCase[] = [
  { name: 'add_broadcast', inputs: [{ dims: [2, 3, 4] }, { dims: [3, 1] }], build: (g, [a, b]) => g.op('Add', [a, b]), expr: 'lambda a, b: a + b' },
  { name: 'add_dynamic', inputs: [{ dims: [2, 3, 4], declared: ['p', 'q', 'r'] }, { dims: [3, 1], declared: ['s', 't'] }], build: (g, [a, b]) => g.op('Add', [a, b]), expr: 'lambda a, b: a + b' },
  { name: 'sub_both_broadcast', inputs: [{ dims: [2, 1, 4] }, { dims: [3, 4] }], build: (g, [a, b]) => g.op('Sub', [a, b]), expr: 'lambda a, b: a - b' },
  { name: 'mul_reuse', inputs: [{ dims: [2, 3, 4] }, { dims: [4] }], build: (g, [a, b]) => g.op('Add', [g.op('Mul', [a, a]), g.op('Mul', [a, b])]), expr: 'lambda a, b: a * a + a * b' },
  { name: 'div_scale', inputs: [{ dims: [2, 3, 4] }, { dims: [2, 3, 1] }], build: (g, [a, b]) => g.op('Div', [a, g.op('Exp', [b])]), expr: 'lambda a, b: a / b.exp()' },
  { name: 'div_dynamic', inputs: [{ dims: [2, 3, 4], declared: ['p', 'q', 4] }, { dims: [2, 3, 1], declared: ['p', 'q', 1] }], build: (g, [a, b]) => g.op('Div', [a, g.op('Add', [g.op('Mul', [b, b]), cf(g, 1)])]), expr: 'lambda a, b: a / (b * b + 1)' },
  { name: 'unary_chain', inputs: [{ dims: [3, 5] }], build: (g, [x]) => g.op('Add', [g.op('Add', [g.op('Tanh', [x]), g.op('Erf', [x])]), g.op('Add', [g.op('Sigmoid', [x]), g.op('Relu', [x])])]), expr: 'lambda x: torch.tanh(x) + torch.erf(x) + torch.sigmoid(x) + torch.relu(x)' },
  { name: 'pow_sqrt_reciprocal_neg', inputs: [{ dims: [3, 5] }], build: (g, [x]) => g.op('Add', [g.op('Pow', [x, g.constF([3], [])]), g.op('Neg', [g.op('Reciprocal', [g.op('Sqrt', [g.op('Exp', [x])])])])]), expr: 'lambda x: x ** 3 - 1 / x.exp().sqrt()' },
  { name: 'softmax_axes', inputs: [{ dims: [2, 3, 5] }], build: (g, [x]) => g.op('Add', [g.op('Softmax', [x], { axis: -1 }), g.op('Softmax', [x], { axis: 1 })]), expr: 'lambda x: torch.softmax(x, -1) + torch.softmax(x, 1)' },
  {
    name: 'layernorm_4d_last_axis', inputs: [{ dims: [2, 3, 4, 8] }, { dims: [8], constant: true }, { dims: [8], constant: true }],
    build: (g, [x, w, b]) => g.op('LayerNormalization', [x, w, b], { axis: -1, epsilon: { floatValue: 1e-5 } }, [g.tmp('y'), g.tmp('mean'), g.tmp('inv')]),
    expr: 'lambda x, w, b: F.layer_norm(x, (8,), w, b, 1e-5)',
  },
  {
    name: 'layernorm_last_two_axes_one_output', inputs: [{ dims: [2, 3, 4, 8], declared: ['n', 3, 4, 8] }, { dims: [4, 8], constant: true }],
    build: (g, [x, w]) => g.op('LayerNormalization', [x, w], { axis: -2, epsilon: { floatValue: 1e-3 } }),
    expr: 'lambda x, w: F.layer_norm(x, (4, 8), w, None, 1e-3)',
  },
  {
    name: 'reduces', inputs: [{ dims: [2, 3, 4] }],
    build: (g, [x]) => g.op('Add', [g.op('Add', [g.op('ReduceMean', [x], { axes: [-1], keepdims: 1 }), g.op('ReduceSumSquare', [x], { axes: [2], keepdims: 1 })]), g.op('Unsqueeze', [g.op('ReduceSum', [x, g.constI([1])], { keepdims: 0 }), g.constI([1])])]),
    expr: 'lambda x: x.mean(-1, keepdim=True) + (x * x).sum(2, keepdim=True) + x.sum(1).unsqueeze(1)',
  },
  { name: 'reduce_l2', inputs: [{ dims: [2, 3, 4] }], build: (g, [x]) => g.op('Div', [x, g.op('ReduceL2', [x], { axes: [-1], keepdims: 1 })]), expr: 'lambda x: x / x.norm(dim=-1, keepdim=True)' },
  { name: 'reduce_l2_dropped_axis', inputs: [{ dims: [2, 3, 4] }], build: (g, [x]) => g.op('ReduceL2', [x], { axes: [1], keepdims: 0 }), expr: 'lambda x: x.norm(dim=1)' },
  { name: 'matmul_weight_gemm_path', inputs: [{ dims: [2, 3, 5] }, { dims: [5, 6], constant: true }], build: (g, [a, w]) => g.op('MatMul', [a, w]), expr: 'lambda a, w: a @ w' },
  { name: 'matmul_broadcast_both_active', inputs: [{ dims: [2, 3, 4, 5] }, { dims: [5, 6] }], build: (g, [a, b]) => g.op('MatMul', [a, b]), expr: 'lambda a, b: a @ b' },
  { name: 'matmul_4d', inputs: [{ dims: [2, 3, 4, 5] }, { dims: [2, 3, 5, 4] }], build: (g, [a, b]) => g.op('MatMul', [a, b]), expr: 'lambda a, b: a @ b' },
  { name: 'gemm_transb_bias', inputs: [{ dims: [4, 5] }, { dims: [6, 5] }, { dims: [6] }], build: (g, [a, b, c]) => g.op('Gemm', [a, b, c], { transB: 1, alpha: { floatValue: 0.5 }, beta: { floatValue: 2 } }), expr: 'lambda a, b, c: 0.5 * a @ b.t() + 2 * c' },
  { name: 'gemm_transa', inputs: [{ dims: [5, 4] }, { dims: [5, 6] }], build: (g, [a, b]) => g.op('Gemm', [a, b], { transA: 1 }), expr: 'lambda a, b: a.t() @ b' },
  {
    name: 'shapes', inputs: [{ dims: [2, 3, 4, 5] }],
    build: (g, [x]) => g.op('Squeeze', [g.op('Unsqueeze', [g.op('Reshape', [g.op('Transpose', [g.op('Identity', [g.op('Cast', [x], { to: 1 })])], { perm: [0, 2, 1, 3] }), g.constI([0, 4, -1])]), g.constI([1])]), g.constI([1])]),
    expr: 'lambda x: x.permute(0, 2, 1, 3).reshape(2, 4, -1)',
  },
  {
    name: 'slice_static_and_run_length', inputs: [{ dims: [2, 5, 6], declared: ['n', 'm', 6] }],
    build: (g, [x]) => {
      const flat = (t: string) => g.op('Reshape', [t, g.constI([-1])]);
      const tail = g.op('Slice', [x, g.constI([-2]), g.constI([BIG]), g.constI([1])]);
      return g.op('Concat', [flat(g.op('Slice', [x, g.constI([1]), g.constI([4]), g.constI([2])])), flat(g.op('Mul', [tail, tail]))], { axis: 0 });
    },
    expr: 'lambda x: torch.cat([x[:, :, 1:4].reshape(-1), (x[:, -2:] ** 2).reshape(-1)])',
  },
  {
    name: 'concat_split', inputs: [{ dims: [2, 3] }, { dims: [2, 4] }],
    build: (g, [a, b]) => {
      const parts = [g.tmp('s0'), g.tmp('s1'), g.tmp('s2')];
      g.op('Split', [g.op('Concat', [a, g.op('Neg', [b])], { axis: -1 }), g.constI([2, 1, 4])], { axis: 1 }, parts);
      return g.op('Concat', [g.op('Mul', [parts[2], parts[2]]), parts[0]], { axis: 1 }); // the middle part unused
    },
    expr: 'lambda a, b: (lambda c: torch.cat([c[:, 3:] * c[:, 3:], c[:, :2]], 1))(torch.cat([a, -b], -1))',
  },
  { name: 'expand', inputs: [{ dims: [3, 1] }], build: (g, [x]) => g.op('Expand', [x, g.constI([2, 3, 4])]), expr: 'lambda x: x.expand(2, 3, 4)' },
  {
    name: 'where_broadcast', inputs: [{ dims: [3, 4] }, { dims: [4] }],
    build: (g, [a, b]) => g.op('Where', [g.op('Cast', [g.constI([1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0], [3, 4])], { to: 9 }), a, b]),
    expr: 'lambda a, b: torch.where(torch.tensor([[1, 0, 1, 1], [0, 0, 1, 0], [1, 1, 1, 0]], dtype=torch.bool), a, b)',
  },
  { name: 'gather_rows_repeated', inputs: [{ dims: [5, 4] }], build: (g, [x]) => g.op('Gather', [x, g.constI([0, 2, 2, 4], [2, 2])], { axis: 0 }), expr: 'lambda x: x[torch.tensor([[0, 2], [2, 4]])]' },
  { name: 'topk', inputs: [{ dims: [3, 6] }], build: (g, [x]) => g.op('TopK', [x, g.constI([2])], { axis: -1 }, [g.tmp('v'), g.tmp('i')]), expr: 'lambda x: torch.topk(x, 2, dim=-1).values' },
  {
    name: 'scatter_gather_elements', inputs: [{ dims: [3, 5] }, { dims: [3, 2] }],
    build: (g, [d, u]) => {
      const idx = g.constI([0, 3, 1, 4, 2, 0], [3, 2]);
      return g.op('Add', [g.op('ScatterElements', [d, idx, u], { axis: 1 }), g.op('Mul', [g.op('Expand', [g.op('ReduceSum', [g.op('GatherElements', [d, idx], { axis: 1 }), g.constI([1])], { keepdims: 1 }), g.constI([3, 5])]), d])]);
    },
    expr: 'lambda d, u: (lambda i: d.scatter(1, i, u) + d.gather(1, i).sum(1, keepdim=True) * d)(torch.tensor([[0, 3], [1, 4], [2, 0]]))',
  },
];

function normals(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / (2 ** 32 + 1);
  return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
}

test('every VJP rule matches PyTorch autograd, op by op and in combinations', async () => {
  const dir = tmpDir('op-grad');
  const specs: { name: string; expr: string; inputs: string[]; grad: boolean[] }[] = [];
  const mine = new Map<string, Float32Array[]>();
  for (const [k, c] of CASES.entries()) {
    const values = c.inputs.map((inp, i) => normals(inp.dims.reduce((a, b) => a * b, 1), 1000 * k + i + 1));
    const files = values.map((v, i) => {
      const f = path.join(dir, `${c.name}.x${i}.npy`);
      fs.writeFileSync(f, encodeNpy({ dims: c.inputs[i].dims, data: v }));
      return f;
    });
    specs.push({ name: c.name, expr: c.expr, inputs: files, grad: c.inputs.map((inp) => !inp.constant) });
    const g = new GraphBuilder();
    const xs = c.inputs.map((inp, i) => (inp.constant ? g.floatInit(`w${i}`, inp.dims, values[i]) : g.input(`x${i}`, 'float', inp.declared ?? inp.dims)));
    const y = c.build(g, xs);
    const active = xs.filter((_, i) => !c.inputs[i].constant);
    const grads = emitBackward(g, {
      sources: active, seedOf: y,
      seed: (e) => {
        const n = e.g.op('Size', [y]);
        return e.g.op('Reshape', [e.g.op('Sin', [e.g.op('Cast', [e.g.op('Range', [e.g.constI([0], []), n, e.g.constI([1], [])])], { to: 1 })]), e.g.op('Shape', [y])]);
      },
    });
    active.forEach((x, i) => {
      g.op('Identity', [grads.get(x)!], {}, `g_${x}`);
      g.output(`g_${x}`, 'float', c.inputs[xs.indexOf(x)].dims);
      void i;
    });
    const session = await ort.InferenceSession.create(g.build(c.name, 17), { intraOpNumThreads: 1 }).catch((e: Error) => assert.fail(`${c.name}: ${e.message}`));
    const feeds = Object.fromEntries(active.map((x) => [x, new ort.Tensor('float32', values[xs.indexOf(x)], c.inputs[xs.indexOf(x)].dims)]));
    const out = await session.run(feeds).catch((e: Error) => assert.fail(`${c.name}: ${e.message}`));
    mine.set(c.name, xs.map((x) => (out[`g_${x}`]?.data as Float32Array | undefined) ?? new Float32Array()));
    await session.release();
  }
  const casesFile = path.join(dir, 'cases.json');
  fs.writeFileSync(casesFile, JSON.stringify(specs));
  execFileSync(PYTHON, [path.join(ROOT, 'test', 'reference', 'op_grad_reference.py'), casesFile, dir], { env: { ...process.env, OMP_NUM_THREADS: '1' }, stdio: 'pipe' });
  const bad: [string, number][] = [];
  for (const c of CASES) {
    c.inputs.forEach((inp, i) => {
      if (inp.constant) return;
      const theirs = decodeNpy(fs.readFileSync(path.join(dir, `${c.name}.g${i}.npy`))).data;
      const got = mine.get(c.name)![i];
      const scale = Math.max(...theirs.map(Math.abs));
      assert.ok(scale > 0, `${c.name} input ${i}: a vacuous reference gradient`);
      let diff = got.length === theirs.length ? 0 : Infinity;
      for (let j = 0; j < theirs.length && diff < Infinity; j++) diff = Math.max(diff, Math.abs(got[j] - theirs[j]) || (Number.isNaN(got[j]) ? Infinity : 0));
      if (!(diff <= 1e-5 * scale)) bad.push([`${c.name} input ${i}`, diff / scale]);
    });
  }
  assert.deepEqual(bad, []);
});
