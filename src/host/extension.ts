/**
 * Circuit Lens in VS Code. activate() only wires the parts together; each part is a disposable in
 * context.subscriptions. Returns a small API the integration tests (and other extensions) can read.
 */
import * as vscode from 'vscode';
import type { PanelPayload } from '../protocol/panels';
import { AnalysisRunner } from './analysis-runner';
import { registerCommands } from './commands';
import { EngineSession } from './engine-session';
import { InlineView } from './inline/inline-view';
import { PanelManager } from './panels/panel-manager';
import { PROMPT_SCHEME, PromptDocuments, revealSpec, revealToken } from './reveal';
import { readSettings } from './settings';
import { registerSpecCodeLenses } from './spec/codelens';
import { SpecDiagnostics } from './spec/diagnostics';
import { registerSpecQuickFixes } from './spec/quick-fixes';
import { ModelFactsCache } from './spec/model-ref';
import { SpecDocuments, isSpecDocument } from './spec/spec-documents';
import { StatusBar } from './status-bar';
import { isTrusted, onDidGrantTrust, requireTrust } from './trust';

export interface CircuitLensApi {
  /** Payloads of the open panels. */
  panelPayloads(): PanelPayload[];
  /** Spec editors with inline activations, by document uri: how many prompts are decorated. */
  inlineDecorations(): Map<string, number>;
  /** The model that is open or being opened, if any. */
  loadedModel(): string | undefined;
  /** Runs whose activation caches are kept for open panels, and their bytes. */
  keptRuns(): { runs: number; bytes: number };
}

export function activate(context: vscode.ExtensionContext): CircuitLensApi {
  const subs = context.subscriptions;
  const log = vscode.window.createOutputChannel('Circuit Lens', { log: true });
  subs.push(log);
  const session = new EngineSession(context.extensionUri, readSettings, log);
  const status = new StatusBar();
  subs.push(session, status, session.onDidChangeModel((m) => status.setModel(m)));

  const docs = new SpecDocuments();
  const facts: ModelFactsCache = new ModelFactsCache(session.bundledModelsDir, (dir) => isTrusted() || facts.isBundled(dir));
  const diagnostics = new SpecDiagnostics(docs, facts, () => readSettings().defaultModel || undefined);
  const inline = new InlineView(docs, readSettings().inlineActivations);
  const prompts = new PromptDocuments();
  subs.push(diagnostics, inline, registerSpecCodeLenses(docs), registerSpecQuickFixes(diagnostics), vscode.workspace.registerTextDocumentContentProvider(PROMPT_SCHEME, prompts));

  let runner: AnalysisRunner | undefined;
  const panels = new PanelManager(context.extensionUri, {
    revealToken: (payload, pos) => void revealToken(prompts, payload, pos),
    revealSpec: (source) => void revealSpec(source, prompts),
    rerun: (source, view) => requireTrust() && void runner?.rerun(source, view),
    setTarget: (source, text) => source.kind === 'prompt' && requireTrust() && void runner?.tracePrompt(source.model, source.prompt, text, 'logitLens'),
    openHead: (source, layer, head) => requireTrust() && void runner?.openHead(source, layer, head),
  }, log);
  subs.push(panels);
  runner = new AnalysisRunner({ session, panels, inline, status, log, settings: readSettings, docs, diagnostics });
  subs.push(runner, ...registerCommands({ extensionUri: context.extensionUri, session, runner, inline, log, settings: readSettings }));
  subs.push(vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration('circuitLens.inlineActivations')) inline.setEnabled(readSettings().inlineActivations);
  }));
  // Trust makes the workspace's restricted settings (circuitLens.defaultModel) count: check the open specs again.
  subs.push(onDidGrantTrust(() => vscode.workspace.textDocuments.filter(isSpecDocument).forEach((d) => diagnostics.update(d))));
  log.info('Circuit Lens activated.');
  return { panelPayloads: () => panels.payloads(), inlineDecorations: () => inline.decorationCounts(), loadedModel: () => session.model, keptRuns: () => runner.keptRuns() };
}

