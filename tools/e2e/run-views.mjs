// The panels at the two scales we promise, in code-server with Chromium: every panel kind on the bundled
// demo model (2 layers) and on random GPT-2-small-shaped weights (12 layers x 12 heads) with a 512-token
// prompt. Each panel must reach `ready` without an error; a screenshot of each goes to out/e2e/views/.
//   node --test tools/e2e/run-views.mjs            the two tests (part of npm run test:vscode)
//   node tools/e2e/run-views.mjs --bench [--sizes 128,512,1000]
//                                                  (npm run bench:views) the attention panel at each prompt
//                                                  length: trace end -> ready, the longest main-thread task
//                                                  of the workbench page and of the panel while drawing and
//                                                  while hovering, hover and click latency, bytes posted.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { launchChromium, startCodeServer } from './code-server.mjs';
import { codeServerEntry, installCodeServer } from './install-code-server.mjs';
import { panelFrames } from './panels.mjs';
import { promptOfTokens, researchModel } from './research-model.mjs';
import { clickRunAll, installedExtension, logLines, openWorkbench, palette, quickOpen, until } from './workbench.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const shots = join(root, 'out', 'e2e', 'views');
const { values: args } = parseArgs({ options: { bench: { type: 'boolean', default: false }, sizes: { type: 'string', default: '128,512,1000' }, profile: { type: 'boolean', default: false } }, strict: false });

/** Every kind of analysis on one prompt pair (same length: the corrupted one swaps one word). */
function everyPanelSpec(model, clean, corrupted, answer, counterfactual, focus, gradientKinds = GRADIENT_KINDS) {
  return {
    model,
    prompts: [
      { name: 'clean', text: clean, answer, counterfactual },
      { name: 'corrupted', text: corrupted },
      { name: 'plus', text: `${clean} ${answer.trim()}` },
      { name: 'minus', text: `${clean} ${counterfactual.trim()}` },
    ],
    analyses: [
      { kind: 'attention', name: 'attention', prompt: 'clean', focus },
      { kind: 'logitLens', name: 'logit lens', prompt: 'clean', topK: 5 },
      { kind: 'patching', name: 'patching heads', prompt: 'clean', corrupted: 'corrupted', target: 'heads' },
      { kind: 'ablation', name: 'ablation heads', prompt: 'clean', unit: 'heads', method: 'mean', reference: ['corrupted'] },
      { kind: 'attribution', name: 'attribution', prompt: 'clean' },
      { kind: 'detectors', name: 'detectors', source: 'prompt', prompt: 'clean' },
      { kind: 'steering', name: 'steering', prompt: 'clean', hook: 'blocks.0.hook_resid_post', coefficient: 4, positive: ['plus'], negative: ['minus'], maxNewTokens: 8 },
      { kind: 'generation', name: 'generation', prompt: 'clean', maxNewTokens: 12 },
      ...gradientKinds,
    ],
  };
}

/** The gradient panels: attribution patching checked by exact patching, integrated gradients per token, and the edge graph. */
const GRADIENT_KINDS = [
  { kind: 'attributionPatching', name: 'attribution patching', prompt: 'clean', corrupted: 'corrupted', target: 'heads_pos', verify: 5 },
  { kind: 'inputAttribution', name: 'input attribution', prompt: 'clean', corrupted: 'corrupted', steps: 16 },
  { kind: 'edgeAttribution', name: 'edge attribution', prompt: 'clean', corrupted: 'corrupted', method: 'eapIg', steps: 8, topN: 20, ablation: 'patch' },
];

const TABS = { attention: 'Attention', logitLens: 'Logit lens' };
const tabOf = (a) => `${TABS[a.kind] ?? 'Circuit'}: ${a.name}`;

async function serve(workspace) {
  installCodeServer();
  const extensions = installedExtension(codeServerEntry, () => mkdtempSync(join(tmpdir(), 'circuit-lens-ext-')));
  const server = await startCodeServer({ workspace, extensionsDir: extensions, log: () => {} });
  const browser = await launchChromium();
  return { server, browser, stop: async () => { await browser.close(); server.stop(); } };
}

/** A workspace holding `spec` as NAME.circuit.json. */
function workspaceWith(name, spec) {
  const dir = mkdtempSync(join(tmpdir(), 'circuit-lens-views-'));
  cpSync(join(root, 'test', 'fixtures', 'workspace'), dir, { recursive: true });
  writeFileSync(join(dir, `${name}.circuit.json`), JSON.stringify(spec, null, 1) + '\n');
  return dir;
}

