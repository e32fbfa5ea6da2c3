/**
 * Runs what the commands ask for: a prompt traced from the palette, or the analyses of a spec. Every
 * run is a request to the worker's runner (the same ones the CLI makes); this module opens the panels
 * at once, gives each the run it will show when that run is done, and feeds the inline view and the
 * status bar. Nothing here touches a tensor.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { datasetOf, parseSpec, promptOf } from '../engine/spec/parse';
import type { ExperimentSpec } from '../engine/spec/types';
import { specModelRef } from '../engine/spec/model-ref';
import { CircuitLensError, isCircuitLensError } from '../protocol/errors';
import type { PanelPayload, PanelSource, PanelView } from '../protocol/panels';
import { ModelRef, VIEW_HOOKS } from '../protocol/runner';
import type { SpecDiagnostics } from './spec/diagnostics';
import { reportError, withCancellableProgress } from './errors';
import type { InlineView } from './inline/inline-view';
import { type FeatureHovers, fromResult } from './inline/feature-hover';
import type { ModelSession } from './model-session';
import { type Failure, failureReport, scopeErrors, showSharedErrors, unreadAnalysis } from './run-report';
import type { PanelContent, PanelManager } from './panels/panel-manager';
import type { Settings } from './settings';
import type { StatusBar } from './status-bar';

export interface RunnerDeps {
  session: ModelSession;
  panels: PanelManager;
  inline: InlineView;
  status: StatusBar;
  log: vscode.LogOutputChannel;
  settings: () => Settings;
  diagnostics: SpecDiagnostics;
  /** The spec's feature hover, fed by `features` analyses. */
  featureHovers?: FeatureHovers;
}

/** A promise settled later: a panel's content while its run is under way. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** The model of a spec (the worker's rule), with `demo` when neither the spec nor the settings name one. */
export function specModel(spec: ExperimentSpec, specUri: vscode.Uri, defaultModel: string): ModelRef {
  return specModelRef(spec, specUri.fsPath, undefined, defaultModel || 'demo')!;
}

export class AnalysisRunner {
  constructor(private readonly d: RunnerDeps) {}

  private get client() {
    return this.d.session.client;
  }

  /** Runs kept for open panels (their activation caches), and the bytes of all kept runs. */
  keptRuns(): Promise<{ runs: number; bytes: number }> {
    return this.client.request('runs/usage', {});
  }

  /** Traces a prompt typed in the palette and opens its attention and logit-lens panels (`active` in front). */
  async tracePrompt(model: string, prompt: string, target?: string, active: PanelView = 'attention'): Promise<PanelPayload[] | undefined> {
    try {
      return await withCancellableProgress(`Circuit Lens: tracing on ${path.basename(model)}`, async (signal, report) => {
        report('loading the model…');
        const ref: ModelRef = { ref: model };
        await this.d.session.open(ref, signal);
        report('running…');
        const started = performance.now();
        const run = await this.client.request('trace', { model: ref, input: { text: prompt }, hooks: VIEW_HOOKS, keep: true }, { signal });
        await this.client.request('run/hold', { runId: run.runId! }); // two panels show it
        this.d.log.info(`Traced ${run.tokens.length} tokens on ${run.model} in ${(performance.now() - started).toFixed(0)} ms (forward ${run.runMs.toFixed(0)} ms)`);
        this.d.status.setLastRun(performance.now() - started);
        const source: PanelSource = { kind: 'prompt', model, prompt, ...(target !== undefined ? { target } : {}) };
        const contents: Record<'attention' | 'logitLens', PanelContent> = {
          attention: { runId: run.runId!, model: run.model, slice: { kind: 'attention', focus: { layer: 0, head: 0 } } },
          logitLens: { runId: run.runId!, model: run.model, slice: { kind: 'logitLens', ...(target !== undefined ? { target } : {}), topK: 5 } },
        };
        // The active view opens last, so it ends up in front.
        const order = active === 'logitLens' ? (['attention', 'logitLens'] as const) : (['logitLens', 'attention'] as const);
        const shown = order.map((v) => this.d.panels.show(source, v, Promise.resolve(contents[v])));
        return Promise.all(shown);
      });
    } catch (e) {
      reportError(this.d.log, e);
      return undefined;
    }
  }

