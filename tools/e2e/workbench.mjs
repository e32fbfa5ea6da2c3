// What the browser suites share: the packaged VSIX, a workbench page per workspace, the palette, Quick
// Open, webview frames, and the extension's log lines.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function packageVsix() {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  execFileSync(process.execPath, [join(root, 'tools/package.mjs'), '--target', 'linux-x64'], { cwd: root, stdio: 'inherit' });
  return join(root, `circuit-lens-${version}-linux-x64.vsix`);
}


/** Runs a palette command by title, retrying until the extension has registered it. */
export async function palette(page, title) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(`>${title}`);
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
    if (await row.waitFor({ state: 'visible', timeout: 3000 }).then(() => true, () => false)) {
      await page.keyboard.press('Enter');
      return;
    }
    await page.keyboard.press('Escape');
    if (Date.now() > deadline) throw new Error(`command "${title}" never appeared in the palette`);
    await page.waitForTimeout(1000);
  }
}


/** Polls `get` every 250 ms until it returns something other than undefined. */
export async function until(what, get, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}


/** Lines of the log files (under code-server's user-data folder) whose name contains `channel`. */
export function logLines(userData, channel) {
  const files = readdirSync(join(userData, 'logs'), { recursive: true }).filter((f) => basename(String(f)).includes(channel));
  return files.flatMap((f) => readFileSync(join(userData, 'logs', String(f)), 'utf8').split('\n'));
}


/** The webview content frame that holds `selector` (each panel is an iframe inside an iframe). */
export async function webviewWith(page, selector, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const f of page.frames()) {
      if (f.name() === 'active-frame' || f.url().includes('fake.html')) {
        if (await f.locator(selector).count().catch(() => 0)) return f;
      }
    }
    if (Date.now() > deadline) throw new Error(`no webview shows ${selector}`);
    await page.waitForTimeout(250);
  }
}


/** Opens a workspace folder in a new workbench page. */
export async function openWorkbench(browser, serverUrl, workspace) {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.goto(`${serverUrl}/?folder=${encodeURIComponent(workspace)}`);
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  return page;
}


/** Opens a file of the workspace by name with Quick Open. */
export async function quickOpen(page, name) {
  await page.keyboard.press('Control+P');
  await page.locator('.quick-input-widget input').fill(name);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor({ timeout: 10_000 });
  await page.keyboard.press('Enter');
  await page.locator('.tab.active', { hasText: name }).waitFor({ timeout: 10_000 });
}


/** Packages the VSIX and installs it into a fresh extensions folder of code-server; returns that folder. */
export function installedExtension(codeServerEntry, mkdtemp) {
  const extensions = mkdtemp();
  execFileSync(process.execPath, [codeServerEntry, '--config', join(extensions, 'config.yaml'), '--extensions-dir', extensions, '--install-extension', packageVsix()], { stdio: 'inherit' });
  return extensions;
}

/**
 * Clicks the spec's "Run all" CodeLens. VS Code asks for CodeLenses when an editor shows the file; seen
 * once in CI, an editor opened while the extension host was busy showed none and never asked again, so
 * the file is opened once more (the editor asks again) before giving up.
 */
export async function clickRunAll(page, specFile, timeoutMs = 30_000) {
  const lens = page.locator('.codelens-decoration a', { hasText: 'Run all' }).first();
  if (await lens.waitFor({ timeout: timeoutMs }).then(() => true, () => false)) return lens.click();
  console.log(`no "Run all" CodeLens on ${specFile} after ${timeoutMs / 1000} s: reopening it`);
  await page.keyboard.press('Control+W');
  await quickOpen(page, specFile);
  await lens.click({ timeout: timeoutMs });
}
