// The usual @vscode/test-electron runner, for developers whose machine can download VS Code (or who set
// VSCODE_EXECUTABLE to an installed one). Where no VS Code can be had it skips with a message and exits
// 0; CI runs the same suite in code-server instead (tools/e2e/run-integration.mjs).
import { mkdtempSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleIntegrationSuite } from './bundle-suite.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { downloadAndUnzipVSCode, runTests } = await import('@vscode/test-electron');

let vscodeExecutablePath = process.env.VSCODE_EXECUTABLE;
if (!vscodeExecutablePath) {
  try {
    vscodeExecutablePath = await Promise.race([
      downloadAndUnzipVSCode('1.100.3'),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no answer in 60 s')), 60_000)),
    ]);
  } catch (e) {
    console.log(`SKIPPED: no desktop VS Code could be had (${e instanceof Error ? e.message.split('\n')[0] : e}). ` +
      'Set VSCODE_EXECUTABLE to a VS Code binary, or run `npm run test:integration` (code-server).');
    process.exit(0);
  }
}
await bundleIntegrationSuite(root);
const workspace = mkdtempSync(join(tmpdir(), 'circuit-lens-ws-'));
cpSync(join(root, 'test/fixtures/workspace'), workspace, { recursive: true });
await runTests({
  vscodeExecutablePath,
  extensionDevelopmentPath: root,
  extensionTestsPath: join(root, 'out/integration/index.js'),
  launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust'],
});
