// Bundles an in-VS Code test entry (test/integration/NAME.ts, default `index`) to out/integration/NAME.js.
import * as esbuild from 'esbuild';
import { join } from 'node:path';

export async function bundleIntegrationSuite(root, name = 'index') {
  await esbuild.build({
    entryPoints: { [name]: join(root, `test/integration/${name}.ts`) },
    outdir: join(root, 'out/integration'),
    bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: true,
    external: ['vscode', 'mocha'], logLevel: 'warning',
  });
  return join(root, `out/integration/${name}.js`);
}
