// The strict (no eval) plotly bundle ships without types; this is the small part of its API we use.
declare module 'plotly.js-strict-dist-min' {
  export interface PlotMouseEvent {
    points: { x: number; y: number; pointNumber: number | [number, number] }[];
  }
  export interface PlotElement extends HTMLElement {
    on(event: 'plotly_click' | 'plotly_hover', handler: (e: PlotMouseEvent) => void): void;
    on(event: 'plotly_unhover', handler: () => void): void;
  }
  export function react(el: HTMLElement, data: object[], layout: object, config: object): Promise<PlotElement>;
  export function purge(el: HTMLElement): void;
  /** A drawn plot as an image: a data: URL, or the bare image data (SVG text, base64 PNG) with imageDataOnly. */
  export function toImage(el: HTMLElement, opts: { format: 'png' | 'svg'; width: number; height: number; scale?: number; imageDataOnly?: boolean }): Promise<string>;
  const Plotly: { react: typeof react; purge: typeof purge; toImage: typeof toImage };
  export default Plotly;
}
