// Runs a test/integration entry inside a real VS Code extension host (code-server), with the extension
// loaded from this folder as a development extension. Exit code 0 = every test passed.
//   --suite NAME   test/integration/NAME.ts (default: index)
//   --untrusted    workspace trust on, the workspace not trusted (restricted mode)
//   --timeout S    seconds the suite may take (default 240)
//   --workspace D  copy folder D into the fresh workspace instead of test/fixtures/workspace
//   --then NAME    once the suite passes, reload the same window (same browser profile, so the same
//                  workspace state) with test/integration/NAME.ts: what survives a window reload
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, parseArgs } from 'node:util';
import { bundleIntegrationSuite } from './bundle-suite.mjs';
import { launchChromium, startCodeServer } from './code-server.mjs';
import { installCodeServer } from './install-code-server.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: args } = parseArgs({ options: { suite: { type: 'string', default: 'index' }, untrusted: { type: 'boolean', default: false }, timeout: { type: 'string', default: '240' }, workspace: { type: 'string' }, then: { type: 'string' } } });
const started = Date.now();
installCodeServer();
const suiteFile = await bundleIntegrationSuite(root, args.suite);
const thenFile = args.then && (await bundleIntegrationSuite(root, args.then));

const workspace = mkdtempSync(join(tmpdir(), 'circuit-lens-ws-'));
cpSync(args.workspace ? resolve(args.workspace) : join(root, 'test/fixtures/workspace'), workspace, { recursive: true });
const serverLog = [];
const server = await startCodeServer({ workspace, untrusted: args.untrusted, log: (s) => serverLog.push(s) });
const browser = await launchChromium();
let code = 1;
try {
  const page = await browser.newPage();
  let exit;
  await page.exposeFunction('codeAutomationExit', (c) => exit?.(c));
  await page.exposeFunction('codeAutomationLog', (type, args) => {
    const text = format(...(Array.isArray(args) ? args : [args]));
    if (type === 'error') console.error(text);
    else console.log(text);
  });
  const remote = (p) => `vscode-remote://127.0.0.1:${server.port}${p}`;
  const limitS = Number(args.timeout);
  /** Opens the workspace with the suite `file` and waits for its exit code (1 on a timeout). */
  const runSuite = async (name, file) => {
    const exited = new Promise((resolveExit) => (exit = resolveExit));
    const payload = [['extensionDevelopmentPath', remote(root)], ['extensionTestsPath', remote(file)]];
    await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`);
    const timeout = new Promise((r) => setTimeout(() => r('timeout'), limitS * 1000));
    const result = await Promise.race([exited, timeout]);
    if (result !== 'timeout') return Number(result);
    console.error(`The integration suite ${name} did not finish within ${limitS} s.` + ' code-server log tail:\n' + serverLog.join('').slice(-4000));
    return 1;
  };
  code = await runSuite(args.suite, suiteFile);
  if (code === 0 && thenFile) code = await runSuite(args.then, thenFile);
} finally {
  await browser.close();
  server.stop();
}
console.log(`integration suite ${args.suite}${args.then ? ` then ${args.then}` : ''}${args.untrusted ? ' (untrusted workspace)' : ''}: ${code === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(code);