/** The content frame of the panel whose document title is `tab`, once its body says ready (or error). */
async function panelFrame(page, tab, timeoutMs) {
  return until(`panel "${tab}"`, async () => {
    const f = (await panelFrames(page)).get(tab);
    const state = await f?.evaluate(() => document.body.dataset.state).catch(() => undefined);
    return state === 'ready' || state === 'error' ? f : undefined;
  }, timeoutMs);
}

/**
 * Runs every analysis of the spec and screenshots each panel: PREFIX-<analysis>.png. A panel's page loads
 * when its tab is first shown, so each tab is clicked, then its panel must say ready.
 */
async function everyPanel(page, specFile, spec, prefix, timeoutMs) {
  await quickOpen(page, specFile);
  await clickRunAll(page, specFile, 60_000);
  for (const a of spec.analyses) {
    const tab = page.locator('.tab', { hasText: tabOf(a) }).first();
    await tab.waitFor({ timeout: 60_000 });
    await tab.click();
    const frame = await panelFrame(page, tabOf(a), timeoutMs).catch(async (e) => {
      await page.screenshot({ path: join(shots, `${prefix}-failed.png`) });
      // The first webview of a fresh code-server page has stayed blank now and then (its iframe never
      // loading our page): show the tab once more, say so, and fail if it still does not come.
      console.log(`panel "${tabOf(a)}" did not load (${e.message}); showing its tab again`);
      await page.locator('.tab').filter({ hasNotText: tabOf(a) }).first().click();
      await tab.click();
      return panelFrame(page, tabOf(a), 60_000);
    });
    const status = await frame.evaluate(() => ({ state: document.body.dataset.state, text: document.getElementById('app')?.innerText.slice(0, 300) }));
    assert.equal(status.state, 'ready', `${a.name}: ${status.text}`);
    await page.mouse.move(150, 600); // over the explorer's empty part: no tooltip over the panel
    await page.waitForTimeout(600);
    await page.screenshot({ path: join(shots, `${prefix}-${a.name.replace(/\s+/g, '-')}.png`) });
  }
}

/**
 * A workspace for the Features panel: the spec names a random-weight SAE fixture at `hook` (SAELens
 * layout, written by the PyTorch reference) in its "saes", the fixture labels every feature, and with
 * `corpus` a feature index of it is built with the CLI and named by circuitLens.featureIndex.
 */
function featuresWorkspace(name, model, prompt, { dIn, dSae, hook, corpus }) {
  const dir = workspaceWith(name, { model, saes: ['sae'], prompts: [{ name: 'clean', text: prompt }], analyses: [] });
  const python = process.env.CIRCUIT_LENS_PYTHON ?? '/usr/bin/python3';
  execFileSync(python, [join(root, 'test', 'reference', 'sae_reference.py'), 'make-random', '--format', 'saelens', '--architecture', 'standard', '--d-in', String(dIn), '--d-sae', String(dSae),
    '--hook', hook, '--out', join(dir, 'sae'), '--seed', '7'], { stdio: 'inherit', env: { ...process.env, OMP_NUM_THREADS: '1' } });
  writeFileSync(join(dir, 'sae', 'feature-labels.json'), JSON.stringify(Object.fromEntries(Array.from({ length: dSae }, (_, f) => [f, `fixture label of feature ${f}`]))));
  mkdirSync(join(dir, '.vscode'), { recursive: true });
  if (corpus) {
    execFileSync(process.execPath, [join(root, 'dist', 'cli.js'), 'features', 'index', '--model', model, '--sae', join(dir, 'sae'), '--corpus', corpus, '--out', join(dir, 'index'), '--context', '32', '--threads', '1'], { stdio: 'inherit' });
    writeFileSync(join(dir, '.vscode', 'settings.json'), JSON.stringify({ 'circuitLens.featureIndex': 'index' }) + '\n');
  }
  return dir;
}

/**
 * Show Features on the spec's prompt: the Features panel and its first card must be ready (PREFIX-features.png);
 * then a hover on a prompt token in the spec lists its features (PREFIX-feature-hover.png).
 */
