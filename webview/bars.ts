/** What the bar drawer takes (horizontal bars with labels, bars by series, histograms): plain data built by the views' data modules. */
export interface BarSeries {
  name: string;
  /** [bar] one value per position. */
  values: number[];
  /** [bar] fill colour of each bar. */
  colours: string[];
  /** [bar] text at the end of each bar (escaped for plotly), or none. */
  text?: string[];
  /** [bar] hover text (escaped for plotly). */
  hover: string[];
}

export interface BarChart {
  /** 'h': bars run left to right, positions top to bottom; 'v': bars stand on a numeric axis (histogram). */
  orientation: 'h' | 'v';
  /** [bar] where each bar sits: label indices for 'h', bin centres for 'v'. */
  positions: number[];
  /** Tick labels at label indices (escaped for plotly), for 'h'. */
  labels?: string[];
  /** Label indices that get a tick (thinned); default all. */
  ticks?: number[];
  /** Width of each bar in position units (histogram bins touch); default plotly's. */
  barWidth?: number;
  /** One trace per series; bars of several series are grouped side by side. */
  series: BarSeries[];
  valueTitle: string;
  positionTitle: string;
  /** The value axis's range (shared with other plots of the analysis); default: fitted. */
  valueRange?: [number, number];
  /** The value axis on a log scale. */
  log: boolean;
  height: number;
  margin: { l: number; r: number; t: number; b: number };
}
