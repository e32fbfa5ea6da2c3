/**
 * One attention head large, on a canvas: the pattern (sequential, 0 to the head's max) or the scores
 * (RdBu centred at 0), masked cells in the masked colour, thinned token labels on both axes, axis titles
 * and a colour bar. Wheel zooms around the pointer, drag pans, double-click resets; hover reads the value
 * under the pointer from the typed array (no redraw but the overlay); click locks a query row.
 */
import type { HeadValues, PanelToken } from '../../src/protocol/panels';
import { Rgb, divergingLut, rgbCss, sequentialLut } from '../colour';
import { parseColour } from '../css-colour';
import type { Theme } from '../theme';
import { clip, thinTicks } from '../ticks';
import { cellText, formatValue, headName, tokenLabel } from './data';
import { HeadWindow, clampWindow, extent, paint, poolWindow } from './raster';

const LEFT = 104;
const TOP = 8;
const BOTTOM = 92;
const BAR = 64; // colour bar and its ticks, right of the plot
const LABEL_CHARS = 14;

export interface HeadCanvasEvents {
  /** A query row was locked (or unlocked: undefined), in prompt positions. */
  onLock(pos: number | undefined): void;
}

interface Colours {
  background: Rgb;
  masked: Rgb;
  sequential: Uint8ClampedArray;
  diverging: Uint8ClampedArray;
}

