/**
 * EAP-IG's computational graph (hannamw/EAP-IG src/eap/graph.py, read for its definitions): sources
 * ("forward nodes") are `input` (the embeddings, blocks.0.hook_resid_pre), each head `a{L}.h{H}` (its
 * attn.hook_result) and each MLP `m{L}` (hook_mlp_out), in forward order; destinations ("backward nodes")
 * are each head's query, key and value inputs `a{L}.h{H}<q|k|v>` (hook_q_input / hook_k_input /
 * hook_v_input; under grouped-query attention the key and value destinations are the key/value heads, as
 * the hooks are), each MLP's input `m{L}` (hook_mlp_in) and `logits` (the final residual). Every source
 * that runs before a destination feeds it: destination d's parents are the first `parents(d)` sources.
 * GPT-2 small: 157 sources, 445 destinations, 32,491 edges.
 */
import { fail } from '../errors';
import type { ModelConfig } from '../model-config';

export type DestKind = 'q' | 'k' | 'v' | 'mlp' | 'logits';

export interface Destination {
  label: string;
  kind: DestKind;
  layer: number;
  /** The head (key/value head for k and v) of an attention input. */
  head?: number;
  /** The mask input group (graph/edge-ablation.ts) and this destination's row in it. */
  group: string;
  row: number;
  /** Its parents are sources [0, parents). */
  parents: number;
}

export interface EdgeGraph {
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  /** Source labels in forward order. */
  sources: string[];
  destinations: Destination[];
  /** Edge e of destination d is offsets[d] + source index. */
  offsets: Int32Array;
  edgeCount: number;
}

export const sourceIndex = {
  input: 0,
  head: (nHeads: number, layer: number, head: number) => 1 + layer * (nHeads + 1) + head,
  mlp: (nHeads: number, layer: number) => 1 + layer * (nHeads + 1) + nHeads,
};

/** The graph of a model; refuses one whose residual is not the sum of its nodes' outputs. */
export function edgeGraph(c: ModelConfig): EdgeGraph {
  if (c.postNorms || c.sandwichNorms) {
    fail('BAD_INPUT', { field: 'kind' }, `edge attribution needs a residual stream that is the sum of the heads' and MLPs' outputs; ${c.architecture} normalises them after the block (${c.postNorms ? 'post' : 'sandwich'} norms).`, 'Use a model without post or sandwich norms (GPT-2, GPT-NeoX, Llama, ...).');
  }
  const { nLayers: L, nHeads: H, nKvHeads: KV } = c;
  const sources = ['input'];
  for (let l = 0; l < L; l++) {
    for (let h = 0; h < H; h++) sources.push(`a${l}.h${h}`);
    sources.push(`m${l}`);
  }
  const destinations: Destination[] = [];
  for (let l = 0; l < L; l++) {
    const before = 1 + l * (H + 1);
    let row = 0;
    for (const [kind, n] of [['q', H], ['k', KV], ['v', KV]] as const) {
      for (let h = 0; h < n; h++) destinations.push({ label: `a${l}.h${h}<${kind}>`, kind, layer: l, head: h, group: `${l}.attn`, row: row++, parents: before });
    }
    destinations.push({ label: `m${l}`, kind: 'mlp', layer: l, group: `${l}.mlp`, row: 0, parents: before + (c.parallelAttnMlp ? 0 : H) });
  }
  destinations.push({ label: 'logits', kind: 'logits', layer: L, group: 'logits', row: 0, parents: sources.length });
  const offsets = new Int32Array(destinations.length + 1);
  destinations.forEach((d, i) => (offsets[i + 1] = offsets[i] + d.parents));
  return { nLayers: L, nHeads: H, nKvHeads: KV, sources, destinations, offsets, edgeCount: offsets[destinations.length] };
}

/** "a0.h1->a1.h0<k>", as EAP-IG names edges. */
export function edgeLabel(graph: EdgeGraph, edge: number): string {
  const { source, dest } = edgeEnds(graph, edge);
  return `${graph.sources[source]}->${graph.destinations[dest].label}`;
}

/** The source and destination indices of edge `edge`. */
export function edgeEnds(graph: EdgeGraph, edge: number): { source: number; dest: number } {
  let lo = 0;
  let hi = graph.destinations.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (graph.offsets[mid] <= edge) lo = mid;
    else hi = mid - 1;
  }
  return { source: edge - graph.offsets[lo], dest: lo };
}

/** The hook holding each destination's input. */
export function destinationHook(d: Destination, nLayers: number): string {
  if (d.kind === 'logits') return `blocks.${nLayers - 1}.hook_resid_post`;
  return d.kind === 'mlp' ? `blocks.${d.layer}.hook_mlp_in` : `blocks.${d.layer}.hook_${d.kind}_input`;
}

/**
 * The edge-ablation masks (graph/edge-ablation.ts) for a kept set of edges: per destination group,
 * [n_dest, n_sources_seen] with 1 where the edge is ablated.
 */
export function ablationMasks(graph: EdgeGraph, kept: (edge: number) => boolean): Map<string, { dims: number[]; data: Float32Array }> {
  const groups = new Map<string, Destination[]>();
  for (const d of graph.destinations) groups.set(d.group, [...(groups.get(d.group) ?? []), d]);
  const masks = new Map<string, { dims: number[]; data: Float32Array }>();
  graph.destinations.forEach((d, index) => {
    const size = groups.get(d.group)!.length;
    const n = d.parents;
    let mask = masks.get(d.group);
    if (!mask) masks.set(d.group, (mask = { dims: [size, n], data: new Float32Array(size * n) })); // [n_dest, n_sources_seen]
    for (let s = 0; s < n; s++) mask.data[d.row * n + s] = kept(graph.offsets[index] + s) ? 0 : 1;
  });
  return masks;
}
