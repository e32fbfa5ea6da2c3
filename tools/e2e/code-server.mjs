// Starts and stops code-server for the test suites: one server per suite, in a fresh user-data folder,
// spawned detached and stopped by its process group; Chromium (Debian's) driven by playwright-core.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeServerEntry } from './install-code-server.mjs';

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/**
 * Starts code-server on a free loopback port. `extensionsDir` may already hold installed extensions.
 * `untrusted`: workspace trust is on and the workspace is not trusted (restricted mode, no prompt).
 * Returns { port, url, stop, dirs }.
 */
export async function startCodeServer({ workspace, extensionsDir, untrusted = false, log = () => {} }) {
  const base = mkdtempSync(join(tmpdir(), 'circuit-lens-cs-'));
  const userData = join(base, 'user-data');
  const extDir = extensionsDir ?? join(base, 'extensions');
  mkdirSync(join(userData, 'User'), { recursive: true });
  mkdirSync(extDir, { recursive: true });
  // Quiet workbench: no welcome page, no trust prompt, no tips.
  writeFileSync(join(userData, 'User', 'settings.json'), JSON.stringify({
    'workbench.startupEditor': 'none',
    'security.workspace.trust.enabled': untrusted,
    'security.workspace.trust.startupPrompt': 'never',
    'security.workspace.trust.emptyWindow': false,
    'workbench.tips.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'extensions.autoUpdate': false,
    'extensions.autoCheckUpdates': false,
    'workbench.enableExperiments': false,
    'window.commandCenter': false,
    'editor.wordWrap': 'on',
  }));
  const config = join(base, 'config.yaml');
  writeFileSync(config, 'auth: none\ncert: false\n');
  const port = await freePort();
  const child = spawn(process.execPath, [codeServerEntry, '--config', config, '--user-data-dir', userData, '--extensions-dir', extDir,
    '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check',
    ...(untrusted ? [] : ['--disable-workspace-trust']), '--ignore-last-opened', workspace], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => log(String(d)));
  child.stderr.on('data', (d) => log(String(d)));
  const stop = () => {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode}`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      stop();
      throw new Error('code-server did not answer /healthz within 30 s');
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { port, url: `http://127.0.0.1:${port}`, stop, dirs: { base, userData, extensions: extDir } };
}

export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--disable-dev-shm-usage'],
  });
}
