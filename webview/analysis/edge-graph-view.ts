/**
 * The edge-attribution graph on one canvas (edge-graph-layout.ts places it): the circuit's edges drawn
 * strong, the others faint, blue positive and red negative, width by |score|. Hovering an edge shows its
 * score, hovering a node its name; clicking a head opens it in the attention panel. Model text never
 * reaches the page as HTML: labels are node names drawn on the canvas or set with textContent.
 */
import type { EdgeGraphView } from '../../src/protocol/analysis';
import { formatValue } from '../../src/protocol/figures';
import { notify } from '../host';
import type { Theme } from '../theme';
import { GraphLayout, hitTest, layoutGraph } from './edge-graph-layout';

function draw(ctx: CanvasRenderingContext2D, g: EdgeGraphView, layout: GraphLayout, theme: Theme, highlight?: number): void {
  ctx.clearRect(0, 0, layout.width, layout.height);
  for (const e of layout.edges) {
    ctx.strokeStyle = e.sign < 0 ? theme.negative : theme.positive;
    ctx.globalAlpha = e.index === highlight ? 1 : e.kept ? 0.9 : 0.18;
    ctx.lineWidth = e.index === highlight ? e.width + 2 : e.width;
    ctx.beginPath();
    ctx.moveTo(e.from.x, e.from.y);
    ctx.lineTo(e.to.x, e.to.y);
    ctx.stroke();
  }
  ctx.globalAlpha = 1;
  const inCircuit = new Set(g.edges.filter((e) => e.kept).flatMap((e) => [e.from, e.to]));
  ctx.font = `11px ${theme.fontFamily}`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  g.nodes.forEach((n, i) => {
    const c = layout.nodes[i];
    const w = layout.nodeWidth;
    const h = layout.nodeHeight;
    ctx.fillStyle = theme.hoverBackground;
    ctx.strokeStyle = inCircuit.has(i) ? theme.accent : theme.masked;
    ctx.lineWidth = inCircuit.has(i) ? 2 : 1;
    ctx.fillRect(c.x - w / 2, c.y - h / 2, w, h);
    ctx.strokeRect(c.x - w / 2, c.y - h / 2, w, h);
    ctx.fillStyle = theme.foreground;
    ctx.fillText(n.label, c.x, c.y, w - 2);
  });
}

export function renderEdgeGraph(parent: HTMLElement, g: EdgeGraphView, theme: Theme, width: number): HTMLCanvasElement {
  const layout = layoutGraph(g, width);
  const wrap = document.createElement('div');
  wrap.className = 'edge-graph';
  const canvas = document.createElement('canvas');
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(layout.width * dpr);
  canvas.height = Math.round(layout.height * dpr);
  canvas.style.width = `${layout.width}px`;
  canvas.style.height = `${layout.height}px`;
  const ctx = canvas.getContext('2d')!;
  ctx.scale(dpr, dpr);
  const tip = document.createElement('div');
  tip.className = 'edge-graph-tip';
  tip.hidden = true;
  const legend = document.createElement('p');
  legend.className = 'meta';
  legend.textContent = `${g.edges.length} of ${g.edgeCount} edges drawn (the circuit's ${g.keptCount} strong, the largest others faint); blue positive, red negative, width by |score|. Hover an edge for its score; click a head to open it in the attention panel.`;
  wrap.append(canvas, tip);
  parent.append(legend, wrap);
  draw(ctx, g, layout, theme);

  const at = (ev: MouseEvent) => {
    const r = canvas.getBoundingClientRect();
    return hitTest(layout, { x: ev.clientX - r.left, y: ev.clientY - r.top });
  };
  canvas.addEventListener('mousemove', (ev) => {
    const hit = at(ev);
    const edge = hit && 'edge' in hit ? hit.edge : undefined;
    draw(ctx, g, layout, theme, edge);
    if (!hit) {
      tip.hidden = true;
      canvas.style.cursor = '';
      return;
    }
    if ('edge' in hit) {
      const e = g.edges[hit.edge];
      tip.textContent = `${g.nodes[e.from].label} → ${g.nodes[e.to].label}${e.input ? ` <${e.input}>` : ''}: ${formatValue(e.score)}${e.kept ? ' (in the circuit)' : ''}`;
      canvas.style.cursor = '';
    } else {
      const n = g.nodes[hit.node];
      tip.textContent = n.head !== undefined ? `${n.label}: click to open layer ${n.layer} head ${n.head}'s attention` : n.label;
      canvas.style.cursor = n.head !== undefined ? 'pointer' : '';
    }
    tip.hidden = false;
    tip.style.left = `${ev.offsetX + 12}px`;
    tip.style.top = `${ev.offsetY + 12}px`;
  });
  canvas.addEventListener('mouseleave', () => {
    tip.hidden = true;
    draw(ctx, g, layout, theme);
  });
  canvas.addEventListener('click', (ev) => {
    const hit = at(ev);
    if (!hit || !('node' in hit)) return;
    const n = g.nodes[hit.node];
    if (n.head !== undefined) notify({ method: 'openHead', params: { layer: n.layer, head: n.head } });
  });
  return canvas;
}
