/**
 * An edge-attribution result as plain data for its panel and reports: the graph's nodes (EAP-IG's:
 * input, heads, MLPs, logits) and the edges worth drawing: every edge of the circuit and the largest
 * others by |score| (none negligible), at most MAX_DRAWN in all.
 */
import type { EdgeGraphView } from '../../protocol/analysis';
import { EdgeGraph, edgeEnds } from './edge-graph';

/** Edges a panel draws at most: more is a hairball on a canvas and a slow payload. */
export const MAX_DRAWN = 400;

/** Scores below this share of the largest are rounding noise, not a ranking. */
const NEGLIGIBLE = 1e-6;

/**
 * The edges worth showing, largest |score| first (ties by edge order): at most `n`, none whose |score| is
 * below NEGLIGIBLE of the largest (their order would be that of rounding errors, different on every CPU).
 */
export function rankEdges(scores: Float64Array, n: number, first: (e: number) => boolean = () => false): number[] {
  const largest = scores.reduce((a, s) => Math.max(a, Math.abs(s)), 0);
  const shown = Array.from(scores.keys()).filter((e) => first(e) || Math.abs(scores[e]) >= NEGLIGIBLE * largest && largest > 0);
  return shown.sort((a, b) => Number(first(b)) - Number(first(a)) || Math.abs(scores[b]) - Math.abs(scores[a]) || a - b).slice(0, n);
}

export function edgeGraphView(graph: EdgeGraph, scores: Float64Array, kept: Uint8Array, scoreLabel: string): EdgeGraphView {
  const { nLayers: L, nHeads: H } = graph;
  const nodes: EdgeGraphView['nodes'] = [{ label: 'input', layer: -1 }];
  for (let l = 0; l < L; l++) {
    for (let h = 0; h < H; h++) nodes.push({ label: `a${l}.h${h}`, layer: l, head: h });
    nodes.push({ label: `m${l}`, layer: l });
  }
  nodes.push({ label: 'logits', layer: L });
  const nodeOfDest = (dest: number): { to: number; input?: 'q' | 'k' | 'v' } => {
    const d = graph.destinations[dest];
    if (d.kind === 'logits') return { to: nodes.length - 1 };
    if (d.kind === 'mlp') return { to: 1 + d.layer * (H + 1) + H };
    // Under grouped-query attention a key/value head's edge is drawn into the first query head it serves.
    const head = d.kind === 'q' ? d.head! : d.head! * (H / graph.nKvHeads);
    return { to: 1 + d.layer * (H + 1) + head, input: d.kind };
  };
  const edges = rankEdges(scores, MAX_DRAWN, (e) => kept[e] === 1).map((e) => {
    const { source, dest } = edgeEnds(graph, e);
    return { from: source, ...nodeOfDest(dest), score: scores[e], kept: kept[e] === 1 };
  });
  return { nLayers: L, nHeads: H, nodes, edges, edgeCount: graph.edgeCount, keptCount: kept.reduce((a, b) => a + b, 0), scoreLabel };
}
