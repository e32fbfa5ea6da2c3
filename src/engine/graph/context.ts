/**
 * What every part of a model graph needs: the builder, the checkpoint's weights declared once each
 * (external data), the token ids and their [batch, pos] shape, and linear maps in either weight layout.
 */
import * as path from 'node:path';
import type { GraphBuilder } from './builder';
import type { Linear, WeightRef } from '../params';
import { weightInput } from './weight-input';

export class GraphContext {
  private readonly weights = new Map<string, string>();
  private readonly shapes = new Map<number, string>();
  private tokens?: { ids: string; idsShape: string; posLen: string };

  /** `locationPrefix`: the weights' folder relative to the one external data resolves against (sae-layout.ts). */
  constructor(readonly g: GraphBuilder, private readonly locationPrefix = '') {}

  /** The graph input `input_ids` and its shape, declared on first use. */
  private get tokenInput(): { ids: string; idsShape: string; posLen: string } {
    if (!this.tokens) {
      const ids = this.g.input('input_ids', 'int64', ['batch', 'pos']);
      this.tokens = { ids, idsShape: this.g.op('Shape', [ids]), posLen: this.g.op('Shape', [ids], { start: 1, end: 2 }) };
    }
    return this.tokens;
  }

  /**
   * Makes the graph start from a residual-stream input [batch, pos, d_model] instead of token ids:
   * batch and position counts come from its shape, and there are no ids.
   */
  startFromResidual(name: string, dModel: number): string {
    const resid = this.g.input(name, 'float', ['batch', 'pos', dModel]);
    this.tokens = { ids: '', idsShape: this.g.op('Shape', [resid], { start: 0, end: 2 }), posLen: this.g.op('Shape', [resid], { start: 1, end: 2 }) };
    return resid;
  }

  /** [batch, pos] int64 token ids */
  get ids(): string {
    const ids = this.tokenInput.ids;
    if (!ids) throw new Error('graph builder: this graph starts from a residual stream and has no token ids');
    return ids;
  }

  /** [2] = (batch, pos) */
  get idsShape(): string {
    return this.tokenInput.idsShape;
  }

  /** [1] = (pos) */
  get posLen(): string {
    return this.tokenInput.posLen;
  }

  /** The fp32 value of a checkpoint tensor (declared on first use). */
  W(ref: WeightRef): string {
    let name = this.weights.get(ref.name);
    if (!name) this.weights.set(ref.name, (name = weightInput(this.g, this.locationPrefix ? { ...ref, location: path.join(this.locationPrefix, ref.location) } : ref)));
    return name;
  }

  /** [3] = (batch, pos, n) */
  bpShape(n: number): string {
    let s = this.shapes.get(n);
    if (!s) this.shapes.set(n, (s = this.g.op('Concat', [this.idsShape, this.g.constI([n])], { axis: 0 })));
    return s;
  }

  /**
   * x [batch, pos, in] -> [batch, pos, out] into tensor `out`. A torch.nn.Linear weight ([out, in]) goes
   * through Gemm with transB on a 2-D view: a MatMul with a Transpose would be folded into a second copy.
   */
  linear(x: string, lin: Linear, out?: string): string {
    const g = this.g;
    if (lin.layout === 'in-out') {
      if (!lin.b) return g.op('MatMul', [x, this.W(lin.w)], {}, out);
      return g.op('Add', [g.op('MatMul', [x, this.W(lin.w)]), this.W(lin.b)], {}, out);
    }
    const [outDim, inDim] = lin.w.shape;
    const flat = g.op('Reshape', [x, g.constI([-1, inDim])]); // [batch * pos, in]
    const y = g.op('Gemm', lin.b ? [flat, this.W(lin.w), this.W(lin.b)] : [flat, this.W(lin.w)], { transB: 1 }); // [batch * pos, out]
    return g.op('Reshape', [y, this.bpShape(outDim)], {}, out);
  }
}
