// Inspecting Circuit Lens panels (webviews) from Playwright: every panel is an iframe (the workbench's
// webview host) holding an iframe named `active-frame` (the panel's own document, whose <title> is the
// panel title given at creation, the same text as its editor tab). Panels hidden behind another tab keep
// their frames (retainContextWhenHidden), so all of them can be read without clicking their tabs.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(import.meta.url);

const VIEW_OF_KIND = { attention: 'attention', logitLens: 'logitLens' };
const TAB_PREFIX = { attention: 'Attention', logitLens: 'Logit lens', analysis: 'Circuit' };

/**
 * The panels a "Run all" of the spec file opens, in spec order: { name, kind, view, tab, header }.
 * `tab` is the editor tab's (and the panel document's) title, `header` the panel header's title text.
 */
export function expectedPanels(specFile, specName) {
  const { parse } = require('jsonc-parser');
  const spec = parse(readFileSync(specFile, 'utf8'));
  return spec.analyses.map((a, i) => {
    const name = a.name ?? `${a.kind} #${i + 1}`;
    const view = VIEW_OF_KIND[a.kind] ?? 'analysis';
    return { name, kind: a.kind, view, tab: `${TAB_PREFIX[view]}: ${name}`, header: `${specName} › ${name}` };
  });
}

/**
 * The content frames of every panel of the page, by their document title. A content frame is the child of
 * a webview host frame (…/webview/browser/pre/index.html) whose element has the id `active-frame` (its
 * `name` stays `pending-frame`; a frame still loading keeps the id `pending-frame` and is skipped).
 */
export async function panelFrames(page) {
  const byTitle = new Map();
  for (const f of page.frames()) {
    if (!f.parentFrame()?.url().includes('/webview/browser/pre/index.html')) continue;
    const id = await f.frameElement().then((el) => el.getAttribute('id')).catch(() => undefined);
    if (id !== 'active-frame') continue;
    const title = await f.evaluate(() => document.title).catch(() => undefined);
    if (title) byTitle.set(title, f);
  }
  return byTitle;
}

/**
 * What a panel shows, read inside its frame: the status line (e.g. "Waiting for data…", "Running…",
 * an error), the header title, the plots, whether the last `show` since `clearReady` was rendered, and
 * the panel's own scripts and styles that failed to load (a panel whose script never ran stays on the
 * static "Waiting for data…" of its HTML and never says `ready`).
 */
export async function panelState(frame) {
  return frame.evaluate(() => {
    const app = document.getElementById('app');
    const count = (sel) => (app ? app.querySelectorAll(sel).length : 0);
    const plots = app ? [...app.querySelectorAll('.analysis-plot')] : [];
    const failedLoads = performance.getEntriesByType('resource')
      .filter((e) => (e.initiatorType === 'script' || e.initiatorType === 'link') && (e.responseStatus === 0 || e.responseStatus >= 400))
      .map((e) => `${e.name.split('/').pop()} (HTTP status ${e.responseStatus}, ${e.duration.toFixed(0)} ms)`);
    return {
      ready: document.body.dataset.ready === 'true',
      status: app?.querySelector('.status')?.textContent ?? null,
      header: app?.querySelector('header .title')?.textContent ?? null,
      state: document.body.dataset.state ?? null,
      headPlot: count('#head-canvas'),
      headThumbs: Number(app?.querySelector('#heads')?.getAttribute('data-heads') ?? 0),
      lensPlot: count('#lens-plot .heatmaplayer'),
      analysisPlots: plots.length,
      analysisPlotsDrawn: plots.filter((p) => p.dataset.drawn === 'true').length,
      failedLoads,
      text: (app?.innerText ?? '<no #app>').replace(/\s+/g, ' ').trim().slice(0, 160),
    };
  });
}

