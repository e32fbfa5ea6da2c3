/**
 * What a panel's plot shows, as plain data with its shape (views.md's data contract): the same object
 * feeds the exports (JSON, .npy, Copy Python) and is built by each view's data module.
 */
export interface PlotData {
  /** Dimension names, outermost first ("layer", "head", "query", "key", "position"). */
  dims: string[];
  shape: number[];
  /** Row-major values over `shape`; NaN where a cell has no value (masked attention). */
  values: Float32Array;
  /** Labels per dimension name (token labels "12 ·of" on position axes). */
  labels: Record<string, string[]>;
  valueLabel: string;
  scale: 'diverging' | 'sequential';
}

/** The JSON export: everything but the values as they are, the values as a flat list (null for NaN). */
export function plotDataJson(name: string, d: PlotData): string {
  return JSON.stringify({
    name, dims: d.dims, shape: d.shape, valueLabel: d.valueLabel, scale: d.scale, labels: d.labels,
    values: Array.from(d.values, (v) => (Number.isFinite(v) ? v : null)),
  });
}

/** A file name from a plot's name: letters, digits, '-' and '_' only. */
export function exportBaseName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80) || 'plot';
}
