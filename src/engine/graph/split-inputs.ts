/**
 * Split attention inputs (TransformerLens' use_split_qkv_input): the residual copied once per head into
 * hook_q_input / hook_k_input / hook_v_input [batch, pos, heads, d_model], each normalised on its own and
 * projected by its head's slice of W_Q, W_K or W_V, so that an intervention or a gradient at one head's
 * query input reaches that head's query only.
 */
import type { Linear, Qkv } from '../params';
import type { GraphContext } from './context';

export type QkvPart = 0 | 1 | 2;

/** A linear weight as [in, out], whatever its layout. */
function inOut(ctx: GraphContext, lin: Linear): string {
  return lin.layout === 'in-out' ? ctx.W(lin.w) : ctx.g.op('Transpose', [ctx.W(lin.w)], { perm: [1, 0] });
}

/**
 * The per-head weights of part `part` (q, k or v) of the projection: w [heads, d_model, d_head] and the bias
 * [heads, 1, d_head] when there is one.
 */
export function headWeights(ctx: GraphContext, qkv: Qkv, part: QkvPart, heads: number, nHeads: number, dHead: number): { w: string; b?: string } {
  const g = ctx.g;
  const perHead = (w2: string) => g.op('Transpose', [g.op('Reshape', [w2, g.constI([0, heads, dHead])])], { perm: [1, 0, 2] }); // [d_model, heads * d_head] -> [heads, d_model, d_head]
  const biasRows = (b: string) => g.op('Reshape', [b, g.constI([heads, 1, dHead])]);
  if (qkv.kind === 'separate') {
    const lin = [qkv.q, qkv.k, qkv.v][part];
    return { w: perHead(inOut(ctx, lin)), ...(lin.b ? { b: biasRows(ctx.W(lin.b)) } : {}) };
  }
  const { proj } = qkv;
  if (qkv.order === 'blocks') {
    // GPT-2: columns [q | k | v], n_heads * d_head each.
    const from = g.constI([part * nHeads * dHead]);
    const to = g.constI([(part + 1) * nHeads * dHead]);
    const w2 = g.op('Slice', [inOut(ctx, proj), from, to, g.constI([1])]); // [d_model, heads * d_head]
    return { w: perHead(w2), ...(proj.b ? { b: biasRows(g.op('Slice', [ctx.W(proj.b), from, to, g.constI([0])])) } : {}) };
  }
  // GPT-NeoX: columns [head, (q | k | v), d_head].
  const index = g.constI([part], []);
  const w3 = g.op('Gather', [g.op('Reshape', [inOut(ctx, proj), g.constI([-1, nHeads, 3, dHead])]), index], { axis: 2 }); // [d_model, heads, d_head]
  const w = g.op('Transpose', [w3], { perm: [1, 0, 2] });
  return { w, ...(proj.b ? { b: biasRows(g.op('Gather', [g.op('Reshape', [ctx.W(proj.b), g.constI([nHeads, 3, dHead])]), index], { axis: 1 })) } : {}) };
}

/** resid [batch, pos, d_model] copied per head: [batch, pos, heads, d_model], into tensor `out`. */
export function perHeadCopy(ctx: GraphContext, resid: string, heads: number, out: string): string {
  const g = ctx.g;
  return g.op('Expand', [g.op('Unsqueeze', [resid, g.constI([2])]), g.constI([1, 1, heads, 1])], {}, out);
}

/** Normalised per-head inputs x [batch, pos, heads, d_model] through their heads' weights: [batch, pos, heads, d_head], into `out`. */
export function projectPerHead(ctx: GraphContext, x: string, weights: { w: string; b?: string }, out: string): string {
  const g = ctx.g;
  const xT = g.op('Transpose', [x], { perm: [0, 2, 1, 3] }); // [batch, heads, pos, d_model]
  const y = g.op('MatMul', [xT, weights.w]); // [batch, heads, pos, d_head]
  const biased = weights.b ? g.op('Add', [y, weights.b]) : y;
  return g.op('Transpose', [biased], { perm: [0, 2, 1, 3] }, out);
}
