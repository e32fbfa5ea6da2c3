/** Errors shown as one-line messages with actions; details go to the log. */
import * as vscode from 'vscode';
import { isCircuitLensError } from '../protocol/errors';

/** Logs an error and shows it with its actions, without waiting for the answer. */
export function reportError(log: vscode.LogOutputChannel, e: unknown, context: { specUri?: vscode.Uri } = {}): void {
  if (isCircuitLensError(e) && e.code === 'CANCELLED') {
    log.info('Cancelled.');
    return;
  }
  const message = e instanceof Error ? e.message : String(e);
  log.error(isCircuitLensError(e) ? `${e.code}: ${message}` : e instanceof Error ? e.stack ?? message : message);
  const actions: string[] = [];
  if (context.specUri) actions.push('Open Spec');
  const setting = isCircuitLensError(e) && e.field?.startsWith('circuitLens.') ? e.field : undefined;
  if (setting) actions.push('Open Settings');
  actions.push('Show Log');
  void vscode.window.showErrorMessage(`Circuit Lens: ${message}`, ...actions).then((choice) => {
    if (choice === 'Open Spec' && context.specUri) void vscode.window.showTextDocument(context.specUri);
    else if (choice === 'Open Settings') void vscode.commands.executeCommand('workbench.action.openSettings', setting);
    else if (choice === 'Show Log') log.show(true);
  });
}

/** Runs `work` under a cancellable notification; cancelling aborts the signal it gets. */
export function withCancellableProgress<T>(title: string, work: (signal: AbortSignal, report: (message: string) => void) => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
    const abort = new AbortController();
    const sub = token.onCancellationRequested(() => abort.abort());
    return work(abort.signal, (message) => progress.report({ message })).finally(() => sub.dispose());
  });
}
