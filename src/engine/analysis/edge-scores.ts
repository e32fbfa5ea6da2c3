/**
 * Edge-attribution arithmetic on plain arrays: the source outputs of a run stacked as EAP-IG's
 * activation matrix [pos, n_sources, d_model], and edge scores Σ_{pos, d} Δz_u · g_v accumulated per
 * destination from the gradient at its input.
 */
import type { ActivationCache } from '../cache';
import type { TensorData } from '../../protocol/tensor';
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

/** The gradient at destination `dest`'s input, position p: [d_model]. */
function destGradient(grads: ActivationCache, dest: Destination, nLayers: number, d: number): (p: number) => Float32Array {
  const t: TensorData = grads.get(destinationHook(dest, nLayers));
  if (dest.head === undefined) return (p) => t.data.subarray(p * d, (p + 1) * d); // [1, pos, d_model]
  const heads = t.dims[2]; // [1, pos, heads, d_model]
  const h = dest.head;
  return (p) => t.data.subarray((p * heads + h) * d, (p * heads + h + 1) * d);
}

/**
 * scores[edge] += weight · Σ_{p, i} diff[p, u, i] · g_v[p, i] for every edge u -> v, with diff the
 * [pos, n_sources, d_model] activation difference and g the gradients at the destinations' inputs.
 */
export function accumulateScores(scores: Float64Array, graph: EdgeGraph, diff: Float32Array, grads: ActivationCache, pos: number, d: number, weight: number): void {
  const n = graph.sources.length;
  graph.destinations.forEach((dest, di) => {
    const g = destGradient(grads, dest, graph.nLayers, d);
    const base = graph.offsets[di];
    for (let p = 0; p < pos; p++) {
      const gp = g(p);
      const rowStart = p * n * d;
      for (let u = 0; u < dest.parents; u++) {
        const o = rowStart + u * d;
        let s = 0;
        for (let i = 0; i < d; i++) s += diff[o + i] * gp[i];
        scores[base + u] += weight * s;
      }
    }
  });
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