export class HeadCanvas {
  readonly element = document.createElement('div');
  private readonly canvas = document.createElement('canvas');
  private readonly overlay = document.createElement('canvas');
  private readonly readout = document.createElement('div');
  private readonly scratch = document.createElement('canvas');
  private readonly colours: Colours;
  private hv: HeadValues | undefined;
  /** Shown while the head's values are on their way: its thumbnail, over the whole prompt. */
  private preview: { values: Float32Array; size: number; name: string } | undefined;
  private win: HeadWindow = { q0: 0, k0: 0, span: 1 };
  private plot = 320;
  private max = 1;
  private hover: { q: number; k: number } | undefined;
  private locked: number | undefined;
  private drag: { x: number; y: number; win: HeadWindow; moved: boolean } | undefined;
  private frame = 0;

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
      background: parseColour(theme.background),
      masked: parseColour(theme.masked),
      sequential: sequentialLut(parseColour(theme.background), parseColour(theme.positive)),
      diverging: divergingLut(),
    };
    this.bind();
    new ResizeObserver(() => this.layout()).observe(this.element);
  }

  /** Shows a head's values; the zoom is kept when the same token range is shown again. */
  show(hv: HeadValues): void {
    const sameRange = this.hv && this.hv.from === hv.from && this.hv.to === hv.to;
    this.hv = hv;
    this.preview = undefined;
    if (!sameRange) this.win = { q0: 0, k0: 0, span: hv.to - hv.from };
    this.max = extent(hv.values, hv.hook !== 'pattern');
    if (this.locked !== undefined && (this.locked < hv.from || this.locked >= hv.to)) this.locked = undefined;
    this.layout();
  }

  /** Draws a thumbnail in the plot until the head's values come. */
  showPreview(values: Float32Array, size: number, name: string): void {
    this.preview = { values, size, name };
    this.readout.textContent = `${name}: preview from the thumbnail; loading full resolution…`;
    this.schedule();
  }

  /** Locks a query row (prompt position), or unlocks. */
  lock(pos: number | undefined): void {
    this.locked = pos;
    this.drawOverlay();
  }

  get shown(): HeadValues | undefined {
    return this.hv;
  }

  private layout(): void {
    const width = this.element.clientWidth || 640;
    this.plot = Math.max(160, Math.min(720, width - LEFT - BAR - 8));
    const w = LEFT + this.plot + BAR;
    const h = TOP + this.plot + BOTTOM;
    const dpr = window.devicePixelRatio || 1;
    for (const c of [this.canvas, this.overlay]) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
      c.style.width = `${w}px`;
      c.style.height = `${h}px`;
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
      this.drawOverlay();
    });
  }

  private draw(): void {
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = this.theme.background;
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    const signed = this.hv ? this.hv.hook !== 'pattern' : false;
    this.drawCells(ctx, dpr, signed);
    this.drawAxes(ctx);
    this.drawColourBar(ctx, signed);
    // What is drawn, for tests: a head's name and hook, or 'preview' while its thumbnail stands in.
    this.element.dataset.drawn = this.preview ? 'preview' : this.hv ? `${headName(this.hv)} ${this.hv.hook} ${this.hv.from}-${this.hv.to}` : '';
  }

  private drawCells(ctx: CanvasRenderingContext2D, dpr: number, signed: boolean): void {
    const px = Math.round(this.plot * dpr);
    let cells: number;
    let data: Float32Array;
    let max = this.max;
    if (this.preview) {
      ({ cells, data } = { cells: this.preview.size, data: this.preview.values });
      max = extent(data, false);
      signed = false;
    } else if (this.hv) {
      ({ cells, data } = poolWindow(this.hv.values, this.hv.to - this.hv.from, this.win, px, signed));
    } else {
      return;
    }
    const image = new ImageData(cells, cells);
    paint(data, max, signed, signed ? this.colours.diverging : this.colours.sequential, this.colours.masked, image.data);
    this.scratch.width = cells;
    this.scratch.height = cells;
    this.scratch.getContext('2d')?.putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.scratch, LEFT, TOP, this.plot, this.plot);
  }

  /** Window of prompt positions on the axes (the whole prompt while previewing). */
  private axisRange(): { from: number; span: number; qFrom: number } {
    if (this.preview || !this.hv) return { from: 0, span: this.tokens.length, qFrom: 0 };
    return { from: this.hv.from + this.win.k0, span: this.win.span, qFrom: this.hv.from + this.win.q0 };
  }

  private drawAxes(ctx: CanvasRenderingContext2D): void {
    const { from, span, qFrom } = this.axisRange();
    const cell = this.plot / span;
    ctx.fillStyle = this.theme.foreground;
    ctx.font = `11px ${this.theme.fontFamily}`;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    for (const p of thinTicks(qFrom, qFrom + span, cell)) ctx.fillText(clip(tokenLabel(this.tokens, p), LABEL_CHARS), LEFT - 4, TOP + (p - qFrom + 0.5) * cell);
    for (const p of thinTicks(from, from + span, cell)) {
      // Rotated 60 degrees, ending under the key's column.
      ctx.save();
      ctx.translate(LEFT + (p - from + 0.5) * cell, TOP + this.plot + 6);
      ctx.rotate(-Math.PI / 3);
      ctx.fillText(clip(tokenLabel(this.tokens, p), LABEL_CHARS), 0, 0);
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
    const hook = this.preview ? 'pattern' : (this.hv?.hook ?? 'pattern');
    const max = this.preview ? extent(this.preview.values, false) : this.max;
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
    if (!this.hv || this.preview) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const cell = this.plot / this.win.span;
    ctx.strokeStyle = this.theme.accent;
    ctx.lineWidth = 2;
    if (this.locked !== undefined) {
      const r = this.locked - this.hv.from - this.win.q0;
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

  /** The local (q, k) under a pointer, or undefined outside the plot. */
  private cellAt(e: { offsetX: number; offsetY: number }): { q: number; k: number } | undefined {
    const x = e.offsetX - LEFT;
    const y = e.offsetY - TOP;
    if (!this.hv || x < 0 || y < 0 || x >= this.plot || y >= this.plot) return undefined;
    const cell = this.plot / this.win.span;
    return { q: this.win.q0 + Math.floor(y / cell), k: this.win.k0 + Math.floor(x / cell) };
  }

  private hoverAt(e: { offsetX: number; offsetY: number }): void {
    const c = this.cellAt(e);
    this.hover = c;
    if (c && this.hv) this.readout.textContent = cellText(this.tokens, this.hv, c.q, c.k);
    this.drawOverlay();
  }

  private bind(): void {
    const o = this.overlay;
    o.addEventListener('pointermove', (e) => {
      if (this.drag && this.hv) {
        const cell = this.plot / this.win.span;
        const dx = (e.offsetX - this.drag.x) / cell;
        const dy = (e.offsetY - this.drag.y) / cell;
        if (Math.abs(e.offsetX - this.drag.x) + Math.abs(e.offsetY - this.drag.y) > 3) this.drag.moved = true;
        if (this.drag.moved) {
          this.win = clampWindow({ q0: this.drag.win.q0 - dy, k0: this.drag.win.k0 - dx, span: this.drag.win.span }, this.hv.to - this.hv.from);
          this.schedule();
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
      if (!drag || drag.moved || !this.hv) return;
      const c = this.cellAt(e);
      if (!c) return;
      const pos = this.hv.from + c.q;
      this.locked = this.locked === pos ? undefined : pos;
      this.drawOverlay();
      this.events.onLock(this.locked);
    });
    o.addEventListener('wheel', (e) => {
      if (!this.hv) return;
      e.preventDefault();
      const n = this.hv.to - this.hv.from;
      const cell = this.plot / this.win.span;
      const at = { q: this.win.q0 + (e.offsetY - TOP) / cell, k: this.win.k0 + (e.offsetX - LEFT) / cell };
      const span = Math.min(n, Math.max(Math.min(n, 4), this.win.span * (e.deltaY > 0 ? 1.25 : 0.8)));
      const f = span / this.win.span;
      this.win = clampWindow({ q0: at.q - (at.q - this.win.q0) * f, k0: at.k - (at.k - this.win.k0) * f, span }, n);
      this.schedule();
    }, { passive: false });
    o.addEventListener('dblclick', () => {
      if (!this.hv) return;
      this.win = { q0: 0, k0: 0, span: this.hv.to - this.hv.from };
      this.schedule();
    });
  }

  /** The plot as a PNG data: URL, or as SVG text (cells as an embedded image, labels as text). */
  async image(format: 'png' | 'svg'): Promise<string> {
    this.draw();
    if (format === 'png') return this.canvas.toDataURL('image/png');
    return headSvg(this.canvas.toDataURL('image/png'), parseInt(this.canvas.style.width, 10), parseInt(this.canvas.style.height, 10), this.hv ? headName(this.hv) : 'attention');
  }
}

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** An SVG of the drawn canvas (a head of 1,000 x 1,000 cells as vector rectangles would be a million elements). */
function headSvg(png: string, w: number, h: number, title: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}"><title>${escapeXml(title)}</title><image href="${png}" width="${w}" height="${h}"/></svg>`;
}
