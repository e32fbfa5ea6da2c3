// Browser end-to-end tests: packages the VSIX, installs it into code-server (what users get is what is
// tested), then drives the workbench with Chromium: palette -> Trace Prompt on the bundled model ->
// attention panel (heads and tokens counted) -> logit-lens panel -> click a cell -> the editor reveals
// the prompt token; and "Run all" on test/fixtures/workspace/run-all.circuit.json ten times, every panel
// checked each time. One code-server for the file; each test opens its own copy of the workspace.
// Only the "Run all" test: node --test-name-pattern='Run all' tools/e2e/run-ui.mjs. Screenshots go to out/e2e/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { launchChromium, startCodeServer } from './code-server.mjs';
import { codeServerEntry, installCodeServer } from './install-code-server.mjs';
import { clearReady, describePanels, expectedPanels, visibleHost, waitPanels } from './panels.mjs';
import { clickRunAll, installedExtension, logLines, openWorkbench, palette, quickOpen, until, webviewWith } from './workbench.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const shots = join(root, 'out', 'e2e');
const MODEL = existsSync(join(root, 'media', 'models', 'demo', 'config.json')) ? 'demo' : 'planted-induction';
const PROMPT = 'The cat sat on the mat. The cat sat on the';

/** What the panels must show, from the model's config and the CLI's tokenization of the prompt. */
function expected() {
  const config = JSON.parse(readFileSync(join(root, 'media', 'models', MODEL, 'config.json'), 'utf8'));
  const file = join(mkdtempSync(join(tmpdir(), 'circuit-lens-cli-')), 'trace.json');
  execFileSync(process.execPath, [join(root, 'dist', 'cli.js'), 'trace', '--model', MODEL, '--prompt', PROMPT, '--json', file], { cwd: root, stdio: 'ignore' });
  const { tokens } = JSON.parse(readFileSync(file, 'utf8'));
  const chars = tokens.map((t) => t.end - t.start);
  const lastChars = chars[chars.length - 1];
  // A token whose selection the status bar tells apart from the last one's.
  const other = chars.findIndex((c, i) => i > 0 && c !== lastChars);
  return { heads: config.n_layer * config.n_head, tokens: tokens.length, lastChars, other: { pos: other, chars: chars[other] } };
}

/** A fresh copy of the fixture workspace: each test opens its own folder, so no editor state is shared. */
function copyWorkspace() {
  const workspace = mkdtempSync(join(tmpdir(), 'circuit-lens-ui-'));
  cpSync(join(root, 'test/fixtures/workspace'), workspace, { recursive: true });
  return workspace;
}

// One code-server and one Chromium for the whole file; each test opens its own workspace in a new page.
const suite = { started: Date.now(), log: [], server: undefined, browser: undefined };

before(async () => {
  installCodeServer();
  rmSync(shots, { recursive: true, force: true });
  mkdirSync(shots, { recursive: true });
  const extensions = installedExtension(codeServerEntry, () => mkdtempSync(join(tmpdir(), 'circuit-lens-ext-')));
  suite.server = await startCodeServer({ workspace: copyWorkspace(), extensionsDir: extensions, log: (s) => suite.log.push(s) });
  suite.browser = await launchChromium();
  console.log(`setup (package, install, start code-server and Chromium) ${((Date.now() - suite.started) / 1000).toFixed(1)} s`);
});

after(async () => {
  await suite.browser?.close();
  suite.server?.stop();
  console.log(`UI tests wall time ${((Date.now() - suite.started) / 1000).toFixed(1)} s; screenshots in ${shots}`);
});

