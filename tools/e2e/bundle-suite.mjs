// Bundles the in-VS Code test suite (test/integration) to out/integration/index.js for either runner.
import * as esbuild from 'esbuild';
import { join } from 'node:path';

export async function bundleIntegrationSuite(root) {
  await esbuild.build({
    entryPoints: { index: join(root, 'test/integration/index.ts') },
    outdir: join(root, 'out/integration'),
    bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: true,
    external: ['vscode', 'mocha'], logLevel: 'warning',
  });
  return join(root, 'out/integration/index.js');
}
