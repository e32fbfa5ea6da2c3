/**
 * Edge-attribution arithmetic on plain arrays: the source outputs of a run stacked as EAP-IG's
 * activation matrix [pos, n_sources, d_model], and edge scores Σ_{pos, d} Δz_u · g_v accumulated per
 * destination from the gradient at its input (the products on the tracer's backend).
 */
import type { ActivationCache } from '../cache';
import type { TensorData } from '../../protocol/tensor';
import type { Tracer } from '../tracer';
import { Destination, EdgeGraph, destinationHook, sourceIndex } from './edge-graph';

/** The hooks holding the sources' outputs. */
export function sourceHookNames(nLayers: number): string[] {
  return ['blocks.0.hook_resid_pre', ...Array.from({ length: nLayers }, (_, l) => [`blocks.${l}.attn.hook_result`, `blocks.${l}.hook_mlp_out`]).flat()];
}

/** Row 0 of a run's source outputs: [pos, n_sources, d_model]. */
export function sourceStack(cache: ActivationCache, graph: EdgeGraph, pos: number, d: number): Float32Array {
  const n = graph.sources.length;
  const H = graph.nHeads;
  const out = new Float32Array(pos * n * d);
  const put = (src: number, row: Float32Array, p: number) => out.set(row, (p * n + src) * d);
  const resid = cache.get('blocks.0.hook_resid_pre').data; // [1, pos, d_model]
  for (let p = 0; p < pos; p++) put(sourceIndex.input, resid.subarray(p * d, (p + 1) * d), p);
  for (let l = 0; l < graph.nLayers; l++) {
    const result = cache.get(`blocks.${l}.attn.hook_result`).data; // [1, pos, head, d_model]
    const mlp = cache.get(`blocks.${l}.hook_mlp_out`).data; // [1, pos, d_model]
    for (let p = 0; p < pos; p++) {
      for (let h = 0; h < H; h++) put(sourceIndex.head(H, l, h), result.subarray((p * H + h) * d, (p * H + h + 1) * d), p);
      put(sourceIndex.mlp(H, l), mlp.subarray(p * d, (p + 1) * d), p);
    }
  }
  return out;
}

/** Destination `dest`'s gradient rows, [pos * d_model], into `out` at `at`. */
function copyGradient(grads: ActivationCache, dest: Destination, nLayers: number, pos: number, d: number, out: Float32Array, at: number): void {
  const t: TensorData = grads.get(destinationHook(dest, nLayers));
  if (dest.head === undefined) return out.set(t.data.subarray(0, pos * d), at); // [1, pos, d_model]
  const heads = t.dims[2]; // [1, pos, heads, d_model]
  for (let p = 0; p < pos; p++) out.set(t.data.subarray((p * heads + dest.head) * d, (p * heads + dest.head + 1) * d), at + p * d);
}

/**
 * corrupted - clean of two source stacks [pos, n_sources, d_model], as rows [n_sources, pos * d_model]:
 * what accumulateScores contracts with.
 */
export function differenceRows(clean: Float32Array, corrupted: Float32Array, n: number, pos: number, d: number): Float32Array {
  const k = pos * d;
  const rows = new Float32Array(n * k); // [n_sources, pos * d_model]
  for (let p = 0; p < pos; p++) {
    for (let u = 0; u < n; u++) {
      const from = (p * n + u) * d;
      const to = u * k + p * d;
      for (let i = 0; i < d; i++) rows[to + i] = corrupted[from + i] - clean[from + i];
    }
  }
  return rows;
}

/**
 * scores[edge] += weight · Σ_{p, i} diff[p, u, i] · g_v[p, i] for every edge u -> v into the destinations
 * `dests` (graph indices; grads holds their inputs' gradients), with `rows` the activation difference
 * (differenceRows): per destination group (a layer's q, k and v inputs share their parents), one product
 * G [members, pos * d_model] · D[:parents]ᵀ on the tracer's backend.
 */
export async function accumulateScores(tracer: Pick<Tracer, 'contract'>, scores: Float64Array, graph: EdgeGraph, rows: Float32Array, grads: ActivationCache, dests: readonly number[], pos: number, d: number, weight: number): Promise<void> {
  const k = pos * d;
  const groups = new Map<string, number[]>();
  for (const di of dests) groups.set(graph.destinations[di].group, [...(groups.get(graph.destinations[di].group) ?? []), di]);
  for (const members of groups.values()) {
    const parents = graph.destinations[members[0]].parents;
    const g = new Float32Array(members.length * k); // [members, pos * d_model]
    members.forEach((di, m) => copyGradient(grads, graph.destinations[di], graph.nLayers, pos, d, g, m * k));
    const product = await tracer.contract({ dims: [members.length, k], data: g }, { dims: [parents, k], data: rows.subarray(0, parents * k) }); // [members, parents]
    members.forEach((di, m) => {
      for (let u = 0; u < parents; u++) scores[graph.offsets[di] + u] += weight * product.data[m * parents + u];
    });
  }
}

/** Adds gradient caches: the running sum of the destination gradients over IG steps. */
export function addGradients(sum: Map<string, Float32Array>, grads: ActivationCache, names: readonly string[]): void {
  for (const name of names) {
    const g = grads.get(name).data;
    const acc = sum.get(name);
    if (!acc) sum.set(name, Float32Array.from(g));
    else for (let i = 0; i < g.length; i++) acc[i] += g[i];
  }
}