test('trace from the palette, attention and logit-lens panels, click reveals the prompt', { timeout: 300_000 }, async () => {
  const started = Date.now();
  const want = expected();
  const { server, log } = suite;
  let page;
  try {
    page = await openWorkbench(suite.browser, suite.server.url, copyWorkspace());

    await palette(page, 'Circuit Lens: Trace Prompt');
    const pick = page.locator('.quick-input-widget input');
    await pick.fill(MODEL);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: MODEL }).first().waitFor({ timeout: 15_000 });
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget', { hasText: 'prompt for' }).waitFor({ timeout: 15_000 });
    await pick.fill(PROMPT);
    await page.keyboard.press('Enter');

    // The attention panel opens last, so it is the active tab.
    await page.locator('.tab.active', { hasText: 'Attention' }).waitFor({ timeout: 60_000 });
    const att = await webviewWith(page, 'body[data-state="ready"] #head-canvas');
    const heads = Number(await att.locator('#heads').getAttribute('data-heads'));
    const tokens = await att.locator('#attention-text .ctoken').count();
    assert.equal(heads, want.heads, 'one thumbnail per head of every layer');
    assert.equal(tokens, want.tokens, 'one coloured text token per prompt token, BOS included');
    // Hover a query token of the text: the prompt is coloured by what it attends to.
    await att.locator('#attention-text .ctoken').nth(12).hover();
    assert.match(await att.locator('#text-caption').innerText(), /what query 12 /);
    // Hover a cell of the large head: its value is read out.
    const cv = await att.locator('#head-overlay').boundingBox();
    assert.ok(cv);
    await att.locator('#head-overlay').hover({ position: { x: 104 + 5, y: cv.height - 92 - 5 } });
    assert.match(await att.locator('#hover-readout').innerText(), /query \d+ .* → key 0 /);
    await page.screenshot({ path: join(shots, 'attention.png') });

    await page.locator('.tab', { hasText: 'Logit lens' }).click();
    const lens = await webviewWith(page, '#lens-plot .heatmaplayer');
    await page.screenshot({ path: join(shots, 'logit-lens.png') });

    // Click the top-right cell (final_post, last token) through plotly's drag layer.
    const drag = lens.locator('#lens-plot .nsewdrag').first();
    const box = await drag.boundingBox();
    assert.ok(box);
    const cols = tokens;
    await drag.click({ position: { x: box.width * (cols - 0.5) / cols, y: box.height / 6 } });
    await page.locator('.tab.active', { hasText: 'prompt-1.txt' }).waitFor({ timeout: 15_000 });
    const status = page.locator('.statusbar-item', { hasText: /selected/ }).first();
    await status.waitFor({ timeout: 10_000 });
    assert.match(await status.innerText(), new RegExp(`\\(${want.lastChars} selected\\)`)); // the last token's characters
    await page.screenshot({ path: join(shots, 'reveal.png') });

    // A live panel sends malformed messages through the channel its own script uses (the function its
    // host frame gives acquireVsCodeApi). The extension host drops and logs them, and still answers the
    // valid message sent after them.
    await page.locator('.tab', { hasText: `Logit lens: ${MODEL}` }).click();
    const live = (await webviewWith(page, '#lens-plot .heatmaplayer')).parentFrame();
    const sent = await live.evaluate((valid) => {
      const post = (message) => window.__vscode_post_message__('onmessage', { message, transfer: undefined });
      let deep = {};
      for (let i = 0; i < 1000; i++) deep = { type: 'revealToken', pos: deep };
      const bad = [null, 42, 'revealToken', [], {}, { type: 'nope' }, { type: 'revealToken' }, { type: 'revealToken', pos: -1 },
        { type: 'revealToken', pos: 2.5 }, { type: 'revealToken', pos: '3' }, { type: 'revealToken', pos: 999_999 },
        { type: 'setTarget', text: 'x'.repeat(100_000) }, { type: 'setTarget', text: 7 }, { type: 'openHead', layer: 0, head: 0 },
        { type: 'ready', version: 99 }, { type: 'openFile', path: '/etc/passwd' }, { type: '__proto__' }, deep,
        { type: 'revealToken', pos: Array.from({ length: 100_000 }, (_, i) => i) }];
      for (const m of bad) post(m);
      // The valid one in both envelopes of the panel protocol (a plain message, and the RPC notification
      // of the rewrite); the one the host does not speak is dropped like the others.
      post({ type: 'revealToken', pos: valid });
      post({ rpc: 'notify', method: 'revealToken', params: { pos: valid } });
      return bad.length;
    }, want.other.pos);
    await page.locator('.tab.active', { hasText: 'prompt-1.txt' }).waitFor({ timeout: 15_000 });
    await page.locator('.statusbar-item', { hasText: `(${want.other.chars} selected)` }).first().waitFor({ timeout: 10_000 });
    const dropped = await until('the dropped messages in the extension log', () => {
      const n = logLines(server.dirs.userData, 'Circuit Lens').filter((l) => l.includes('dropped a webview message')).length;
      return n >= 5 ? n : undefined;
    });
    console.log(`posted ${sent} malformed messages to a live panel: ${dropped} logged (5 at most per panel, then every 100th), the host still answered a valid one`);

    // Type a target token in the palette trace's lens: the lens is re-run and coloured by it.
    await page.locator('.tab', { hasText: `Logit lens: ${MODEL}` }).click();
    const targetFrame = await webviewWith(page, '#target');
    await targetFrame.locator('#target input').fill(' the');
    await targetFrame.locator('#target input').press('Enter');
    await page.locator('.tab.active', { hasText: `Logit lens: ${MODEL}` }).waitFor({ timeout: 30_000 });
    const targeted = await webviewWith(page, '#colouring');
    assert.equal(await targeted.locator('#colouring').evaluate((el) => el.value), 'target');
    await page.locator('.notifications-toasts .monaco-progress-container').waitFor({ state: 'hidden', timeout: 30_000 }).catch(() => {});
    await page.screenshot({ path: join(shots, 'logit-lens-target.png') });

    // A spec: "Run all" CodeLens -> its panels, and the prediction inline after the prompt.
    await quickOpen(page, 'induction.circuit.json');
    await clickRunAll(page, 'induction.circuit.json');
    await page.locator('.tab', { hasText: 'Logit lens: Lens' }).waitFor({ timeout: 60_000 });
    await page.locator('.tab', { hasText: 'Logit lens: Lens' }).click();
    await webviewWith(page, '.title:has-text("induction.circuit.json › Lens")');
    // An `after` decoration is CSS generated content: read it from the ::after style.
    await page.waitForFunction(() => [...document.querySelectorAll('.view-lines span[class*="ced-"]')]
      .some((el) => getComputedStyle(el, '::after').content.includes('→')), undefined, { timeout: 15_000 });
    await page.screenshot({ path: join(shots, 'spec-run.png') });

    // Clicking a cell of the spec's panel selects that token inside the prompt string of the spec.
    const specLens = await webviewWith(page, '.title:has-text("induction.circuit.json › Lens")');
    const specDrag = specLens.locator('#lens-plot .nsewdrag').first();
    const sb = await specDrag.boundingBox();
    assert.ok(sb);
    await specDrag.click({ position: { x: sb.width * (cols - 0.5) / cols, y: sb.height / 6 } });
    await page.locator('.tab.active', { hasText: 'induction.circuit.json' }).waitFor({ timeout: 15_000 });
    await page.locator('.statusbar-item', { hasText: `(${want.lastChars} selected)` }).first().waitFor({ timeout: 10_000 });

    // Hover a prompt token (each is its own span, underlined by the inline view): top next tokens,
    // logit-lens trajectory, heads attending from it.
    const at = await page.evaluate(() => {
      for (const line of document.querySelectorAll('.view-lines .view-line')) {
        const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
          const i = (n.textContent ?? '').indexOf('sat');
          if (i < 0) continue;
          const r = document.createRange();
          r.setStart(n, i);
          r.setEnd(n, i + 1);
          const b = r.getBoundingClientRect();
          return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
        }
      }
      return undefined;
    });
    assert.ok(at, 'the prompt text is on screen');
    await page.mouse.move(at.x, at.y);
    const hover = page.locator('.monaco-hover', { hasText: 'Heads attending most' }).first();
    await hover.waitFor({ timeout: 15_000 });
    assert.match(await hover.innerText(), /Next token/);
    await page.screenshot({ path: join(shots, 'hover.png') });

    // After a window reload the panels come back and say the run must be repeated; "Run again" does it.
    // Reload through the workbench (Developer: Reload Window), which flushes the editor layout before it
    // reloads; a plain page reload can lose the newest editor group, whose layout is saved on a timer.
    await palette(page, 'Developer: Reload Window');
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    await page.locator('.tab', { hasText: 'Logit lens: Lens' }).click({ timeout: 60_000 });
    const revived = await webviewWith(page, '#rerun');
    assert.match(await revived.locator('.status').innerText(), /must be repeated/);
    await page.screenshot({ path: join(shots, 'revived.png') });
    await revived.locator('#rerun').click();
    await webviewWith(page, '#lens-plot .heatmaplayer');
  } catch (e) {
    console.error('code-server log tail:\n' + log.join('').slice(-3000));
    await page?.screenshot({ path: join(shots, 'failure.png') });
    throw e;
  } finally {
    await page?.close();
  }
  console.log(`trace test wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

// "Run all" on a spec of eight analyses of every panel kind, ten times in a row: after each run every
// panel shows that run's result (not "Waiting for data…", not a status line, the plot of its kind).
// Odd runs start with no panel open (the run creates its eight webviews afresh: the case that left
// panels on "Waiting for data…"), even runs reuse the panels of the run before (the update path).
//   CIRCUIT_LENS_RUN_ALL_TIMES=N                    runs (default 10)
//   CIRCUIT_LENS_RUN_ALL_MODE=alternate|fresh|reuse  new panels on odd runs (default), on every run, never
//   CIRCUIT_LENS_RUN_ALL_SWEEP=1                     after each run click through all tabs at once, so the
//     webviews not yet shown all load together (as when a user flips through the tabs), before the checks
const RUN_ALL_SPEC = 'run-all.circuit.json';
const RUN_ALL_TIMES = Number(process.env.CIRCUIT_LENS_RUN_ALL_TIMES ?? 10);
const RUN_ALL_MODE = process.env.CIRCUIT_LENS_RUN_ALL_MODE ?? 'alternate';
const RUN_ALL_SWEEP = process.env.CIRCUIT_LENS_RUN_ALL_SWEEP === '1';

/** Runs "View: Close All Editors" from the palette (its row, not "... in Group"), and waits for no tab left. */
async function closeAllEditors(page) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill('>View: Close All Editors');
  await page.locator('.quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: /^View: Close All Editors$/ }) }).first().click({ timeout: 10_000 });
  await page.locator('.tabs-container .tab').first().waitFor({ state: 'detached', timeout: 15_000 });
}

test(`"Run all" on ${RUN_ALL_SPEC} ${RUN_ALL_TIMES} times: every panel shows its result each time`, { timeout: 600_000 }, async () => {
  const started = Date.now();
  assert.ok(['fresh', 'reuse', 'alternate'].includes(RUN_ALL_MODE), `CIRCUIT_LENS_RUN_ALL_MODE is fresh, reuse or alternate, not ${RUN_ALL_MODE}`);
  const config = JSON.parse(readFileSync(join(root, 'media', 'models', 'demo', 'config.json'), 'utf8'));
  const want = { heads: config.n_layer * config.n_head };
  const workspace = copyWorkspace();
  const panels = expectedPanels(join(workspace, RUN_ALL_SPEC), RUN_ALL_SPEC);
  assert.ok(panels.length >= 6, `${RUN_ALL_SPEC} has at least 6 analyses`);
  const kinds = new Set(panels.map((p) => p.kind));
  assert.ok(['attention', 'logitLens', 'patching', 'ablation', 'attribution', 'detectors'].every((k) => kinds.has(k)), 'every kind of panel is in the spec');
  const tab = (p) => page.locator('.tabs-container .tab', { hasText: p.tab }).first();
  const failures = [];
  const summary = [];
  let page;
  try {
    page = await openWorkbench(suite.browser, suite.server.url, workspace);
    await quickOpen(page, RUN_ALL_SPEC);
    for (let i = 1; i <= RUN_ALL_TIMES; i++) {
      const fresh = i > 1 && (RUN_ALL_MODE === 'fresh' || (RUN_ALL_MODE === 'alternate' && i % 2 === 1));
      if (fresh) {
        // Close every panel (and the spec), then reopen the spec: this run creates new webviews.
        await closeAllEditors(page);
        await quickOpen(page, RUN_ALL_SPEC);
      }
      const mode = i === 1 || fresh ? 'new panels' : 'reused panels';
      // Panels of the previous run lose their "rendered" flag: only what this run renders counts.
      await clearReady(page);
      const t0 = Date.now();
      await page.locator('.codelens-decoration a', { hasText: 'Run all' }).first().click({ timeout: i === 1 ? 60_000 : 15_000 });
      // The run is over when its progress notification is gone (a very quick one may never be drawn).
      const toast = page.locator('.notification-toast', { hasText: `Circuit Lens: ${RUN_ALL_SPEC}` }).first();
      const seen = await toast.waitFor({ state: 'visible', timeout: 5000 }).then(() => true, () => false);
      await toast.waitFor({ state: 'hidden', timeout: 60_000 });
      const runMs = Date.now() - t0;
      for (const p of panels) await tab(p).waitFor({ state: 'attached', timeout: 15_000 });
      // Optionally show every tab in quick succession: the webviews not yet shown all load at once.
      if (RUN_ALL_SWEEP) for (const p of panels) await tab(p).click();
      // Without touching the tabs: hidden panels keep their webviews (retainContextWhenHidden), so all
      // can be read; a panel whose tab was never shown has no webview yet. Loading eight webviews of a
      // few MB each on a busy machine takes a while, hence the long limit (it ends when all are shown).
      const t1 = Date.now();
      const passive = await waitPanels(page, panels, want, 60_000, { frameless: true });
      const passiveMs = Date.now() - t1;
      // Then as a user looks: click each tab and wait for its panel to show its result.
      const t2 = Date.now();
      const results = [];
      for (const p of panels) {
        await tab(p).click();
        await page.locator('.tabs-container .tab.active', { hasText: p.tab }).waitFor({ timeout: 5000 });
        const [r] = await waitPanels(page, [p], want, 15_000);
        if (r.problem && !r.state) r.host = await visibleHost(page);
        results.push(r);
      }
      const clickMs = Date.now() - t2;
      const bad = results.filter((r) => r.problem);
      const passiveOk = passive.filter((r) => !r.problem).length;
      const line = `run ${i} (${mode}): Run all ${(runMs / 1000).toFixed(1)} s${seen ? '' : ' (no progress toast seen)'}; `
        + `${passiveOk}/${panels.length} panels showed their result before any click (${(passiveMs / 1000).toFixed(1)} s), `
        + `${results.length - bad.length}/${panels.length} after clicking each tab (${(clickMs / 1000).toFixed(1)} s)${bad.length ? ' FAIL' : ''}`;
      console.log(line);
      summary.push(line);
      if (bad.length > 0) {
        const toasts = await page.locator('.notification-toast').allInnerTexts();
        failures.push(`run ${i} of ${RUN_ALL_TIMES} (${mode}): ${bad.length} of ${panels.length} panels without their result\n`
          + `before clicking the tabs:\n${describePanels(passive)}\nafter clicking each tab:\n${describePanels(results)}`
          + (toasts.length ? `\nnotifications: ${toasts.map((t) => JSON.stringify(t.replace(/\s+/g, ' '))).join(', ')}` : ''));
        await page.screenshot({ path: join(shots, `run-all-failure-${i}.png`) });
      }
    }
    await page.screenshot({ path: join(shots, 'run-all.png') });
  } catch (e) {
    console.error('code-server log tail:\n' + suite.log.join('').slice(-3000));
    await page?.screenshot({ path: join(shots, 'run-all-error.png') });
    throw e;
  } finally {
    await page?.close();
    console.log(`"Run all" test wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  assert.equal(failures.length, 0, `${failures.length} of ${RUN_ALL_TIMES} "Run all" runs left panels without their result:\n${summary.join('\n')}\n\n${failures.join('\n\n')}`);
});
