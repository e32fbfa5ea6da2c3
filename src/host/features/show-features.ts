/**
 * Circuit Lens: Show Features. Traces a spec prompt (the one named, else the one under the cursor, else
 * the first) with the spec's dictionaries and those of the circuitLens.saes setting attached, opens the
 * Features panel on it (token x feature table, feature cards) and gives the spec's feature hover the run.
 * Cards read the feature index of circuitLens.featureIndex and the labels of circuitLens.featureLabels,
 * the dictionary folder's and the spec folder's feature-labels.json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseSpec } from '../../engine/spec/parse';
import type { PromptSpec } from '../../engine/spec/types';
import type { FeatureCard } from '../../protocol/features';
import type { FeaturesPayload, PanelSource } from '../../protocol/panels';
import type { SaeRef } from '../../protocol/runner';
import { reportError, withCancellableProgress } from '../errors';
import { fromSlice, type FeatureHovers } from '../inline/feature-hover';
import type { ShowFeaturesArgs } from '../inline/feature-hover-text';
import type { ModelSession } from '../model-session';
import type { PanelManager } from '../panels/panel-manager';
import type { Settings } from '../settings';
import { isSpecDocument } from '../spec/spec-documents';
import { requireTrust } from '../trust';

export interface FeaturesDeps {
  session: ModelSession;
  panels: PanelManager;
  hovers: FeatureHovers;
  log: vscode.LogOutputChannel;
  settings: () => Settings;
}

/** Columns of the table, features per token, logit tokens per hover list. */
const COLUMNS = 24;
const PER_TOKEN = 5;
const HOVER_LOGITS = 5;

/** The link's argument, checked (it comes from a hover the user clicked, or from another extension). */
function parseArgs(x: unknown): Partial<ShowFeaturesArgs> {
  if (typeof x !== 'object' || x === null) return {};
  const a = x as Record<string, unknown>;
  return {
    ...(typeof a.specUri === 'string' ? { specUri: a.specUri } : {}),
    ...(typeof a.prompt === 'string' ? { prompt: a.prompt } : {}),
    ...(typeof a.hook === 'string' ? { hook: a.hook } : {}),
    ...(Number.isInteger(a.feature) && (a.feature as number) >= 0 ? { feature: a.feature as number } : {}),
  };
}

/** A path from a setting: absolute, or relative to the first workspace folder. */
function fromWorkspace(p: string): string {
  const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file');
  return path.isAbsolute(p) || !folder ? p : path.join(folder.uri.fsPath, p);
}

export class FeaturesView {
  constructor(private readonly d: FeaturesDeps) {}

  private labelFiles(specPath: string): string[] {
    const own = path.join(path.dirname(specPath), 'feature-labels.json');
    return [...this.d.settings().featureLabels.map(fromWorkspace), ...(fs.existsSync(own) ? [own] : [])];
  }

  async show(raw?: unknown): Promise<FeaturesPayload | undefined> {
    if (!requireTrust()) return undefined;
    const arg = parseArgs(raw);
    try {
      const editor = vscode.window.activeTextEditor;
      const doc = arg.specUri ? await vscode.workspace.openTextDocument(vscode.Uri.parse(arg.specUri)) : editor && isSpecDocument(editor.document) ? editor.document : undefined;
      if (!doc) {
        void vscode.window.showWarningMessage('Circuit Lens: open a *.circuit.json spec and put the cursor in a prompt to show its features.');
        return undefined;
      }
      const text = doc.getText();
      const { spec } = parseSpec(text);
      const cursor = editor?.document === doc ? doc.offsetAt(editor.selection.active) : -1;
      const within = (p: PromptSpec) => cursor >= p.text.range.offset && cursor <= p.text.range.offset + p.text.range.length;
      const prompt = arg.prompt !== undefined ? spec.prompts.find((p) => p.name.value === arg.prompt) : spec.prompts.find(within) ?? spec.prompts[0];
      if (!prompt) {
        void vscode.window.showWarningMessage(`Circuit Lens: ${path.basename(doc.uri.fsPath)} has no prompt${arg.prompt !== undefined ? ` named ${JSON.stringify(arg.prompt)}` : ''}.`);
        return undefined;
      }
      const s = this.d.settings();
      const saes: SaeRef[] = s.saes.map((p) => ({ path: fromWorkspace(p) }));
      const labelFiles = this.labelFiles(doc.uri.fsPath);
      const client = this.d.session.client;
      const r = await withCancellableProgress(`Circuit Lens: features of ${prompt.name.value}`, (signal, report) => client.request('features/top', {
        spec: { text, path: doc.uri.fsPath }, defaultModel: s.defaultModel || 'demo', input: { text: prompt.text.value }, saes, labelFiles,
        slice: { ...(arg.hook ? { hook: arg.hook } : {}), columns: COLUMNS, k: PER_TOKEN, labelFiles },
      }, { signal, onEvent: (e) => report(e.message) }));
      this.d.hovers.setRun(doc.uri, prompt.name.value, fromSlice(r, prompt.text.value, (ids) => client.request('features/logits', { runId: r.runId, hook: r.hook, features: ids, logits: HOVER_LOGITS })));
      const source: PanelSource = { kind: 'spec', specUri: doc.uri.toString(), specName: path.basename(doc.uri.fsPath), analysisIndex: -1, analysisTitle: prompt.name.value, promptName: prompt.name.value };
      const focus = arg.feature ?? r.columns[0];
      this.d.log.info(`Features of ${source.specName} › ${prompt.name.value}: ${r.tokens.length} tokens, dictionary at ${r.hook} (${r.dSae} features)`);
      return (await this.d.panels.show(source, 'features', Promise.resolve({
        runId: r.runId, model: r.model, slice: { kind: 'features', hook: r.hook, columns: COLUMNS, k: PER_TOKEN, labelFiles }, ...(focus !== undefined ? { focus } : {}),
      }))) as FeaturesPayload;
    } catch (e) {
      reportError(this.d.log, e, arg.specUri ? { specUri: vscode.Uri.parse(arg.specUri) } : {});
      return undefined;
    }
  }

  /** A card for the panel: the index and labels the settings name. */
  card(runId: number, hook: string, feature: number, source: PanelSource): Promise<FeatureCard> {
    const index = this.d.settings().featureIndex;
    const labelFiles = source.kind === 'spec' ? this.labelFiles(vscode.Uri.parse(source.specUri).fsPath) : this.d.settings().featureLabels.map(fromWorkspace);
    return this.d.session.client.request('features/card', { runId, hook, feature, labelFiles, ...(index ? { featureIndex: fromWorkspace(index) } : {}) });
  }
}
