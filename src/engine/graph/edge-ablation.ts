/**
 * Edge ablation inside the graph (the edge-ablation variant): every destination's input is its residual
 * minus, over its ablated incoming edges, (z_u - z~_u), where z_u is the source's output in this same run
 * and z~_u its ablated value (zeros, a mean, or the corrupted run's). Sources are EAP-IG's forward nodes
 * in their order: the embeddings (blocks.0.hook_resid_pre), then per layer each head's attn.hook_result
 * and the MLP's hook_mlp_out. Destinations read a 0/1 mask row per destination: one correction
 * [batch, pos, n_dest, d_model] per destination group (a layer's q, k and v inputs; its MLP input; the
 * final residual), so one forward measures a whole circuit. Each source's z_u - z~_u is taken once, and a
 * group's correction is a sum of one small MatMul per source tensor, so memory grows with the sources, not
 * with sources x destination groups.
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
  /** Per added source tensor: z - z~ [batch, pos, n, d_model] and its first source index. */
  private readonly chunks: { diff: string; start: number; n: number }[] = [];
  private seen = 0;
  private ablated?: string;

  constructor(private readonly g: GraphBuilder, private readonly nSources: number, private readonly dModel: number) {}

  /** Sources, in forward order: z [batch, pos, n, d_model]; their difference from the ablated values is taken once here. */
  addSources(z: string, n: number): void {
    const g = this.g;
    this.ablated ??= g.input(EDGE_ABLATED_INPUT, 'float', ['edges_batch', 'pos', this.nSources, this.dModel]);
    const mine = g.op('Slice', [this.ablated, g.constI([this.seen]), g.constI([this.seen + n]), g.constI([2])]); // [batch or 1, pos, n, d_model]
    this.chunks.push({ diff: g.op('Sub', [z, mine]), start: this.seen, n });
    this.seen += n;
  }

  /**
   * Σ_u mask[v, u] (z_u - z~_u) over the first `nSources` sources: [batch, pos, n_dest, d_model], one
   * small MatMul per source tensor (no stacked copy of every source per destination group).
   */
  correction(group: string, nDest: number, nSources: number): string {
    const g = this.g;
    const chunks = this.chunks.filter((c) => c.start < nSources);
    if (nSources !== this.seen && !this.chunks.some((c) => c.start === nSources)) throw new Error(`edge ablation: ${group} reads ${nSources} sources, not a boundary of the ${this.seen} built`);
    const mask = g.input(edgeMaskInput(group), 'float', [nDest, nSources]);
    const terms = chunks.map((c) => {
      const cols = c.start === 0 && c.n === nSources ? mask : g.op('Slice', [mask, g.constI([c.start]), g.constI([c.start + c.n]), g.constI([1])]); // [n_dest, n]
      return g.op('MatMul', [cols, c.diff]); // [n_dest, n] @ [batch, pos, n, d_model] -> [batch, pos, n_dest, d_model]
    });
    return terms.length === 1 ? terms[0] : g.op('Sum', terms);
  }
}
