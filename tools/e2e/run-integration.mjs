// Runs a test/integration entry inside a real VS Code extension host (code-server), with the extension
// loaded from this folder as a development extension. Exit code 0 = every test passed.
//   --suite NAME   test/integration/NAME.ts (default: index)
//   --untrusted    workspace trust on, the workspace not trusted (restricted mode)
//   --timeout S    seconds the suite may take (default 240)
//   --workspace D  copy folder D into the fresh workspace instead of test/fixtures/workspace
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, parseArgs } from 'node:util';
import { bundleIntegrationSuite } from './bundle-suite.mjs';
import { launchChromium, startCodeServer } from './code-server.mjs';
import { installCodeServer } from './install-code-server.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: args } = parseArgs({ options: { suite: { type: 'string', default: 'index' }, untrusted: { type: 'boolean', default: false }, timeout: { type: 'string', default: '240' }, workspace: { type: 'string' } } });
const started = Date.now();
installCodeServer();
const suiteFile = await bundleIntegrationSuite(root, args.suite);

const workspace = mkdtempSync(join(tmpdir(), 'circuit-lens-ws-'));
cpSync(args.workspace ? resolve(args.workspace) : join(root, 'test/fixtures/workspace'), workspace, { recursive: true });
const serverLog = [];
const server = await startCodeServer({ workspace, untrusted: args.untrusted, log: (s) => serverLog.push(s) });
const browser = await launchChromium();
let code = 1;
try {
  const page = await browser.newPage();
  const exited = new Promise((resolveExit) => {
    void page.exposeFunction('codeAutomationExit', (c) => resolveExit(c));
  });
  await page.exposeFunction('codeAutomationLog', (type, args) => {
    const text = format(...(Array.isArray(args) ? args : [args]));
    if (type === 'error') console.error(text);
    else console.log(text);
  });
  const remote = (p) => `vscode-remote://127.0.0.1:${server.port}${p}`;
  const payload = [['extensionDevelopmentPath', remote(root)], ['extensionTestsPath', remote(suiteFile)]];
  await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`);
  const limitS = Number(args.timeout);
  const timeout = new Promise((r) => setTimeout(() => r('timeout'), limitS * 1000));
  const result = await Promise.race([exited, timeout]);
  if (result === 'timeout') {
    console.error(`The integration suite ${args.suite} did not finish within ${limitS} s.`+' code-server log tail:\n' + serverLog.join('').slice(-4000));
  } else {
    code = Number(result);
  }
} finally {
  await browser.close();
  server.stop();
}
console.log(`integration suite ${args.suite}${args.untrusted ? ' (untrusted workspace)' : ''}: ${code === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(code);
