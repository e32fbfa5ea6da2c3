/**
 * Where an edge-attribution graph is drawn, without the DOM: nodes by layer (rows, the embeddings at the
 * bottom and the logits at the top; each layer a row of heads with its MLP in a half row above, in a
 * column of its own right of the heads, so edges between heads do not cross it) and head (columns); edges as segments from a source's top to the destination's bottom, a head's q, k and v
 * inputs entering at its left, middle and right; each edge's colour by sign and width by |score|; the
 * edge and node under the pointer.
 */
import type { EdgeGraphView } from '../../src/protocol/analysis';

export interface Point {
  x: number;
  y: number;
}

export interface DrawnEdge {
  index: number;
  from: Point;
  to: Point;
  /** 1 = positive score (blue), -1 = negative (red). */
  sign: 1 | -1;
  width: number;
  kept: boolean;
}

export interface GraphLayout {
  width: number;
  height: number;
  /** Node centres, in the view's node order. */
  nodes: Point[];
  nodeWidth: number;
  nodeHeight: number;
  /** Drawn weakest first, so the strongest and the circuit's lie on top. */
  edges: DrawnEdge[];
}

const MARGIN = 24;
const ROW = 64;
const MAX_WIDTH = 6;

export function layoutGraph(g: EdgeGraphView, width: number): GraphLayout {
  const cols = g.nHeads + 1; // the heads, then the MLPs
  const colWidth = Math.max(28, Math.min(72, (width - 2 * MARGIN) / Math.max(cols, 1)));
  const span = colWidth * cols;
  const left = MARGIN + Math.max(0, (width - 2 * MARGIN - span) / 2);
  // Rows from the top: logits, then per layer (top layer first) its MLP half row and its heads' row, then input.
  const height = 2 * MARGIN + ROW * (1.5 * g.nLayers + 1);
  const yOf = (n: EdgeGraphView['nodes'][number]) => {
    const bottom = height - MARGIN;
    if (n.layer < 0) return bottom;
    if (n.layer >= g.nLayers) return MARGIN;
    const heads = bottom - ROW * (1 + 1.5 * n.layer);
    return n.head === undefined ? heads - ROW * 0.75 : heads;
  };
  const xOf = (n: EdgeGraphView['nodes'][number]) => {
    if (n.head !== undefined) return left + colWidth * (n.head + 0.5);
    return n.layer < 0 || n.layer >= g.nLayers ? left + (colWidth * g.nHeads) / 2 : left + colWidth * (g.nHeads + 0.5);
  };
  const nodes = g.nodes.map((n) => ({ x: xOf(n), y: yOf(n) }));
  const nodeWidth = Math.min(colWidth - 6, 56);
  const nodeHeight = 18;
  const largest = Math.max(1e-30, ...g.edges.map((e) => Math.abs(e.score)));
  const inputOffset = { q: -nodeWidth / 3, k: 0, v: nodeWidth / 3 };
  const edges = g.edges.map((e, index): DrawnEdge => ({
    index,
    from: { x: nodes[e.from].x, y: nodes[e.from].y - nodeHeight / 2 },
    to: { x: nodes[e.to].x + (e.input ? inputOffset[e.input] : 0), y: nodes[e.to].y + nodeHeight / 2 },
    sign: e.score < 0 ? -1 : 1,
    width: 0.5 + (MAX_WIDTH - 0.5) * (Math.abs(e.score) / largest),
    kept: e.kept,
  })).sort((a, b) => Number(a.kept) - Number(b.kept) || a.width - b.width);
  return { width, height, nodes, nodeWidth, nodeHeight, edges };
}

function segmentDistance(p: Point, a: Point, b: Point): number {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2));
  return Math.hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy));
}

/** The node under p, else the topmost edge within 4 px of it. */
export function hitTest(layout: GraphLayout, p: Point): { node: number } | { edge: number } | undefined {
  const node = layout.nodes.findIndex((c) => Math.abs(p.x - c.x) <= layout.nodeWidth / 2 && Math.abs(p.y - c.y) <= layout.nodeHeight / 2);
  if (node >= 0) return { node };
  for (let i = layout.edges.length - 1; i >= 0; i--) {
    const e = layout.edges[i];
    if (segmentDistance(p, e.from, e.to) <= 4 + e.width / 2) return { edge: e.index };
  }
  return undefined;
}
