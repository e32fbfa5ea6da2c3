/**
 * Diagnostics of `*.circuit.json` files: structural problems from the parser and semantic ones from the
 * spec's model (missing model, layer or head out of range, unknown hook, multi-token answer, prompt too
 * long). The JSON schema's own checks come from VS Code's JSON support.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { validateSpec } from '../../engine/spec/validate';
import type { SpecProblem } from '../../engine/spec/types';
import { ModelFactsCache, resolveModelRef } from './model-ref';
import { SpecDocuments, isSpecDocument, toRange } from './spec-documents';

export class SpecDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('circuitLens');
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Quick-fix replacements by document and diagnostic (diagnostics reach code actions as copies). */
  private readonly suggestions = new Map<string, Map<string, string>>();
  private readonly disposables: vscode.Disposable[] = [this.collection];

  constructor(private readonly docs: SpecDocuments, private readonly facts: ModelFactsCache, private readonly defaultModel: () => string | undefined) {
    this.disposables.push(
      vscode.workspace.onDidOpenTextDocument((d) => this.schedule(d, 0)),
      vscode.workspace.onDidChangeTextDocument((e) => this.schedule(e.document, 300)),
      vscode.workspace.onDidCloseTextDocument((d) => {
        this.collection.delete(d.uri);
        this.suggestions.delete(d.uri.toString());
      }),
    );
    for (const d of vscode.workspace.textDocuments) this.schedule(d, 0);
  }

  private schedule(doc: vscode.TextDocument, delayMs: number): void {
    if (!isSpecDocument(doc)) return;
    const key = doc.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.set(key, setTimeout(() => {
      this.timers.delete(key);
      this.update(doc);
    }, delayMs));
  }

  /** Recomputes a document's diagnostics now. */
  update(doc: vscode.TextDocument): vscode.Diagnostic[] {
    const { spec, problems } = this.docs.get(doc);
    const all: SpecProblem[] = [...problems];
    const suggestions = new Map<string, string>();
    const modelValue = spec.model?.value ?? this.defaultModel();
    if (modelValue) {
      const result = this.facts.get(resolveModelRef(modelValue, path.dirname(doc.uri.fsPath)));
      if ('error' in result) {
        all.push({ severity: 'error', message: `model: ${result.error}`, range: spec.model?.range ?? { offset: 0, length: 1 } });
      } else {
        all.push(...validateSpec(spec, result.facts));
      }
    } else {
      all.push({ severity: 'warning', message: 'no "model" given and circuitLens.defaultModel is empty: runs use the bundled "demo" model.', range: { offset: 0, length: 1 } });
    }
    const diags = all.map((p) => {
      const d = new vscode.Diagnostic(toRange(doc, p.range), p.message, p.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
      d.source = 'Circuit Lens';
      if (p.suggestion) suggestions.set(suggestionKey(d), p.suggestion);
      return d;
    });
    this.suggestions.set(doc.uri.toString(), suggestions);
    this.collection.set(doc.uri, diags);
    return diags;
  }

  suggestionFor(uri: vscode.Uri, d: vscode.Diagnostic): string | undefined {
    return this.suggestions.get(uri.toString())?.get(suggestionKey(d));
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    for (const d of this.disposables) d.dispose();
  }
}

function suggestionKey(d: vscode.Diagnostic): string {
  return `${d.range.start.line}:${d.range.start.character}|${d.message}`;
}
