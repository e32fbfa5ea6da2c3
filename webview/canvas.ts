/** What the panels' canvases share: a size in CSS pixels backed by device pixels, and one draw per frame. */

/** Sizes a canvas to w x h CSS pixels, with device pixels behind them (sharp on high-DPI screens). */
export function sizeCanvas(c: HTMLCanvasElement, w: number, h: number): void {
  const dpr = window.devicePixelRatio || 1;
  c.width = Math.round(w * dpr);
  c.height = Math.round(h * dpr);
  c.style.width = `${w}px`;
  c.style.height = `${h}px`;
}

/** A draw that runs once in the next animation frame however often it is asked for before then. */
export function frameScheduler(draw: () => void): () => void {
  let frame = 0;
  return () => {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      draw();
    });
  };
}
