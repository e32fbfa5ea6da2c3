// One build for every bundle: extension host, engine worker, CLI (node, CommonJS) and webview (browser, IIFE).
// `node tools/build.mjs --watch` rebuilds on change; `--production` minifies.
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning' };
const node = { ...common, platform: 'node', target: 'node20', format: 'cjs', external: ['vscode', 'onnxruntime-node'] };

const builds = [
  { ...node, entryPoints: { extension: 'src/host/extension.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { worker: 'src/worker/worker.ts', 'scan-worker': 'src/worker/scan-worker.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { bench: 'src/bench/main.ts' }, outdir: 'dist' },
  { ...common, platform: 'browser', target: 'es2022', format: 'iife', entryPoints: { 'webview-attention': 'webview/attention/main.ts', 'webview-plots': 'webview/plots-main.ts' }, outdir: 'dist' },
].filter((b) => Object.values(b.entryPoints).every((f) => existsSync(f)));

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
