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
  /** Figure width in pixels (cells of a fixed size, square when the data allows); default: the container's. */
  width?: number;
  /** Margins around the cells, in pixels (default l 120, r 10, t 10, b 100). */
  margin?: { l: number; r: number; t: number; b: number };
  /** Axis titles ("position", "layer"). */
  xTitle?: string;
  yTitle?: string;
  /** The column and row indices that get a tick label (thinned); default every one. */
  xTicks?: number[];
  yTicks?: number[];
  /** Angle of the column labels in degrees (default -60). */
  xTickAngle?: number;
  /** [row][col] colour of the text in each cell (dark on light cells, light on dark); default the theme's. */
  textColours?: string[][];
  /** A readable colour bar: thickness and length in pixels, about this many ticks, its top at the cells' top. */
  colorbarStyle?: { thickness: number; length: number; nticks: number };
  /** Pixels between columns (default 1, or 0 when the cells would be under 4 px wide and a gap would hide them). */
  xGap?: number;
  /** Pixels between rows (default 1, or 0 when the rows would be under 4 px high). */
  yGap?: number;
}
