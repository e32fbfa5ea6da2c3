/** Quick fixes for spec diagnostics that carry a suggestion (for example the closest hook name). */
import * as vscode from 'vscode';
import type { SpecDiagnostics } from './diagnostics';
import { SPEC_SELECTOR } from './spec-documents';

export function registerSpecQuickFixes(diagnostics: SpecDiagnostics): vscode.Disposable {
  return vscode.languages.registerCodeActionsProvider(SPEC_SELECTOR, {
    provideCodeActions(doc, _range, context) {
      return context.diagnostics.flatMap((d) => {
        const s = diagnostics.suggestionFor(doc.uri, d);
        if (!s) return [];
        const fix = new vscode.CodeAction(`Change to ${JSON.stringify(s)}`, vscode.CodeActionKind.QuickFix);
        fix.diagnostics = [d];
        fix.isPreferred = true;
        fix.edit = new vscode.WorkspaceEdit();
        fix.edit.replace(doc.uri, d.range, JSON.stringify(s));
        return [fix];
      });
    },
  }, { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] });
}
