import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { decodeNpy, encodeNpy } from '../../src/protocol/npy';
import { parseWebviewMessage } from '../../src/protocol/panels';
import { PlotData, exportBaseName, plotDataJson } from '../../webview/plot-data';
import { pythonSnippet } from '../../webview/python-snippet';

const python = process.env.CIRCUIT_LENS_PYTHON ?? '/usr/bin/python3';

const plot: PlotData = {
  dims: ['layer', 'head'], shape: [2, 3], values: new Float32Array([0.5, -1, 2, NaN, 0, 3]),
  labels: { layer: ['0', '1'], head: ['H0', 'H1', 'H2'] }, valueLabel: 'logit difference "x"', scale: 'diverging',
};

test('.npy round-trips and NumPy reads the exported .npy and JSON the Copy Python snippet loads', () => {
  const npy = encodeNpy({ dims: plot.shape, data: plot.values });
  assert.deepEqual(decodeNpy(npy).dims, [2, 3]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cl-export-'));
  const base = exportBaseName('L3H7 pattern tokens 0-511');
  assert.equal(base, 'L3H7-pattern-tokens-0-511');
  fs.writeFileSync(path.join(dir, `${base}.npy`), npy);
  fs.writeFileSync(path.join(dir, `${base}.json`), plotDataJson('L3H7', plot));
  const snippet = pythonSnippet(plot, base);
  assert.match(snippet, /px\.imshow\(values, x=labels\["head"\], y=labels\["layer"\], color_continuous_scale="RdBu", color_continuous_midpoint=0/);
  // Everything up to the plotly call runs; the plotly line is checked as Python syntax (plotly is not installed here).
  const check = `
import ast, json, sys
src = open(sys.argv[1]).read()
ast.parse(src)
head = "\\n".join(l for l in src.splitlines() if "plotly" not in l and not l.startswith("px."))
ns = {}
exec(head, ns)
v, labels = ns["values"], ns["labels"]
print(json.dumps({"shape": list(v.shape), "dtype": str(v.dtype), "v": [None if x != x else float(x) for x in v.ravel()], "head": labels["head"]}))
`;
  fs.writeFileSync(path.join(dir, 'snippet.py'), snippet);
  const r = spawnSync(python, ['-c', check, path.join(dir, 'snippet.py')], { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { shape: [2, 3], dtype: 'float32', v: [0.5, -1, 2, null, 0, 3], head: ['H0', 'H1', 'H2'] });
});

test('snippets for bars and for stacks of heads', () => {
  assert.match(pythonSnippet({ ...plot, dims: ['component'], shape: [3], labels: { component: ['a', 'b', 'c'] } }, 'x'), /px\.bar\(x=labels\["component"\], y=values/);
  const stack = pythonSnippet({ ...plot, dims: ['layer', 'head', 'query', 'key'], shape: [1, 2, 2, 2], scale: 'sequential' }, 'x');
  assert.match(stack, /values\.reshape\(-1, \*values\.shape\[-2:\]\)/);
  assert.match(stack, /facet_col=0.*color_continuous_scale="Blues"/);
});

test('export and copy messages from a webview are checked before the host writes anything', () => {
  const ok = parseWebviewMessage({ rpc: 'notify', method: 'export', params: { format: 'npy', fileName: 'L3H7-pattern.npy', content: new Uint8Array(4) } });
  assert.equal(ok && 'method' in ok ? ok.method : undefined, 'export');
  for (const params of [
    { format: 'npy', fileName: '../etc/passwd.npy', content: '' },
    { format: 'npy', fileName: 'a.png', content: '' },
    { format: 'exe', fileName: 'a.exe', content: '' },
    { format: 'json', fileName: 'a.json', content: 42 },
  ]) assert.equal(parseWebviewMessage({ rpc: 'notify', method: 'export', params }), undefined, JSON.stringify(params));
  assert.equal(parseWebviewMessage({ rpc: 'notify', method: 'copyText', params: { text: 'x'.repeat(200_000), what: 'Python' } }), undefined);
  const head = { layer: 1, head: 2, hook: 'attn_scores', q: [0, 512], k: [100, 101], maxCells: 512 };
  assert.deepEqual(parseWebviewMessage({ rpc: 'request', id: 3, method: 'panel/head', params: { ...head, extra: 1 } }), { rpc: 'request', id: 3, method: 'panel/head', params: head });
  for (const bad of [{ hook: 'z' }, { q: [5, 5] }, { k: [0] }, { maxCells: 5000 }, { maxCells: 0.5 }]) {
    assert.equal(parseWebviewMessage({ rpc: 'request', id: 3, method: 'panel/head', params: { ...head, ...bad } }), undefined, JSON.stringify(bad));
  }
});
