/**
 * Diagnostics of `*.circuit.json` files: structural problems from the parser and semantic ones from the
 * spec's model (missing model, layer or head out of range, unknown hook, multi-token answer, prompt too
 * long), all computed by the worker's runner (`spec/check`): this thread never opens a checkpoint or
 * builds a tokenizer. Requests are debounced per document, and a newer edit cancels the older request.
 * The JSON schema's own checks come from VS Code's JSON support.
 */
import * as vscode from 'vscode';
import type { RunnerClient } from '../../client/runner-client';
import { isCircuitLensError } from '../../protocol/errors';
import type { SpecProblemInfo } from '../../protocol/runner';
import { isSpecDocument, toRange } from './spec-documents';

export class SpecDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('circuitLens');
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly inFlight = new Map<string, AbortController>();
  /** Quick-fix replacements by document and diagnostic (diagnostics reach code actions as copies). */
  private readonly suggestions = new Map<string, Map<string, string>>();
  private readonly disposables: vscode.Disposable[] = [this.collection];

  constructor(private readonly client: RunnerClient, private readonly defaultModel: () => string | undefined, private readonly log: vscode.LogOutputChannel) {
    this.disposables.push(
      vscode.workspace.onDidOpenTextDocument((d) => this.schedule(d, 0)),
      vscode.workspace.onDidChangeTextDocument((e) => this.schedule(e.document, 300)),
      vscode.workspace.onDidCloseTextDocument((d) => {
        const key = d.uri.toString();
        clearTimeout(this.timers.get(key));
        this.inFlight.get(key)?.abort();
        this.collection.delete(d.uri);
        this.suggestions.delete(key);
      }),
    );
    for (const d of vscode.workspace.textDocuments) this.schedule(d, 0);
  }

  /** Checks the open specs again (trust or the default model changed). */
  refreshAll(): void {
    for (const d of vscode.workspace.textDocuments) this.schedule(d, 0);
  }

  private schedule(doc: vscode.TextDocument, delayMs: number): void {
    if (!isSpecDocument(doc)) return;
    const key = doc.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.set(key, setTimeout(() => {
      this.timers.delete(key);
      this.check(doc).catch((e: unknown) => {
        if (!isCircuitLensError(e) || e.code !== 'CANCELLED') this.log.warn(`Could not check ${vscode.workspace.asRelativePath(doc.uri)}: ${(e as Error).message}`);
      });
    }, delayMs));
  }

  /** Checks a document now (cancelling an older check of it) and publishes its diagnostics. */
  async check(doc: vscode.TextDocument): Promise<vscode.Diagnostic[]> {
    const key = doc.uri.toString();
    this.inFlight.get(key)?.abort();
    const abort = new AbortController();
    this.inFlight.set(key, abort);
    const version = doc.version;
    let problems: SpecProblemInfo[];
    try {
      problems = await this.client.request('spec/check', { spec: { text: doc.getText(), path: doc.uri.fsPath }, defaultModel: this.defaultModel() }, { signal: abort.signal });
    } finally {
      if (this.inFlight.get(key) === abort) this.inFlight.delete(key);
    }
    const suggestions = new Map<string, string>();
    const diags = problems.map((p) => {
      const d = new vscode.Diagnostic(toRange(doc, p.range), p.message, p.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
      d.source = 'Circuit Lens';
      if (p.suggestion) suggestions.set(suggestionKey(d), p.suggestion);
      return d;
    });
    // An edit since the request started makes its ranges stale: the newer check publishes instead.
    if (doc.version === version && !doc.isClosed) {
      this.suggestions.set(key, suggestions);
      this.collection.set(doc.uri, diags);
    }
    return diags;
  }

  suggestionFor(uri: vscode.Uri, d: vscode.Diagnostic): string | undefined {
    return this.suggestions.get(uri.toString())?.get(suggestionKey(d));
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    for (const a of this.inFlight.values()) a.abort();
    for (const d of this.disposables) d.dispose();
  }
}

function suggestionKey(d: vscode.Diagnostic): string {
  return `${d.range.start.line}:${d.range.start.character}|${d.message}`;
}