async function featuresPanel(page, specFile, word, prefix, timeoutMs) {
  // On a loaded machine Quick Open finds nothing until the explorer has listed the folder.
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: specFile }).first().waitFor({ timeout: 60_000 });
  await quickOpen(page, specFile);
  await page.waitForTimeout(1500); // the spec's diagnostics settle
  await palette(page, 'Circuit Lens: Show Features');
  const tab = page.locator('.tab', { hasText: 'Features: clean' }).first();
  await tab.waitFor({ timeout: 60_000 });
  await tab.click();
  const frame = await panelFrame(page, 'Features: clean', timeoutMs).catch(async (e) => {
    await page.screenshot({ path: join(shots, `${prefix}-features-failed.png`) });
    throw e;
  });
  const status = await frame.evaluate(() => ({ state: document.body.dataset.state, text: document.getElementById('app')?.innerText.slice(0, 300) }));
  assert.equal(status.state, 'ready', status.text);
  const card = await until('the feature card', async () => {
    const c = await frame.evaluate(() => ({ state: document.getElementById('feature-card')?.dataset.state, text: document.getElementById('feature-card')?.innerText ?? '' }));
    return c.state === 'ready' || c.state === 'error' ? c : undefined;
  }, 60_000);
  assert.equal(card.state, 'ready', card.text.slice(0, 300));
  assert.match(card.text, /Top logits/);
  assert.match(card.text, /fixture label of feature \d+/);
  await page.mouse.move(150, 600);
  await page.waitForTimeout(600);
  await page.screenshot({ path: join(shots, `${prefix}-features.png`) });
  // Scroll the card into view for a second picture: examples and histogram when the index is set.
  await frame.evaluate(() => document.getElementById('feature-card')?.scrollIntoView());
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(shots, `${prefix}-feature-card.png`) });
  // The hover: the spec's editor again, the mouse on a word of the prompt.
  await page.locator('.tab', { hasText: specFile }).first().click();
  const text = page.locator('.monaco-editor .view-line span', { hasText: word }).first();
  await text.waitFor({ timeout: 10_000 });
  const box = await text.boundingBox();
  const line = await text.textContent();
  const at = line.indexOf(word) + 1;
  await page.mouse.move(box.x + (box.width * at) / line.length, box.y + box.height / 2);
  const hover = page.locator('.monaco-hover', { hasText: 'top features at' }).first();
  await hover.waitFor({ timeout: 20_000 });
  assert.match(await hover.innerText(), /#\d+/);
  await page.screenshot({ path: join(shots, `${prefix}-feature-hover.png`) });
}

async function screenshots() {
  const { test, before, after } = await import('node:test');
  let env;
  before(async () => {
    rmSync(shots, { recursive: true, force: true });
    mkdirSync(shots, { recursive: true });
    env = await serve(workspaceWith('placeholder', { model: 'demo', prompts: [], analyses: [] }));
  });
  after(async () => env?.stop());

  test('every panel on the bundled demo model', { timeout: 300_000 }, async () => {
    const spec = everyPanelSpec('demo', 'Moses took the staff of God, and Aaron took the staff of', 'Moses took the staff of Israel, and Aaron took the staff of', ' God', ' Israel', { layer: 1, head: 1 });
    const page = await openWorkbench(env.browser, env.server.url, workspaceWith('demo-views', spec));
    try {
      await everyPanel(page, 'demo-views.circuit.json', spec, 'demo', 120_000);
    } finally {
      await page.close();
    }
  });

  test('the Features panel, a card with its index, and the feature hover on the demo model', { timeout: 300_000 }, async () => {
    const ws = featuresWorkspace('demo-features', 'demo', 'Moses took the staff of God, and Aaron took the staff of', { dIn: 128, dSae: 256, hook: 'blocks.1.hook_resid_pre', corpus: join(root, 'media', 'sae-sample.txt') });
    const page = await openWorkbench(env.browser, env.server.url, ws);
    try {
      await featuresPanel(page, 'demo-features.circuit.json', 'Aaron', 'demo', 120_000);
    } finally {
      await page.close();
    }
  });

  test('the Features panel at 12 x 12 heads and 512 tokens', { timeout: 900_000 }, async () => {
    const ws = featuresWorkspace('scale-features', researchModel(), promptOfTokens(512), { dIn: 768, dSae: 6144, hook: 'blocks.6.hook_resid_post' });
    const page = await openWorkbench(env.browser, env.server.url, ws);
    try {
      await featuresPanel(page, 'scale-features.circuit.json', 'cat', 'scale', 600_000);
    } finally {
      await page.close();
    }
  });

  test('every panel at 12 x 12 heads and 512 tokens', { timeout: 1_200_000 }, async () => {
    const clean = promptOfTokens(512);
    const corrupted = clean.replace(/ cat(?!.* cat)/, ' dog');
    assert.notEqual(corrupted, clean);
    // Attribution patching at this scale too; edge attribution at 512 tokens (8 GB, half a minute) is measured by bench --eap instead.
    const spec = everyPanelSpec(researchModel(), clean, corrupted, ' mat', ' town', { layer: 5, head: 1 }, GRADIENT_KINDS.slice(0, 1));
    const page = await openWorkbench(env.browser, env.server.url, workspaceWith('scale-views', spec));
    try {
      await everyPanel(page, 'scale-views.circuit.json', spec, 'scale', 900_000);
    } finally {
      await page.close();
    }
  });
}

