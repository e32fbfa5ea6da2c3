/**
 * Edge ablation inside the graph (the edge-ablation variant): every destination's input is its residual
 * minus, over its ablated incoming edges, (z_u - z~_u), where z_u is the source's output in this same run
 * and z~_u its ablated value (zeros, a mean, or the corrupted run's). Sources are EAP-IG's forward nodes
 * in their order: the embeddings (blocks.0.hook_resid_pre), then per layer each head's attn.hook_result
 * and the MLP's hook_mlp_out. Destinations read a 0/1 mask row per destination: one correction
 * [batch, pos, n_dest, d_model] per destination group (a layer's q, k and v inputs; its MLP input; the
 * final residual), so one forward measures a whole circuit.
 *
 * Graph inputs: `edges::ablated` [batch or 1, pos, n_sources, d_model] and, per group, `edges::mask.<group>`
 * [n_dest, n_sources_seen] (1 = that edge is ablated).
 */
import type { GraphBuilder } from './builder';

export const EDGE_ABLATED_INPUT = 'edges::ablated';

/** The mask input of a destination group: `L.attn` (q heads, then k and v key/value heads), `L.mlp` or `logits`. */
export function edgeMaskInput(group: string): string {
  return `edges::mask.${group}`;
}

export class EdgeAblationGraph {
  private readonly stack: string[] = [];
  private seen = 0;
  private ablated?: string;

  constructor(private readonly g: GraphBuilder, private readonly nSources: number, private readonly dModel: number) {}

  /** Sources, in forward order: z [batch, pos, n, d_model]. */
  addSources(z: string, n: number): void {
    this.stack.push(z);
    this.seen += n;
  }

  /** Σ_u mask[v, u] (z_u - z~_u) over the first `nSources` sources: [batch, pos, n_dest, d_model]. */
  correction(group: string, nDest: number, nSources: number): string {
    const g = this.g;
    if (nSources > this.seen) throw new Error(`edge ablation: ${group} reads ${nSources} sources, ${this.seen} are built`);
    this.ablated ??= g.input(EDGE_ABLATED_INPUT, 'float', ['edges_batch', 'pos', this.nSources, this.dModel]);
    const all = this.stack.length === 1 ? this.stack[0] : g.op('Concat', [...this.stack], { axis: 2 }); // [batch, pos, seen, d_model]
    const first = (x: string, has: number) => (nSources === has ? x : g.op('Slice', [x, g.constI([0]), g.constI([nSources]), g.constI([2])]));
    const diff = g.op('Sub', [first(all, this.seen), first(this.ablated, this.nSources)]); // [batch, pos, n, d_model]
    const mask = g.input(edgeMaskInput(group), 'float', [nDest, nSources]);
    return g.op('MatMul', [mask, diff]); // [n_dest, n] @ [batch, pos, n, d_model] -> [batch, pos, n_dest, d_model]
  }
}