  /**
   * Runs the analyses of a spec (all, or the one at `only`), each shown in its panel as it finishes.
   * Problems of the file, its model or prompts stop the run; an analysis's own problems stop only it.
   */
  async runSpec(uri: vscode.Uri, only?: number): Promise<PanelPayload[] | undefined> {
    try {
      const doc = await vscode.workspace.openTextDocument(uri);
      const errors = scopeErrors(doc, await this.d.diagnostics.check(doc));
      if (errors.shared.length > 0) {
        showSharedErrors(doc, errors.shared);
        return undefined;
      }
      const text = doc.getText();
      const { spec } = parseSpec(text);
      const analyses = spec.analyses.filter((a) => only === undefined || a.index === only);
      const unread = only === undefined ? [...errors.byAnalysis].filter(([i]) => !spec.analyses.some((a) => a.index === i)).map(([i, ds]) => unreadAnalysis(doc, i, ds)) : [];
      if (analyses.length === 0) {
        if (unread.length) reportError(this.d.log, failureReport(unread, 0), { specUri: uri });
        else void vscode.window.showWarningMessage(`Circuit Lens: ${path.basename(uri.fsPath)} has no analysis to run${only !== undefined ? ` at index ${only}` : ''}.`);
        return undefined;
      }
      const defaultModel = this.d.settings().defaultModel;
      const specName = path.basename(uri.fsPath);
      return await withCancellableProgress(`Circuit Lens: ${specName}`, async (signal, report) => {
        // Every panel opens now and says it is running; each shows its result when its analysis is done.
        const pending = analyses.map((a, i) => {
          const content = deferred<PanelContent>();
          const view: PanelView = a.kind === 'attention' || a.kind === 'logitLens' ? a.kind : 'analysis';
          const source: PanelSource = { kind: 'spec', specUri: uri.toString(), specName, analysisIndex: a.index, analysisTitle: a.title };
          return { a, content, payload: this.d.panels.show(source, view, content.promise, i > 0) };
        });
        report('loading the model…');
        try {
          await this.d.session.open(specModel(spec, uri, defaultModel), signal);
        } catch (e) {
          for (const p of pending) p.content.reject(e);
          throw e;
        }
        const failures: Failure[] = [...unread];
        let ran = 0;
        let checkedSaes = false;
        for (const p of pending) {
          if (signal.aborted) {
            p.content.reject(new CircuitLensError({ code: 'CANCELLED', message: 'Cancelled.' }));
            continue;
          }
          report(`${p.a.title}…`);
          try {
            // The worker refuses an analysis with problems of its own (its panel shows them); the others run.
            const r = await this.client.request('analysis/run', { spec: { text, path: uri.fsPath }, analysis: p.a.index, defaultModel: defaultModel || 'demo' }, {
              signal, onEvent: (e) => report(e.message),
            });
            if (r.features) this.d.inline.setFeatures(uri, r.prompt.name, { model: r.model, text: r.prompt.text, features: r.features });
            p.content.resolve({ runId: r.runId, slice: r.slice, model: r.model });
            if (r.inline) this.d.inline.setRun(uri, r.prompt.name, { model: r.model, text: r.prompt.text, tokens: r.inline });
            if (r.features) this.d.featureHovers?.setRun(uri, r.prompt.name, fromResult(r.features, r.model, r.prompt.text));
            if (r.tokenValues) this.d.inline.setValues(uri, r.prompt.name, { model: r.model, text: r.prompt.text, values: r.tokenValues });
            this.d.status.setLastRun(r.ms);
            this.d.log.info(`${specName} › ${r.title}: ${r.ms.toFixed(0)} ms`);
            if (r.saeChecks && !checkedSaes) {
              checkedSaes = true;
              for (const c of r.saeChecks) this.d.log.info(`${specName} › self-check of ${c.hook}: FVU ${c.stats.fvu.toPrecision(3)}, cosine ${c.stats.cosine.toPrecision(3)}, L0 ${c.stats.l0.toPrecision(3)}, dead ${(100 * c.stats.deadFraction).toFixed(1)}%${c.loss ? `, CE loss recovered ${c.loss.ceLossScore.toPrecision(3)}` : ''}`);
              // The worker answers spec/check with these checks' warnings on the spec's "saes" entries.
              if (r.saeChecks.some((c) => c.warnings.length || c.processed?.recommended)) void this.d.diagnostics.check(doc).catch(() => undefined);
            }
            ran++;
          } catch (e) {
            p.content.reject(e);
            if (isCircuitLensError(e) && e.code === 'CANCELLED') continue;
            failures.push({ title: p.a.title, error: e });
          }
        }
        const shown = await Promise.allSettled(pending.map((p) => p.payload));
        if (failures.length) reportError(this.d.log, failureReport(failures, ran), { specUri: uri });
        const payloads = shown.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
        return payloads.length ? payloads : undefined;
      });
    } catch (e) {
      reportError(this.d.log, e, { specUri: uri });
      return undefined;
    }
  }

  /** Opens the attention panel on one head, for the prompt of the spec analysis behind a circuit panel. */
  async openHead(source: PanelSource, layer: number, head: number): Promise<void> {
    if (source.kind !== 'spec') return;
    const uri = vscode.Uri.parse(source.specUri);
    try {
      const doc = await vscode.workspace.openTextDocument(uri);
      const text = doc.getText();
      const { spec } = parseSpec(text);
      const analysis = spec.analyses.find((a) => a.index === source.analysisIndex);
      const prompt = analysis && promptOf(spec, analysis);
      const dataset = analysis && datasetOf(analysis);
      if (dataset) {
        void vscode.window.showInformationMessage(`Circuit Lens: "${analysis.title}" ran on dataset "${dataset.value}", and the attention panel shows one prompt: add one to "prompts" and trace it to see head ${layer}.${head}.`);
        return;
      }
      if (!prompt) return;
      const model = specModel(spec, uri, this.d.settings().defaultModel);
      await withCancellableProgress(`Circuit Lens: head ${layer}.${head}`, async (signal) => {
        await this.d.session.open(model, signal);
        const run = await this.client.request('trace', { model, input: { text: prompt.text.value }, hooks: VIEW_HOOKS, keep: true }, { signal });
        await this.d.panels.show(source, 'attention', Promise.resolve({ runId: run.runId!, model: run.model, slice: { kind: 'attention', focus: { layer, head } } }));
      });
    } catch (e) {
      reportError(this.d.log, e, { specUri: uri });
    }
  }

  /** Repeats the run behind a panel (its "Run again"). */
  async rerun(source: PanelSource, view: PanelView): Promise<void> {
    if (source.kind === 'spec') await this.runSpec(vscode.Uri.parse(source.specUri), source.analysisIndex);
    else await this.tracePrompt(source.model, source.prompt, source.target, view);
  }
}