/** Epoch ms of the extension log line that says the analysis finished ("spec › name: N ms"). */
function finishedAt(userData, what) {
  const line = logLines(userData, 'Circuit Lens').filter((l) => l.includes(what)).pop();
  const m = line && /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})/.exec(line);
  return m ? Date.parse(m[1].replace(' ', 'T')) : undefined;
}

/** Hover and click timings inside the panel: each event dispatched, then one frame drawn. */
async function interact(frame) {
  return frame.evaluate(async () => {
    const frameDone = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    const time = async (el, type, x, y) => {
      const b = el.getBoundingClientRect();
      const t = performance.now();
      el.dispatchEvent(new MouseEvent(type, { clientX: b.left + x, clientY: b.top + y, bubbles: true }));
      await frameDone();
      return performance.now() - t;
    };
    // The worst of each, and the median in brackets.
    const worst = (xs) => Math.max(...xs);
    const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
    const overlay = document.getElementById('head-overlay');
    const ob = overlay.getBoundingClientRect();
    const head = [];
    for (let i = 0; i < 40; i++) head.push(await time(overlay, 'pointermove', 110 + ((i * 37) % (ob.width - 180)), 10 + ((i * 53) % (ob.height - 110))));
    const spans = [...document.querySelectorAll('#attention-text .ctoken')];
    const text = [];
    for (let i = 0; i < 30; i++) text.push(await time(spans[(i * 31) % spans.length], 'mouseover', 2, 2));
    const grid = document.getElementById('heads');
    const gb = grid.getBoundingClientRect();
    const thumbs = [];
    for (let i = 0; i < 30; i++) thumbs.push(await time(grid, 'mousemove', 40 + ((i * 71) % (gb.width - 50)), 20 + ((i * 43) % (gb.height - 25))));
    grid.dispatchEvent(new MouseEvent('mouseleave', { bubbles: true }));
    // Click a thumbnail: the preview is drawn at once, the head's full resolution when it comes.
    const view = document.querySelector('.head-view');
    const before = view.dataset.drawn;
    const t = performance.now();
    grid.dispatchEvent(new MouseEvent('click', { clientX: gb.right - 20, clientY: gb.bottom - 20, bubbles: true }));
    await frameDone();
    const clickMs = performance.now() - t;
    while (view.dataset.drawn === before || view.dataset.drawn === 'preview') await new Promise((r) => setTimeout(r, 5));
    const fullMs = performance.now() - t;
    // Zoom in with the wheel, once per frame.
    const zoom = [];
    for (let i = 0; i < 10; i++) {
      const tz = performance.now();
      overlay.dispatchEvent(new WheelEvent('wheel', { clientX: ob.left + 300, clientY: ob.top + 300, deltaY: -100, bubbles: true, cancelable: true }));
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      zoom.push(performance.now() - tz);
    }
    return { hoverHeadMs: worst(head), hoverHeadMedianMs: median(head), hoverTextMs: worst(text), hoverTextMedianMs: median(text), hoverThumbMs: worst(thumbs), clickPreviewMs: clickMs, clickFullMs: fullMs, zoomFrameMs: worst(zoom) };
  });
}

