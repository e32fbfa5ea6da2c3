/**
 * "Copy Python": a snippet that loads a plot's exported `.npy` (values) and `.json` (labels) and redraws
 * it with plotly as the TransformerLens notebooks do (imshow, RdBu centred at 0 for signed values).
 */
import type { PlotData } from './plot-data';

const py = (s: string) => JSON.stringify(s); // a JSON string is a valid Python string literal

export function pythonSnippet(d: PlotData, baseName: string): string {
  const lines = [
    `# ${d.valueLabel}, dims [${d.dims.join(', ')}], exported from Circuit Lens (Export .npy and JSON next to this script)`,
    'import json',
    'import numpy as np',
    'import plotly.express as px',
    '',
    `values = np.load(${py(`${baseName}.npy`)})  # [${d.dims.join(', ')}]`,
    `labels = json.load(open(${py(`${baseName}.json`)}, encoding="utf-8"))["labels"]`,
  ];
  const colour = d.scale === 'diverging' ? 'color_continuous_scale="RdBu", color_continuous_midpoint=0' : 'color_continuous_scale="Blues"';
  const [a, b] = d.dims;
  if (d.dims.length === 1) {
    lines.push(`px.bar(x=labels[${py(a)}], y=values, labels={"x": ${py(a)}, "y": ${py(d.valueLabel)}}).show()`);
  } else if (d.dims.length === 2) {
    lines.push(`px.imshow(values, x=labels[${py(b)}], y=labels[${py(a)}], ${colour}, labels={"x": ${py(b)}, "y": ${py(a)}, "color": ${py(d.valueLabel)}}).show()`);
  } else {
    const lead = d.dims.slice(0, -2);
    if (lead.length > 1) lines.push(`values = values.reshape(-1, *values.shape[-2:])  # [${lead.join(' x ')}, ${d.dims.slice(-2).join(', ')}]`);
    const [y, x] = d.dims.slice(-2);
    lines.push(`px.imshow(values, facet_col=0, facet_col_wrap=4, x=labels[${py(x)}], y=labels[${py(y)}], ${colour}, labels={"x": ${py(x)}, "y": ${py(y)}, "color": ${py(d.valueLabel)}}).show()`);
  }
  return lines.join('\n') + '\n';
}
