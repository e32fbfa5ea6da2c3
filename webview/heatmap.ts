/** What the heatmap drawer takes: plain data, built by the views' data modules (tested in plain Node). */
export interface Heatmap {
  /** [row][col]; null cells are drawn as masked. */
  z: (number | null)[][];
  /** [row][col] text drawn in the cell, or none. */
  text?: string[][];
  /** [row][col] hover text (plain text; plotly escapes nothing, so callers pass escaped text). */
  hover: string[][];
  xLabels: string[];
  yLabels: string[];
  zmin: number;
  zmax: number;
  colorscale: [number, string][];
  colorbarTitle?: string;
  /** Colour bar tick values and labels (for example ranks on a log axis). */
  colorbarTicks?: { values: number[]; labels: string[] };
  /** y runs downwards (matrices) or upwards (layers). */
  yDown: boolean;
  /** Cells that are highlighted (drawn as outlined shapes). */
  outlines?: { row: number; col: number }[];
  height: number;
}