/** The longest stretch of the page's main thread without an idle sample, and its heaviest functions (--profile). */
function printLongest(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  let t = profile.startTime;
  let best = { ms: 0, from: 0, to: 0 };
  let start;
  const times = profile.timeDeltas.map((d) => (t += d));
  profile.samples.forEach((id, i) => {
    const idle = byId.get(id).callFrame.functionName === '(idle)';
    if (!idle && start === undefined) start = i;
    if ((idle || i === profile.samples.length - 1) && start !== undefined) {
      const ms = (times[i] - times[start]) / 1000;
      if (ms > best.ms) best = { ms, from: start, to: i };
      start = undefined;
    }
  });
  const self = new Map();
  for (let i = best.from; i < best.to; i++) {
    const f = byId.get(profile.samples[i]).callFrame;
    const k = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-1)[0]}:${f.lineNumber}`;
    self.set(k, (self.get(k) ?? 0) + (times[i + 1] - times[i]) / 1000);
  }
  console.log(`longest busy stretch ${best.ms.toFixed(0)} ms; heaviest:\n${[...self].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, v]) => `  ${v.toFixed(1)} ms ${k}`).join('\n')}`);
}

async function bench() {
  const sizes = String(args.sizes).split(',').map(Number);
  const model = researchModel();
  const spec = (n) => ({ model, prompts: [{ name: 'p', text: promptOfTokens(n) }], analyses: [{ kind: 'attention', name: `attention ${n}`, prompt: 'p', focus: { layer: 5, head: 1 } }] });
  const workspace = workspaceWith('placeholder', spec(8));
  for (const n of sizes) writeFileSync(join(workspace, `views-${n}.circuit.json`), JSON.stringify(spec(n), null, 1) + '\n');
  const env = await serve(workspace);
  const rows = [];
  try {
    for (const n of sizes) {
      const page = await openWorkbench(env.browser, env.server.url, workspace);
      await page.evaluate(() => {
        window.__longest = 0;
        new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__longest = Math.max(window.__longest, e.duration); }).observe({ type: 'longtask' });
      });
      await quickOpen(page, `views-${n}.circuit.json`);
      await page.waitForTimeout(3000); // diagnostics and the model's first open settle
      await page.evaluate(() => { window.__longest = 0; });
      const cdp = args.profile ? await page.context().newCDPSession(page) : undefined;
      if (cdp) {
        await cdp.send('Profiler.enable');
        await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
        await cdp.send('Profiler.start');
      }
      await clickRunAll(page, `views-${n}.circuit.json`, 60_000);
      const frame = await panelFrame(page, `Attention: attention ${n}`, 600_000);
      if (cdp) printLongest((await cdp.send('Profiler.stop')).profile);
      const drawn = await frame.evaluate(() => ({ ...document.body.dataset, text: document.getElementById('app')?.innerText.slice(0, 300) }));
      if (drawn.state !== 'ready') throw new Error(`the attention panel at ${n} tokens shows an error: ${drawn.text}`);
      const end = await until('the finished log line', async () => finishedAt(env.server.dirs.userData, `› attention ${n}:`), 10_000);
      const workbenchDrawMs = await page.evaluate(() => window.__longest);
      await page.evaluate(() => { window.__longest = 0; });
      await frame.evaluate(() => { delete document.body.dataset.longestTaskMs; });
      const i = await interact(frame);
      const after = await frame.evaluate(() => ({ ...document.body.dataset }));
      const workbenchHoverMs = await page.evaluate(() => window.__longest);
      await page.screenshot({ path: join(root, 'out', 'bench-views', `attention-${n}.png`) });
      rows.push({
        tokens: n, traceEndToReadyMs: Number(drawn.readyAt) - end, receivedToReadyMs: Number(drawn.readyAt) - Number(drawn.receivedAt),
        panelLongestDrawMs: Number(drawn.longestTaskMs ?? 0), workbenchLongestDrawMs: workbenchDrawMs,
        panelLongestHoverMs: Number(after.longestTaskMs ?? 0), workbenchLongestHoverMs: workbenchHoverMs,
        ...i, bytesFirstDraw: Number(drawn.bytesReceived), bytesAfterClick: Number(after.bytesReceived),
      });
      console.log(JSON.stringify(rows[rows.length - 1]));
      await page.close();
    }
  } finally {
    await env.stop();
  }
  const f = (c, v) => (c.startsWith('bytes') ? `${(v / 2 ** 20).toFixed(2)} MiB` : v.toFixed(0));
  const cols = Object.keys(rows[0]);
  console.log(`\n| ${cols.join(' | ')} |\n|${cols.map(() => '---:').join('|')}|`);
  for (const r of rows) console.log(`| ${cols.map((c) => f(c, r[c])).join(' | ')} |`);
  writeFileSync(join(root, 'out', 'bench-views', 'views.json'), JSON.stringify(rows, null, 1) + '\n');
}

if (args.bench) {
  mkdirSync(join(root, 'out', 'bench-views'), { recursive: true });
  await bench();
} else {
  await screenshots();
}
