/**
 * One attention head large, on a canvas: the pattern (sequential, 0 to the head's max) or the scores
 * (RdBu centred at 0), masked cells in the masked colour, thinned token labels on both axes, axis titles
 * and a colour bar. It draws whatever window of the head it was given where that window lies (a coarse
 * one stands in while a finer one is fetched), and asks for what it lacks when the view changes. Wheel
 * zooms around the pointer, drag pans, double-click resets; hover reads the value under the pointer from
 * the window's typed array (no redraw but the overlay); click locks a query row.
 */
import type { HeadWindow, PanelToken } from '../../src/protocol/panels';
import { frameScheduler, sizeCanvas } from '../canvas';
import { Rgb, divergingLut, rgbCss, sequentialLut } from '../colour';
import { parseColour } from '../css-colour';
import type { Theme } from '../theme';
import { clipLabel, ticksBetween } from '../../src/protocol/figures';
import { cellText, covers, formatValue, headName, tokenLabel } from './data';
import { ViewWindow, clampWindow, paddedWindow, paint } from './raster';
import { escapeXml } from '../../src/protocol/xml';

const LEFT = 104;
const TOP = 8;
const BOTTOM = 92;
const BAR = 64; // colour bar and its ticks, right of the plot
const LABEL_CHARS = 14;
/** Cells a side fetched for the view (at most): 256 x 256 float32 is 256 KB a message. */
const VIEW_CELLS = 256;
/** A fetched window reaches this share of the view's span past each side, so small pans need nothing new. */
const FETCH_MARGIN = 0.25;
/** The view asks for data once it has stopped moving this long. */
const SETTLE_MS = 80;

export interface HeadCanvasEvents {
  /** A query row was locked (or unlocked: undefined), in prompt positions. */
  onLock(pos: number | undefined): void;
  /** The view shows queries q x keys k, which the data it has does not cover at `cells` a side. */
  onNeed(q: [number, number], k: [number, number], cells: number): void;
}

interface Colours {
  masked: Rgb;
  sequential: Uint8ClampedArray;
  diverging: Uint8ClampedArray;
}

