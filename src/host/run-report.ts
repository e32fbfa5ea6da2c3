/**
 * What Run Experiment says about a spec's problems and its failed analyses. Problems shared by every
 * analysis (the file, its model, prompts, cache) stop the run before it starts, with one message; an
 * analysis's own problems stop only that analysis (its panel shows the worker's error), and the run's
 * report names every analysis that failed.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { analysisField, scopeProblems } from '../engine/spec/problem-scope';
import type { ScopedProblems } from '../engine/spec/problem-scope';
import { CircuitLensError, errorInfoOf } from '../protocol/errors';

/** A spec's error diagnostics in file order, split into those every analysis shares and each analysis's own. */
export function scopeErrors(doc: vscode.TextDocument, diagnostics: readonly vscode.Diagnostic[]): ScopedProblems<vscode.Diagnostic> {
  const errors = diagnostics.filter((d) => d.severity === vscode.DiagnosticSeverity.Error).sort((x, y) => x.range.start.compareTo(y.range.start));
  const located = errors.map((d) => {
    const offset = doc.offsetAt(d.range.start);
    return { d, range: { offset, length: doc.offsetAt(d.range.end) - offset } };
  });
  const scoped = scopeProblems(doc.getText(), located);
  return { shared: scoped.shared.map((x) => x.d), byAnalysis: new Map([...scoped.byAnalysis].map(([i, xs]) => [i, xs.map((x) => x.d)])) };
}

/** Problems that stop every analysis: one message on the first, with the way to it and to the rest. */
export function showSharedErrors(doc: vscode.TextDocument, errors: readonly vscode.Diagnostic[]): void {
  const first = errors[0];
  const count = `${errors.length} problem${errors.length > 1 ? 's' : ''}`;
  void vscode.window.showErrorMessage(`Circuit Lens: ${path.basename(doc.uri.fsPath)} has ${count} that stop${errors.length > 1 ? '' : 's'} every analysis; first, line ${first.range.start.line + 1}: ${first.message}`, 'Open Spec', 'Show Problems').then((choice) => {
    if (choice === 'Open Spec') void vscode.window.showTextDocument(doc, { selection: first.range });
    else if (choice === 'Show Problems') void vscode.commands.executeCommand('workbench.actions.view.problems');
  });
}

export interface Failure {
  title: string;
  error: unknown;
}

/** An entry of `analyses` the parser could not read (an unknown kind, say): no panel shows it, the report names it. */
export function unreadAnalysis(doc: vscode.TextDocument, index: number, errors: readonly vscode.Diagnostic[]): Failure {
  const field = analysisField(index);
  const lines = errors.map((d) => `line ${d.range.start.line + 1}: ${d.message}`).join('; ');
  return { title: field, error: new CircuitLensError({ code: 'BAD_INPUT', file: doc.uri.fsPath, field, message: `${path.basename(doc.uri.fsPath)}: ${field} was not run: ${lines}` }) };
}

/**
 * One error for a run's failures: a lone analysis's own error, else the failed analyses by name (and how
 * many there were) with the first one's message; the first's code and field are kept, for its actions.
 */
export function failureReport(failures: readonly Failure[], ran: number): unknown {
  const [first] = failures;
  if (failures.length === 1 && ran === 0) return first.error;
  const names = failures.map((f) => JSON.stringify(f.title)).join(', ');
  const info = errorInfoOf(first.error);
  return new CircuitLensError({ ...info, message: `${failures.length} of ${failures.length + ran} analyses failed (${names}); ${failures.length > 1 ? 'the first' : 'it'}: ${info.message}` });
}
