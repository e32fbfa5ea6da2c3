/**
 * The export toolbar above each plot: PNG and SVG of the plot, its data as JSON and as `.npy`, and "Copy
 * Python" (a snippet that loads those two files and redraws the plot). The webview cannot write files:
 * it sends the bytes to the host, which asks where to save them.
 */
import { encodeNpy } from '../src/protocol/npy';
import type { ExportFormat } from '../src/protocol/panels';
import { notify } from './host';
import { PlotData, exportBaseName, plotDataJson } from './plot-data';
import { pythonSnippet } from './python-snippet';

export type { PlotData } from './plot-data';

export interface Exportable {
  /** Names the files ("L3H7 attention" -> L3H7-attention.png). */
  name: string;
  /** The values with their labels (read when exported: a view may fetch them at full resolution). */
  data(): PlotData | Promise<PlotData>;
  /** SVG text, or a PNG as a data: URL. */
  image(format: 'png' | 'svg'): Promise<string>;
}

function dataUrlBytes(url: string): Uint8Array {
  const b64 = url.slice(url.indexOf(',') + 1);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

async function content(item: Exportable, format: ExportFormat): Promise<string | Uint8Array> {
  switch (format) {
    case 'png':
      return dataUrlBytes(await item.image('png'));
    case 'svg':
      return item.image('svg');
    case 'json':
      return plotDataJson(item.name, await item.data());
    case 'npy': {
      const d = await item.data();
      return encodeNpy({ dims: d.shape, data: d.values });
    }
  }
}

const FORMATS: { format: ExportFormat; label: string; title: string }[] = [
  { format: 'png', label: 'PNG', title: 'Save the plot as a PNG image' },
  { format: 'svg', label: 'SVG', title: 'Save the plot as an SVG image' },
  { format: 'json', label: 'JSON', title: 'Save the values with their labels as JSON' },
  { format: 'npy', label: '.npy', title: 'Save the values as a NumPy array' },
];

export function exportBar(item: Exportable): HTMLElement {
  const bar = document.createElement('div');
  bar.className = 'export-bar';
  const status = document.createElement('span');
  status.className = 'export-status';
  const button = (label: string, title: string, run: () => Promise<void>) => {
    const b = document.createElement('button');
    b.className = 'export-button';
    b.textContent = label;
    b.title = title;
    b.addEventListener('click', () => {
      status.textContent = '';
      run().catch((e: unknown) => {
        status.textContent = `Export failed: ${(e as Error).message ?? String(e)}`;
      });
    });
    return b;
  };
  for (const f of FORMATS) {
    bar.append(button(f.label, f.title, async () => {
      const fileName = `${exportBaseName(item.name)}.${f.format}`;
      notify({ method: 'export', params: { format: f.format, fileName, content: await content(item, f.format) } });
    }));
  }
  bar.append(button('Copy Python', 'Copy a snippet that loads the exported .npy and JSON with numpy and redraws the plot with plotly', async () => {
    notify({ method: 'copyText', params: { text: pythonSnippet(await item.data(), exportBaseName(item.name)), what: 'Python snippet' } });
  }), status);
  return bar;
}
