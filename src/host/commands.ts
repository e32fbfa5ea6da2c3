/**
 * The palette commands (ids in package.json's contributes.commands, category "Circuit Lens"). Those that
 * load a model ask for workspace trust first, before any prompt or quick pick.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseSpec } from '../engine/spec/parse';
import type { AnalysisRunner } from './analysis-runner';
import type { ModelSession } from './model-session';
import { reportError } from './errors';
import type { InlineView } from './inline/inline-view';
import { pickModel } from './models/pick-model';
import type { Settings } from './settings';
import { isSpecDocument } from './spec/spec-documents';
import { requireTrust } from './trust';
import { writeThroughEdit } from './undoable-write';
import { experimentPath } from './experiment-path';
import { chooseTemplatePrompt, fillTemplate } from './new-experiment';

export interface CommandDeps {
  extensionUri: vscode.Uri;
  session: ModelSession;
  runner: AnalysisRunner;
  inline: InlineView;
  log: vscode.LogOutputChannel;
  settings: () => Settings;
}

/** The spec a command acts on: its argument (from a CodeLens), else the active editor's. */
function specUriOf(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  const doc = vscode.window.activeTextEditor?.document;
  return doc && isSpecDocument(doc) ? doc.uri : undefined;
}

export function registerCommands(d: CommandDeps): vscode.Disposable[] {
  const model = async (title: string, preferDefault: boolean): Promise<string | undefined> => {
    const s = d.settings();
    if (preferDefault && (d.session.selected || s.defaultModel)) return d.session.selected ?? s.defaultModel;
    return pickModel({ client: d.session.client, searchPaths: s.modelSearchPaths, current: d.session.selected, title });
  };
  const noSpec = () => vscode.window.showWarningMessage('Circuit Lens: open a *.circuit.json experiment first, or create one.', 'New Experiment')
    .then((c) => c && vscode.commands.executeCommand('circuitLens.newExperiment'));

  return [
    vscode.commands.registerCommand('circuitLens.tracePrompt', async (modelArg?: unknown, promptArg?: unknown, targetArg?: unknown) => {
      if (!requireTrust()) return undefined;
      const ref = typeof modelArg === 'string' ? modelArg : await model('Circuit Lens: model to trace', false);
      if (!ref) return undefined;
      const selection = vscode.window.activeTextEditor?.document.getText(vscode.window.activeTextEditor.selection);
      const prompt = typeof promptArg === 'string' ? promptArg : await vscode.window.showInputBox({
        title: `Circuit Lens: prompt for ${path.basename(ref)}`,
        prompt: 'The text to trace (BOS is prepended)',
        value: selection || 'When Mary and John went to the store, John gave a drink to',
        validateInput: (v) => (v.length === 0 ? 'Type a prompt.' : undefined),
      });
      if (!prompt) return undefined;
      return d.runner.tracePrompt(ref, prompt, typeof targetArg === 'string' ? targetArg : undefined);
    }),

    vscode.commands.registerCommand('circuitLens.selectModel', async (modelArg?: unknown) => {
      if (!requireTrust()) return undefined;
      const ref = typeof modelArg === 'string' ? modelArg : await model('Circuit Lens: select a model', false);
      if (!ref) return undefined;
      try {
        const info = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Loading ${path.basename(ref)}` }, () => d.session.open({ ref }));
        return info.name;
      } catch (e) {
        reportError(d.log, e);
        return undefined;
      }
    }),

    vscode.commands.registerCommand('circuitLens.showHookPoints', async () => {
      const ref = await model('Circuit Lens: show the hook points of', true);
      if (!ref) return;
      try {
        const facts = await d.session.client.request('model/facts', { model: { ref } });
        const fmt = (s: (number | string)[]) => `[${s.join(', ')}]`;
        const picked = await vscode.window.showQuickPick(facts.hooks.map((h) => ({ label: h.name, description: fmt(h.shape), detail: h.needsAttnResult ? 'computed only when requested (per-head results)' : undefined })), {
          title: `${facts.name}: ${facts.hooks.length} hook points (select one to copy its name)`,
          matchOnDescription: true,
        });
        if (!picked) return;
        await vscode.env.clipboard.writeText(picked.label);
        void vscode.window.showInformationMessage(`Copied ${picked.label} ${picked.description}`);
      } catch (e) {
        reportError(d.log, e);
      }
    }),

    vscode.commands.registerCommand('circuitLens.newExperiment', async (uriArg?: unknown) => {
      const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file');
      const defaultUri = folder ? vscode.Uri.joinPath(folder.uri, 'experiment.circuit.json') : undefined;
      const target = uriArg instanceof vscode.Uri ? uriArg
        // The filter's extension is "json": with "circuit.json", the dialog appends it again to a typed "x.circuit.json".
        : await vscode.window.showSaveDialog({ defaultUri, filters: { 'Circuit Lens experiment': ['json'] }, title: 'New Circuit Lens experiment' });
      if (!target) return undefined;
      const uri = target.with({ path: experimentPath(target.path) });
      const template = fs.readFileSync(path.join(d.extensionUri.fsPath, 'media', 'templates', 'experiment.circuit.json'), 'utf8');
      const modelName = d.session.selected ?? (d.settings().defaultModel || 'demo');
      // The model as the new spec will name it; its tokenizer (in the worker) says which answers are one token.
      const model = { ref: modelName, baseDir: path.dirname(uri.fsPath) };
      const prompt = await chooseTemplatePrompt(template, async (answer) => (await d.session.client.request('tokenize', { model, input: { text: answer, bos: false } })).length === 1);
      if (prompt.answer === undefined) d.log.info(`New Experiment: no candidate answer is one token of ${modelName}; the prompt has no "answer".`);
      try {
        await writeThroughEdit(uri, fillTemplate(template, modelName, prompt));
      } catch (e) {
        reportError(d.log, e);
        return undefined;
      }
      await vscode.window.showTextDocument(uri);
      return uri;
    }),

    vscode.commands.registerCommand('circuitLens.runExperiment', async (arg?: unknown) => {
      if (!requireTrust()) return undefined;
      const uri = specUriOf(arg);
      if (!uri) return noSpec();
      return d.runner.runSpec(uri);
    }),

    vscode.commands.registerCommand('circuitLens.runAnalysis', async (arg?: unknown, index?: unknown) => {
      if (!requireTrust()) return undefined;
      const uri = specUriOf(arg);
      if (!uri) return noSpec();
      if (Number.isInteger(index)) return d.runner.runSpec(uri, index as number);
      const doc = await vscode.workspace.openTextDocument(uri);
      const analyses = parseSpec(doc.getText()).spec.analyses;
      const editor = vscode.window.activeTextEditor;
      const cursor = editor?.document === doc ? doc.offsetAt(editor.selection.active) : -1;
      const here = analyses.find((a) => cursor >= a.range.offset && cursor <= a.range.offset + a.range.length);
      if (here) return d.runner.runSpec(uri, here.index);
      const picked = await vscode.window.showQuickPick(analyses.map((a) => ({ label: a.title, description: a.kind, index: a.index })), { title: 'Circuit Lens: run which analysis?' });
      return picked && d.runner.runSpec(uri, picked.index);
    }),

    vscode.commands.registerCommand('circuitLens.toggleInlineActivations', async () => {
      const on = !d.inline.isEnabled;
      d.inline.setEnabled(on);
      void vscode.window.setStatusBarMessage(`Circuit Lens: inline activations ${on ? 'on' : 'off'}`, 3000);
    }),
  ];
}