export class HeadCanvas {
  readonly element = document.createElement('div');
  private readonly canvas = document.createElement('canvas');
  private readonly overlay = document.createElement('canvas');
  private readonly readout = document.createElement('div');
  private readonly colours: Colours;
  private readonly dataCanvas = document.createElement('canvas');
  /** The window drawn (and read on hover): the latest one given. */
  private data: HeadWindow | undefined;
  private preview = false;
  private range: [number, number] = [0, 1];
  private win: ViewWindow = { q0: 0, k0: 0, span: 1 };
  private plot = 320;
  private hover: { q: number; k: number } | undefined;
  private locked: number | undefined;
  private drag: { x: number; y: number; win: ViewWindow; moved: boolean } | undefined;
  private settle: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly theme: Theme, private readonly tokens: readonly PanelToken[], private readonly events: HeadCanvasEvents) {
    this.element.className = 'head-view';
    const stack = document.createElement('div');
    stack.className = 'canvas-stack';
    this.canvas.id = 'head-canvas';
    this.overlay.id = 'head-overlay';
    this.overlay.tabIndex = 0;
    this.overlay.setAttribute('aria-label', 'Attention head: wheel to zoom, drag to pan, double-click to reset, click a row to lock its query');
    stack.append(this.canvas, this.overlay);
    this.readout.id = 'hover-readout';
    this.readout.className = 'readout';
    this.readout.textContent = 'Hover a cell for its value; wheel to zoom, drag to pan, double-click to reset.';
    this.element.append(stack, this.readout);
    this.colours = {
      masked: parseColour(theme.masked),
      sequential: sequentialLut(parseColour(theme.background), parseColour(theme.positive)),
      diverging: divergingLut(),
    };
    this.bind();
    new ResizeObserver(() => this.layout()).observe(this.element);
  }

  /** Shows the token range [from, to) whole (the zoom is reset); the data that covers it is asked for. */
  setRange(from: number, to: number): void {
    this.range = [from, to];
    this.win = { q0: from, k0: from, span: to - from };
    if (this.locked !== undefined && (this.locked < from || this.locked >= to)) this.locked = undefined;
    this.schedule();
    this.need(0);
  }

  /** Draws a window of the head (a thumbnail's while `preview`) where it lies in the view. */
  setData(w: HeadWindow, preview = false): void {
    this.data = w;
    this.preview = preview;
    const image = new ImageData(w.cols, w.rows);
    paint(w.values, w.max, w.hook !== 'pattern', w.hook !== 'pattern' ? this.colours.diverging : this.colours.sequential, this.colours.masked, image.data);
    this.dataCanvas.width = w.cols;
    this.dataCanvas.height = w.rows;
    this.dataCanvas.getContext('2d')?.putImageData(image, 0, 0);
    if (preview) this.readout.textContent = `${headName(w)}: preview from the thumbnail; loading full resolution…`;
    else if (this.readout.textContent === 'Loading…' || this.readout.textContent?.includes('preview')) this.readout.textContent = 'Hover a cell for its value; wheel to zoom, drag to pan, double-click to reset.';
    this.schedule();
  }

  /** Forgets the data: another head or hook is on its way. */
  clear(): void {
    this.data = undefined;
    this.preview = false;
    this.readout.textContent = 'Loading…';
    this.schedule();
  }

  /** Asks for the view's data now, unless what is drawn covers it. */
  refetch(): void {
    this.need(0);
  }

  /** Locks a query row (prompt position), or unlocks. */
  lock(pos: number | undefined): void {
    this.locked = pos;
    this.drawOverlay();
  }

  /** The data drawn, when it is a window of the head itself (not a thumbnail's preview). */
  get shown(): HeadWindow | undefined {
    return this.preview ? undefined : this.data;
  }

  /** The view's queries and keys, and the cells a side it wants. */
  get view(): { q: [number, number]; k: [number, number]; cells: number } {
    const w = this.win;
    return { q: [w.q0, w.q0 + w.span], k: [w.k0, w.k0 + w.span], cells: this.cells() };
  }

  private cells(): number {
    return Math.min(VIEW_CELLS, Math.ceil(this.plot * (window.devicePixelRatio || 1)));
  }

  /** Asks for data after the view has been still for `delay` ms, unless what is drawn covers it. */
  private need(delay = SETTLE_MS): void {
    clearTimeout(this.settle);
    this.settle = setTimeout(() => {
      const { q, k, cells } = this.view;
      if (!this.preview && covers(this.data, q, k, cells)) return;
      const padded = paddedWindow(this.win, this.range[0], this.range[1], FETCH_MARGIN);
      const grow = (padded.q[1] - padded.q[0]) / this.win.span;
      this.events.onNeed(padded.q, padded.k, Math.ceil(cells * grow));
    }, delay);
  }

  private layout(): void {
    const width = this.element.clientWidth || 640;
    this.plot = Math.max(160, Math.min(720, width - LEFT - BAR - 8));
    const w = LEFT + this.plot + BAR;
    const h = TOP + this.plot + BOTTOM;
    for (const c of [this.canvas, this.overlay]) sizeCanvas(c, w, h);
    this.schedule();
    this.need();
  }

  private readonly schedule = frameScheduler(() => {
    this.draw();
    this.drawOverlay();
  });

  private draw(): void {
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = this.theme.background;
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    const signed = this.data ? this.data.hook !== 'pattern' : false;
    this.drawCells(ctx);
    this.drawAxes(ctx);
    this.drawColourBar(ctx, signed);
    // What is drawn, for tests: a head's name, hook and window, or 'preview' while its thumbnail stands in.
    const d = this.data;
    this.element.dataset.drawn = this.preview ? 'preview' : d ? `${headName(d)} ${d.hook} ${d.q.join('-')} ${d.rows}x${d.cols}` : '';
  }

  /** The data's image where its window lies in the view, clipped to the plot; the rest is background. */
  private drawCells(ctx: CanvasRenderingContext2D): void {
    const d = this.data;
    if (!d) return;
    const cell = this.plot / this.win.span;
    const x = LEFT + (d.k[0] - this.win.k0) * cell;
    const y = TOP + (d.q[0] - this.win.q0) * cell;
    const w = (d.k[1] - d.k[0]) * cell;
    const h = (d.q[1] - d.q[0]) * cell;
    ctx.save();
    ctx.beginPath();
    ctx.rect(LEFT, TOP, this.plot, this.plot);
    ctx.clip();
    // Cells larger than a pixel stay sharp; smaller ones are averaged by the scaling (the data is max-pooled already).
    ctx.imageSmoothingEnabled = w / d.cols < 1;
    ctx.drawImage(this.dataCanvas, x, y, w, h);
    ctx.restore();
  }

  /** Window of prompt positions on the axes (the whole prompt while previewing). */
  private axisRange(): { from: number; span: number; qFrom: number } {
    return { from: this.win.k0, span: this.win.span, qFrom: this.win.q0 };
  }

  private drawAxes(ctx: CanvasRenderingContext2D): void {
    const { from, span, qFrom } = this.axisRange();
    const cell = this.plot / span;
    ctx.fillStyle = this.theme.foreground;
    ctx.font = `11px ${this.theme.fontFamily}`;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    for (const p of ticksBetween(qFrom, qFrom + span, cell)) ctx.fillText(clipLabel(tokenLabel(this.tokens, p), LABEL_CHARS), LEFT - 4, TOP + (p - qFrom + 0.5) * cell);
    for (const p of ticksBetween(from, from + span, cell)) {
      // Rotated 60 degrees, ending under the key's column.
      ctx.save();
      ctx.translate(LEFT + (p - from + 0.5) * cell, TOP + this.plot + 6);
      ctx.rotate(-Math.PI / 3);
      ctx.fillText(clipLabel(tokenLabel(this.tokens, p), LABEL_CHARS), 0, 0);
      ctx.restore();
    }
    ctx.font = `12px ${this.theme.fontFamily}`;
    ctx.textAlign = 'center';
    ctx.fillText('key token', LEFT + this.plot / 2, TOP + this.plot + BOTTOM - 8);
    ctx.save();
    ctx.translate(10, TOP + this.plot / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText('query token', 0, 0);
    ctx.restore();
  }

  private drawColourBar(ctx: CanvasRenderingContext2D, signed: boolean): void {
    const x = LEFT + this.plot + 10;
    const lut = signed ? this.colours.diverging : this.colours.sequential;
    for (let y = 0; y < this.plot; y++) {
      const li = Math.round((1 - y / (this.plot - 1)) * 255) * 4;
      ctx.fillStyle = rgbCss([lut[li], lut[li + 1], lut[li + 2]]);
      ctx.fillRect(x, TOP + y, 12, 1);
    }
    ctx.strokeStyle = this.theme.foreground;
    ctx.strokeRect(x + 0.5, TOP + 0.5, 12, this.plot - 1);
    const hook = this.data?.hook ?? 'pattern';
    const max = this.data?.max ?? 1;
    const ticks = signed ? [max, 0, -max] : [max, max / 2, 0];
    ctx.fillStyle = this.theme.foreground;
    ctx.textAlign = 'left';
    ctx.font = `11px ${this.theme.fontFamily}`;
    ticks.forEach((v, i) => ctx.fillText(formatValue(hook, v), x + 16, TOP + 6 + (i * (this.plot - 12)) / 2));
  }

  private drawOverlay(): void {
    const ctx = this.overlay.getContext('2d');
    if (!ctx) return;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.overlay.width, this.overlay.height);
    if (!this.data || this.preview) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const cell = this.plot / this.win.span;
    ctx.strokeStyle = this.theme.accent;
    ctx.lineWidth = 2;
    if (this.locked !== undefined) {
      const r = this.locked - this.win.q0;
      if (r >= 0 && r < this.win.span) ctx.strokeRect(LEFT, TOP + r * cell, this.plot, Math.max(cell, 2));
    }
    if (this.hover) {
      ctx.lineWidth = 1;
      const x = LEFT + (this.hover.k - this.win.k0) * cell;
      const y = TOP + (this.hover.q - this.win.q0) * cell;
      if (cell >= 4) ctx.strokeRect(x, y, cell, cell);
      else {
        ctx.beginPath();
        ctx.moveTo(LEFT, y + cell / 2);
        ctx.lineTo(LEFT + this.plot, y + cell / 2);
        ctx.moveTo(x + cell / 2, TOP);
        ctx.lineTo(x + cell / 2, TOP + this.plot);
        ctx.stroke();
      }
    }
  }

  /** The (query, key) positions under a pointer, or undefined outside the plot. */
  private cellAt(e: { offsetX: number; offsetY: number }): { q: number; k: number } | undefined {
    const x = e.offsetX - LEFT;
    const y = e.offsetY - TOP;
    if (!this.data || x < 0 || y < 0 || x >= this.plot || y >= this.plot) return undefined;
    const cell = this.plot / this.win.span;
    return { q: this.win.q0 + Math.floor(y / cell), k: this.win.k0 + Math.floor(x / cell) };
  }

  private hoverAt(e: { offsetX: number; offsetY: number }): void {
    const c = this.cellAt(e);
    this.hover = c;
    if (c && this.data && !this.preview) this.readout.textContent = cellText(this.tokens, this.data, c.q, c.k);
    this.drawOverlay();
  }

  private bind(): void {
    const o = this.overlay;
    o.addEventListener('pointermove', (e) => {
      if (this.drag && this.data) {
        const cell = this.plot / this.win.span;
        const dx = (e.offsetX - this.drag.x) / cell;
        const dy = (e.offsetY - this.drag.y) / cell;
        if (Math.abs(e.offsetX - this.drag.x) + Math.abs(e.offsetY - this.drag.y) > 3) this.drag.moved = true;
        if (this.drag.moved) {
          this.win = clampWindow({ q0: this.drag.win.q0 - dy, k0: this.drag.win.k0 - dx, span: this.drag.win.span }, ...this.range);
          this.schedule();
          this.need();
          return;
        }
      }
      this.hoverAt(e);
    });
    o.addEventListener('pointerleave', () => {
      this.hover = undefined;
      this.drawOverlay();
    });
    o.addEventListener('pointerdown', (e) => {
      o.setPointerCapture(e.pointerId);
      this.drag = { x: e.offsetX, y: e.offsetY, win: this.win, moved: false };
    });
    o.addEventListener('pointerup', (e) => {
      const drag = this.drag;
      this.drag = undefined;
      if (!drag || drag.moved || !this.data) return;
      const c = this.cellAt(e);
      if (!c) return;
      const pos = c.q;
      this.locked = this.locked === pos ? undefined : pos;
      this.drawOverlay();
      this.events.onLock(this.locked);
    });
    o.addEventListener('wheel', (e) => {
      if (!this.data) return;
      e.preventDefault();
      const n = this.range[1] - this.range[0];
      const cell = this.plot / this.win.span;
      const at = { q: this.win.q0 + (e.offsetY - TOP) / cell, k: this.win.k0 + (e.offsetX - LEFT) / cell };
      const span = Math.min(n, Math.max(Math.min(n, 4), this.win.span * (e.deltaY > 0 ? 1.25 : 0.8)));
      const f = span / this.win.span;
      this.win = clampWindow({ q0: at.q - (at.q - this.win.q0) * f, k0: at.k - (at.k - this.win.k0) * f, span }, ...this.range);
      this.schedule();
      this.need();
    }, { passive: false });
    o.addEventListener('dblclick', () => {
      this.win = { q0: this.range[0], k0: this.range[0], span: this.range[1] - this.range[0] };
      this.schedule();
      this.need();
    });
  }

  /** The plot as a PNG data: URL, or as SVG text (cells as an embedded image, labels as text). */
  async image(format: 'png' | 'svg'): Promise<string> {
    this.draw();
    if (format === 'png') return this.canvas.toDataURL('image/png');
    return headSvg(this.canvas.toDataURL('image/png'), parseInt(this.canvas.style.width, 10), parseInt(this.canvas.style.height, 10), this.data ? headName(this.data) : 'attention');
  }
}


/** An SVG of the drawn canvas (a head of 1,000 x 1,000 cells as vector rectangles would be a million elements). */
function headSvg(png: string, w: number, h: number, title: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}"><title>${escapeXml(title)}</title><image href="${png}" width="${w}" height="${h}"/></svg>`;
}
