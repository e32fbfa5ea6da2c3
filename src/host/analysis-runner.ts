/**
 * Runs what the commands ask for: a prompt traced from the palette, or the analyses of a spec. Each run
 * opens (or reuses) the model under a cancellable progress notification, traces each prompt once, and
 * sends the results to the panels, the inline view and the status bar.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { promptOf } from '../engine/spec/parse';
import type { AttentionAnalysis, LogitLensAnalysis, PromptSpec } from '../engine/spec/types';
import { runCircuitAnalysis } from '../engine/analysis/run-circuit';
import type { PanelPayload, PanelSource, PanelView } from '../protocol/panels';
import { assertNever } from '../protocol/assert';
import type { Engine } from '../worker/engine';
import type { EngineSession } from './engine-session';
import { reportError, withCancellableProgress } from './errors';
import type { InlineView } from './inline/inline-view';
import type { PanelManager } from './panels/panel-manager';
import { tokenInsights } from './run/inline-data';
import { attentionPayload, logitLensPayload } from './run/payloads';
import { PromptRun, retarget, runPrompt } from './run/prompt-run';
import { RunStore, runKey } from './run/run-store';
import type { Settings } from './settings';
import type { SpecDiagnostics } from './spec/diagnostics';
import { resolveModelRef } from './spec/model-ref';
import type { SpecDocuments } from './spec/spec-documents';
import type { StatusBar } from './status-bar';

export interface RunnerDeps {
  session: EngineSession;
  panels: PanelManager;
  inline: InlineView;
  status: StatusBar;
  log: vscode.LogOutputChannel;
  settings: () => Settings;
  docs: SpecDocuments;
  diagnostics: SpecDiagnostics;
}

export class AnalysisRunner implements vscode.Disposable {
  /** Runs whose panels are open, kept to re-colour a lens or open a head without running the model. */
  private readonly store = new RunStore(() => this.d.settings().keptRunsMemoryMB * 2 ** 20);
  private readonly closing: vscode.Disposable;

  constructor(private readonly d: RunnerDeps) {
    this.closing = d.panels.onDidClosePanel((key) => this.store.release(key));
  }

  /** Runs kept for open panels, and their bytes. */
  keptRuns(): { runs: number; bytes: number } {
    return this.store.usage();
  }

  dispose(): void {
    this.closing.dispose();
  }

  /** Shows a payload; the panel holds `run` (or, for a circuit analysis, releases what it held). */
  private show(payload: PanelPayload, preserveFocus: boolean, kept?: { key: string; run: PromptRun }): void {
    const panel = this.d.panels.show(payload, preserveFocus);
    if (kept) this.store.hold(panel, kept.key, kept.run);
    else this.store.release(panel);
  }

  private decode(engine: Engine): (id: number) => string {
    const tok = engine.ckpt.tokenizer;
    return (id) => (tok ? tok.decode([id]) : `<${id}>`);
  }

  /** The run of `prompt` on the model opened as `modelRef`: a kept one (re-targeted when needed), else a new trace. */
  private async trace(engine: Engine, modelRef: string, prompt: string, target: string | undefined, signal: AbortSignal): Promise<PromptRun> {
    const kept = this.store.get(runKey(modelRef, prompt));
    if (kept) {
      const run = await retarget(engine, kept, target, { signal });
      this.d.log.info(`Reused the kept run of ${run.tokens.length} tokens on ${run.model}${run === kept ? '' : `; lens re-coloured in ${run.ms.toFixed(0)} ms`}`);
      return run;
    }
    const s = this.d.settings();
    const run = await runPrompt(engine, prompt, { target, signal, maxTokens: s.maxPromptTokens, maxCacheBytes: s.cacheMemoryLimitMB * 2 ** 20 });
    this.d.log.info(`Traced ${run.tokens.length} tokens on ${run.model} in ${run.ms.toFixed(0)} ms (forward ${run.trace.runMs.toFixed(0)} ms, cache ${(run.trace.cache.byteSize() / 2 ** 20).toFixed(1)} MB)`);
    this.d.status.setLastRun(run.ms);
    return run;
  }

  /** Traces a prompt typed in the palette and opens its attention and logit-lens panels (`active` in front). */
  async tracePrompt(model: string, prompt: string, target?: string, active: PanelView = 'attention'): Promise<PanelPayload[] | undefined> {
    try {
      return await withCancellableProgress(`Circuit Lens: tracing on ${path.basename(model)}`, async (signal, report) => {
        report('loading the model…');
        const engine = await this.d.session.open(model, signal);
        report('running…');
        const run = await this.trace(engine, model, prompt, target, signal);
        if (target !== undefined && run.targetId === undefined) {
          void vscode.window.showWarningMessage(`Circuit Lens: ${JSON.stringify(target)} is not a single token of ${run.model}; the lens is coloured by the top token.`);
        }
        const source: PanelSource = { kind: 'prompt', model, prompt, ...(run.targetId !== undefined ? { target } : {}) };
        const layers = Array.from({ length: engine.ckpt.config.nLayers }, (_, l) => l);
        const payloads: PanelPayload[] = [logitLensPayload(run, source, this.decode(engine), run.targetId !== undefined ? target : undefined), attentionPayload(run, source, layers, { layer: 0, head: 0 })];
        const kept = { key: runKey(model, prompt), run };
        for (const p of payloads) if (p.view !== active) this.show(p, false, kept);
        for (const p of payloads) if (p.view === active) this.show(p, false, kept);
        return payloads;
      });
    } catch (e) {
      reportError(this.d.log, e);
      return undefined;
    }
  }

  /** Runs the analyses of a spec (all, or the one at `only`) and shows each in its panel. */
  async runSpec(uri: vscode.Uri, only?: number): Promise<PanelPayload[] | undefined> {
    try {
      const doc = await vscode.workspace.openTextDocument(uri);
      const errors = this.d.diagnostics.update(doc).filter((x) => x.severity === vscode.DiagnosticSeverity.Error);
      if (errors.length > 0) {
        const first = errors[0];
        void vscode.window.showErrorMessage(`Circuit Lens: ${path.basename(uri.fsPath)} has ${errors.length} problem${errors.length > 1 ? 's' : ''}; first, line ${first.range.start.line + 1}: ${first.message}`, 'Open Spec', 'Show Problems').then((choice) => {
          if (choice === 'Open Spec') void vscode.window.showTextDocument(doc, { selection: first.range });
          else if (choice === 'Show Problems') void vscode.commands.executeCommand('workbench.actions.view.problems');
        });
        return undefined;
      }
      const { spec } = this.d.docs.get(doc);
      const analyses = spec.analyses.filter((a) => only === undefined || a.index === only);
      if (analyses.length === 0) {
        void vscode.window.showWarningMessage(`Circuit Lens: ${path.basename(uri.fsPath)} has no analysis to run${only !== undefined ? ` at index ${only}` : ''}.`);
        return undefined;
      }
      const modelValue = spec.model?.value ?? (this.d.settings().defaultModel || 'demo');
      const modelRef = resolveModelRef(modelValue, path.dirname(uri.fsPath));
      const specName = path.basename(uri.fsPath);
      return await withCancellableProgress(`Circuit Lens: ${specName}`, async (signal, report) => {
        report('loading the model…');
        const engine = await this.d.session.open(modelRef, signal);
        const runs = new Map<string, PromptRun>();
        const payloads: PanelPayload[] = [];
        for (const a of analyses) {
          const prompt = promptOf(spec, a);
          if (!prompt) continue;
          const source: PanelSource = { kind: 'spec', specUri: uri.toString(), specName, analysisIndex: a.index, analysisTitle: a.title };
          if (a.kind !== 'attention' && a.kind !== 'logitLens') {
            report(`${a.title}…`);
            const output = await runCircuitAnalysis({ runner: engine, prompts: spec.prompts, signal, onProgress: (done, total) => report(`${a.title}: run ${done} of ${total}`) }, a);
            const payload: PanelPayload = { view: 'analysis', source, model: engine.ckpt.name, output };
            this.show(payload, payloads.length > 0);
            payloads.push(payload);
            continue;
          }
          const target = a.kind === 'logitLens' ? a.target?.value ?? prompt.answer?.value : prompt.answer?.value;
          const key = `${prompt.name.value}|${target ?? ''}`;
          report(`${a.title} on ${prompt.name.value}…`);
          let run = runs.get(key);
          if (!run) {
            run = await this.trace(engine, modelRef, prompt.text.value, target, signal);
            runs.set(key, run);
            this.showInline(uri, prompt, run, engine);
          }
          const payload = this.payloadFor(a, run, source, engine, target);
          this.show(payload, payloads.length > 0, { key: runKey(modelRef, prompt.text.value), run });
          payloads.push(payload);
        }
        return payloads;
      });
    } catch (e) {
      reportError(this.d.log, e, { specUri: uri });
      return undefined;
    }
  }

  private payloadFor(a: AttentionAnalysis | LogitLensAnalysis, run: PromptRun, source: PanelSource, engine: Engine, target: string | undefined): PanelPayload {
    switch (a.kind) {
      case 'attention': {
        const all = Array.from({ length: engine.ckpt.config.nLayers }, (_, l) => l);
        const layers = a.layers?.length ? [...new Set(a.layers.map((l) => l.value))].sort((x, y) => x - y) : all;
        const focus = a.focus ? { layer: a.focus.layer.value, head: a.focus.head.value } : { layer: layers[0], head: 0 };
        return attentionPayload(run, source, layers, focus);
      }
      case 'logitLens':
        return logitLensPayload(run, source, this.decode(engine), run.targetId !== undefined ? target : undefined);
      default:
        return assertNever(a, 'analysis kind');
    }
  }

  private showInline(uri: vscode.Uri, prompt: PromptSpec, run: PromptRun, engine: Engine): void {
    this.d.inline.setRun(uri, prompt.name.value, { model: run.model, text: prompt.text.value, tokens: tokenInsights(run, this.decode(engine)) });
  }

  /** Opens the attention panel on one head, for the prompt of the spec analysis behind a circuit panel. */
  async openHead(source: PanelSource, layer: number, head: number): Promise<void> {
    if (source.kind !== 'spec') return;
    const uri = vscode.Uri.parse(source.specUri);
    try {
      const doc = await vscode.workspace.openTextDocument(uri);
      const { spec } = this.d.docs.get(doc);
      const analysis = spec.analyses.find((a) => a.index === source.analysisIndex);
      const prompt = analysis && promptOf(spec, analysis);
      if (!prompt) return;
      const modelRef = resolveModelRef(spec.model?.value ?? (this.d.settings().defaultModel || 'demo'), path.dirname(uri.fsPath));
      await withCancellableProgress(`Circuit Lens: head ${layer}.${head}`, async (signal) => {
        const engine = await this.d.session.open(modelRef, signal);
        const run = await this.trace(engine, modelRef, prompt.text.value, prompt.answer?.value, signal);
        const all = Array.from({ length: engine.ckpt.config.nLayers }, (_, l) => l);
        this.show(attentionPayload(run, source, all, { layer, head }), false, { key: runKey(modelRef, prompt.text.value), run });
      });
    } catch (e) {
      reportError(this.d.log, e, { specUri: uri });
    }
  }

  /** Repeats the run behind a panel (a revived panel's "Run again"). */
  async rerun(source: PanelSource, view: PanelView): Promise<void> {
    this.d.panels.busy(source, view, 'Running again…');
    if (source.kind === 'spec') await this.runSpec(vscode.Uri.parse(source.specUri), source.analysisIndex);
    else await this.tracePrompt(source.model, source.prompt, source.target, view);
  }
}
