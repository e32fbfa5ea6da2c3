/**
 * Every head as a small multiple on one canvas (layers down, heads across), each thumbnail scaled to its
 * head's own max as the worker prepared it. Hovering a head previews it large; clicking keeps it.
 */
import type { AttentionPayload } from '../../src/protocol/panels';
import { frameScheduler, sizeCanvas } from '../canvas';
import { sequentialLut } from '../colour';
import { parseColour } from '../css-colour';
import type { Theme } from '../theme';
import { HeadRef, headName, thumbnailOf } from './data';
import { paintThumbnail } from './raster';

const LABEL_W = 34;
const LABEL_H = 16;
const GAP = 4;

export interface ThumbGridEvents {
  onPreview(h: HeadRef | undefined): void;
  onSelect(h: HeadRef): void;
}

export class ThumbGrid {
  readonly element = document.createElement('canvas');
  private tile = 48;
  private selected: HeadRef;
  private hovered: HeadRef | undefined;
  /** Every thumbnail at the data's size in one canvas: [layer row, head column] tiles. */
  private readonly atlas = document.createElement('canvas');

  constructor(private readonly p: AttentionPayload, private readonly theme: Theme, focus: HeadRef, private readonly events: ThumbGridEvents) {
    this.selected = focus;
    this.element.id = 'heads';
    this.element.className = 'heads-grid';
    this.element.tabIndex = 0;
    this.element.dataset.heads = String(p.layers.length * p.nHeads);
    this.element.setAttribute('aria-label', `${p.layers.length * p.nHeads} attention heads: hover to preview, click to show large`);
    // Each head's pixels once, at the data's size, into one image; drawing scales its tiles.
    const size = p.thumbnails.size;
    const lut = sequentialLut(parseColour(theme.background), parseColour(theme.positive));
    const masked = parseColour(theme.masked);
    this.atlas.width = size * p.nHeads;
    this.atlas.height = size * p.layers.length;
    const atlas = new ImageData(this.atlas.width, this.atlas.height);
    const tile = new Uint8ClampedArray(size * size * 4);
    p.layers.forEach((layer, li) => {
      for (let head = 0; head < p.nHeads; head++) {
        paintThumbnail(thumbnailOf(p, { layer, head }), lut, masked, tile);
        for (let r = 0; r < size; r++) atlas.data.set(tile.subarray(r * size * 4, (r + 1) * size * 4), ((li * size + r) * this.atlas.width + head * size) * 4);
      }
    });
    this.atlas.getContext('2d')?.putImageData(atlas, 0, 0);
    this.bind();
    new ResizeObserver(() => this.layout()).observe(this.element.parentElement ?? document.body);
  }

  select(h: HeadRef): void {
    this.selected = h;
    this.schedule();
  }

  /** Sizes the tiles (16 to 64 px) to the panel's width, and to at most 40% of its height (12 layers stay above the fold). */
  layout(): void {
    const width = this.element.parentElement?.clientWidth || 800;
    const byWidth = Math.floor((width - LABEL_W) / this.p.nHeads) - GAP;
    const byHeight = Math.floor((Math.max(320, window.innerHeight * 0.4) - LABEL_H) / this.p.layers.length) - GAP;
    this.tile = Math.max(16, Math.min(64, byWidth, byHeight));
    const w = LABEL_W + this.p.nHeads * (this.tile + GAP);
    const h = LABEL_H + this.p.layers.length * (this.tile + GAP);
    sizeCanvas(this.element, w, h);
    this.schedule();
  }

  private readonly schedule = frameScheduler(() => this.draw());

  private origin(h: HeadRef): [number, number] {
    return [LABEL_W + h.head * (this.tile + GAP), LABEL_H + this.p.layers.indexOf(h.layer) * (this.tile + GAP)];
  }

  private draw(): void {
    const ctx = this.element.getContext('2d');
    if (!ctx) return;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = this.theme.background;
    ctx.fillRect(0, 0, this.element.width, this.element.height);
    // Pixels stay sharp when a tile is at least the data's size; smaller tiles average (a stripe stays visible, fainter).
    ctx.imageSmoothingEnabled = this.tile * dpr < this.p.thumbnails.size;
    ctx.fillStyle = this.theme.foreground;
    ctx.font = `11px ${this.theme.fontFamily}`;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'center';
    const every = this.tile >= 22 ? 1 : 2; // head numbers that fit above the tiles
    for (let head = 0; head < this.p.nHeads; head += every) ctx.fillText(this.tile >= 22 ? `H${head}` : String(head), LABEL_W + head * (this.tile + GAP) + this.tile / 2, LABEL_H / 2);
    ctx.textAlign = 'left';
    this.p.layers.forEach((layer, li) => {
      ctx.fillText(`L${layer}`, 2, LABEL_H + li * (this.tile + GAP) + this.tile / 2);
      for (let head = 0; head < this.p.nHeads; head++) {
        const [x, y] = this.origin({ layer, head });
        const size = this.p.thumbnails.size;
        ctx.drawImage(this.atlas, head * size, li * size, size, size, x, y, this.tile, this.tile);
      }
    });
    const outline = (h: HeadRef | undefined, colour: string, width: number) => {
      if (!h) return;
      const [x, y] = this.origin(h);
      ctx.strokeStyle = colour;
      ctx.lineWidth = width;
      ctx.strokeRect(x - 1.5, y - 1.5, this.tile + 3, this.tile + 3);
    };
    outline(this.hovered, this.theme.foreground, 1);
    outline(this.selected, this.theme.accent, 2);
  }

  private headAt(e: MouseEvent): HeadRef | undefined {
    const head = Math.floor((e.offsetX - LABEL_W) / (this.tile + GAP));
    const li = Math.floor((e.offsetY - LABEL_H) / (this.tile + GAP));
    if (e.offsetX < LABEL_W || e.offsetY < LABEL_H || head >= this.p.nHeads || li >= this.p.layers.length) return undefined;
    return { layer: this.p.layers[li], head };
  }

  private bind(): void {
    const same = (a: HeadRef | undefined, b: HeadRef | undefined) => a?.layer === b?.layer && a?.head === b?.head;
    this.element.addEventListener('mousemove', (e) => {
      const h = this.headAt(e);
      if (same(h, this.hovered)) return;
      this.hovered = h;
      this.element.title = h ? `${headName(h)}: click to show large` : '';
      this.draw();
      this.events.onPreview(h);
    });
    this.element.addEventListener('mouseleave', () => {
      this.hovered = undefined;
      this.draw();
      this.events.onPreview(undefined);
    });
    this.element.addEventListener('click', (e) => {
      const h = this.headAt(e);
      if (!h) return;
      this.selected = h;
      this.draw();
      this.events.onSelect(h);
    });
  }
}