/** Why a panel's state is not its finished result, or undefined when it is. */
export function problemOf(panel, state, { heads }) {
  if (!state) return 'no webview frame for this panel';
  const failed = state.failedLoads.length ? ` (its resources failed to load: ${state.failedLoads.join(', ')})` : '';
  if (state.status !== null) return `shows status "${state.status}"${failed}`;
  if (!state.ready) return 'did not render a new result since "Run all" (body[data-ready] not set again)';
  if (state.header !== panel.header) return `header is ${JSON.stringify(state.header)}, expected ${JSON.stringify(panel.header)}`;
  if (panel.view === 'attention') {
    if (state.headPlot < 1 || state.state !== 'ready') return `no drawn attention head (#head-canvas; state ${state.state})`;
    if (state.headThumbs !== heads) return `${state.headThumbs} head thumbnails, expected ${heads}`;
  } else if (panel.view === 'logitLens') {
    if (state.lensPlot < 1) return 'no logit-lens heatmap (#lens-plot .heatmaplayer)';
  } else if (state.analysisPlots < 1 || state.analysisPlotsDrawn < state.analysisPlots) {
    return `${state.analysisPlotsDrawn} of ${state.analysisPlots} analysis plots drawn (.analysis-plot[data-drawn=true])`;
  }
  return undefined;
}

/** Clears every panel's "rendered" flag, so the next check sees only what the next run rendered. */
export async function clearReady(page) {
  for (const f of (await panelFrames(page)).values()) await f.evaluate(() => delete document.body.dataset.ready).catch(() => {});
}

/**
 * The webview host frame on screen (VS Code keeps hidden webviews' frames under a container with
 * visibility hidden): whether it holds a content frame, and its service worker controller. A host
 * frame without a content frame never got its HTML in: VS Code's host page writes the content only
 * after its service worker answered.
 */
export async function visibleHost(page) {
  for (const el of await page.locator('iframe.webview').elementHandles()) {
    const visible = await el.evaluate((e) => getComputedStyle(e).visibility === 'visible' && e.getBoundingClientRect().width > 0).catch(() => false);
    if (!visible) continue;
    const f = await el.contentFrame();
    return f?.evaluate(() => ({
      content: document.getElementById('active-frame') ? 'active-frame' : document.getElementById('pending-frame') ? 'pending-frame only' : 'none',
      controller: navigator.serviceWorker?.controller?.scriptURL.replace(/[?].*/, '').split('/').pop() ?? 'none',
    })).catch((e) => ({ error: String(e).slice(0, 100) }));
  }
  return undefined;
}

/** Reads every expected panel: { panel, state, problem } each (state undefined when it has no frame). */
export async function checkPanels(page, panels, want) {
  const frames = await panelFrames(page);
  const out = [];
  for (const panel of panels) {
    const f = frames.get(panel.tab);
    const state = f ? await panelState(f).catch(() => undefined) : undefined;
    out.push({ panel, state, problem: problemOf(panel, state, want) });
  }
  return out;
}

/**
 * Polls checkPanels until every panel is settled or `timeoutMs` passes; returns the last reading.
 * Settled: shows its result; or, once `graceMs` have passed (time for a panel that retries), a resource
 * of it failed to load, or (with `frameless`) it has no frame yet (VS Code creates a panel's webview
 * only when its tab is first shown).
 */
export async function waitPanels(page, panels, want, timeoutMs, { frameless = false, graceMs = 5000 } = {}) {
  const start = Date.now();
  const deadline = start + timeoutMs;
  for (;;) {
    const r = await checkPanels(page, panels, want);
    const graced = Date.now() - start > graceMs;
    if (r.every((x) => !x.problem || (graced && (x.state?.failedLoads.length || (frameless && !x.state)))) || Date.now() > deadline) return r;
    await page.waitForTimeout(200);
  }
}

/** One line per panel for a failure message. */
export function describePanels(results) {
  return results.map(({ panel, state, problem, host }) => `  ${problem ? 'FAIL' : 'ok  '} ${panel.tab}${problem ? `: ${problem}; shows "${state?.text ?? '<no frame>'}"` : ''}`
    + (problem && !state && host ? ` (its webview host frame on screen: content frame ${host.content ?? '?'}, service worker ${host.controller ?? host.error})` : '')).join('\n');
}
