/**
 * Circuit Lens in VS Code. activate() only wires the parts together; each part is a disposable in
 * context.subscriptions. Returns a small API the integration tests (and other extensions) can read.
 */
import * as vscode from 'vscode';
import type { PanelPayload } from '../protocol/panels';
import { AnalysisRunner } from './analysis-runner';
import { registerCommands } from './commands';
import { ModelSession } from './model-session';
import { InlineView } from './inline/inline-view';
import { FeatureHovers } from './inline/feature-hover';
import { FeaturesView } from './features/show-features';
import { PanelManager } from './panels/panel-manager';
import { PROMPT_SCHEME, PromptDocuments, revealSpec, revealToken } from './reveal';
import { readSettings } from './settings';
import { registerSpecCodeLenses } from './spec/codelens';
import { SpecDiagnostics } from './spec/diagnostics';
import { registerSpecQuickFixes } from './spec/quick-fixes';
import { SpecDocuments } from './spec/spec-documents';
import { StatusBar } from './status-bar';
import { ClaimRunner } from './testing/claim-runner';
import { type ClaimItemInfo, ClaimTests } from './testing/claim-tests';
import type { StoredResult } from './testing/result-cache';
import { onDidGrantTrust, requireTrust } from './trust';

export interface CircuitLensApi {
  /** Payloads of the open panels. */
  panelPayloads(): PanelPayload[];
  /** Spec editors with inline activations, by document uri: how many prompts are decorated. */
  inlineDecorations(): Map<string, number>;
  /** The model that is open or being opened, if any. */
  loadedModel(): string | undefined;
  /** Runs whose activation caches are kept for open panels, and the bytes of all kept runs. */
  keptRuns(): Promise<{ runs: number; bytes: number }>;
  /** Whether the engine's worker thread is running. */
  workerStarted(): boolean;
  /** The Test Explorer's claim items (once the workspace's specs are found) and the last result of each, by item id. */
  claimTests(): Promise<{ items: ClaimItemInfo[]; results: Map<string, StoredResult> }>;
  /** Runs every claim of the workspace through the Test Explorer's run profile. */
  runClaimTests(): Promise<void>;
}

export function activate(context: vscode.ExtensionContext): CircuitLensApi {
  const subs = context.subscriptions;
  const log = vscode.window.createOutputChannel('Circuit Lens', { log: true });
  subs.push(log);
  const session = new ModelSession(context.extensionUri, readSettings, log);
  const status = new StatusBar();
  subs.push(session, status, session.onDidChangeModel((m) => status.setModel(m)));

  const docs = new SpecDocuments();
  const diagnostics = new SpecDiagnostics(session.client, () => readSettings().defaultModel || undefined, log);
  const inline = new InlineView(docs, readSettings().inlineActivations);
  const prompts = new PromptDocuments();
  subs.push(diagnostics, inline, registerSpecCodeLenses(docs), registerSpecQuickFixes(diagnostics), vscode.workspace.registerTextDocumentContentProvider(PROMPT_SCHEME, prompts));

  const featureHovers = new FeatureHovers(docs, () => inline.isEnabled);
  subs.push(featureHovers);
  let features: FeaturesView | undefined;
  let runner: AnalysisRunner | undefined;
  const panels = new PanelManager(context.extensionUri, {
    revealToken: (payload, pos) => void revealToken(prompts, payload, pos),
    revealSpec: (source) => void revealSpec(source, prompts),
    rerun: (source, view) => requireTrust() && void (view === 'features' && source.kind === 'spec' ? features?.show({ specUri: source.specUri, prompt: source.promptName }) : runner?.rerun(source, view)),
    openHead: (source, layer, head) => requireTrust() && void runner?.openHead(source, layer, head),
    slice: (runId, slice) => session.client.request('run/slice', { runId, slice }),
    release: (runId) => void session.client.request('run/release', { runId }).catch(() => undefined),
    featureCard: (runId, hook, feature, source) => features!.card(runId, hook, feature, source),
  }, log);
  features = new FeaturesView({ session, panels, hovers: featureHovers, log, settings: readSettings });
  subs.push(vscode.commands.registerCommand('circuitLens.showFeatures', (arg?: unknown) => features!.show(arg)));
  subs.push(panels);
  const analyses = new AnalysisRunner({ session, panels, inline, status, log, settings: readSettings, diagnostics, featureHovers });
  runner = analyses;
  subs.push(...registerCommands({ extensionUri: context.extensionUri, session, runner: analyses, inline, log, settings: readSettings }));
  const claims = new ClaimTests(context.workspaceState, new ClaimRunner({ session, settings: readSettings, log }), log);
  subs.push(claims);
  void claims.discover(); // lists the claims and shows their kept results without waiting for the Testing view
  subs.push(vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration('circuitLens.inlineActivations')) inline.setEnabled(readSettings().inlineActivations);
    if (e.affectsConfiguration('circuitLens')) session.reconfigure();
    if (e.affectsConfiguration('circuitLens.defaultModel')) diagnostics.refreshAll();
  }));
  // Trust lets the worker load workspace tokenizers and makes the workspace's restricted settings
  // (circuitLens.defaultModel) count: check the open specs again.
  subs.push(onDidGrantTrust(() => {
    session.reconfigure();
    diagnostics.refreshAll();
  }));
  log.info('Circuit Lens activated.');
  return {
    panelPayloads: () => panels.payloads(), inlineDecorations: () => inline.decorationCounts(), loadedModel: () => session.model,
    keptRuns: () => analyses.keptRuns(), workerStarted: () => session.client.started,
    claimTests: () => claims.snapshot(), runClaimTests: () => claims.runAll(),
  };
}

