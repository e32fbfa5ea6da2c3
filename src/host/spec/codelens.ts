/** "Run all" above a spec and "Run" above each of its analyses. */
import * as vscode from 'vscode';
import { SPEC_SELECTOR, SpecDocuments, toRange } from './spec-documents';

export function registerSpecCodeLenses(docs: SpecDocuments): vscode.Disposable {
  return vscode.languages.registerCodeLensProvider(SPEC_SELECTOR, {
    provideCodeLenses(doc) {
      const { spec } = docs.get(doc);
      const top = new vscode.Range(0, 0, 0, 0);
      const lenses = [new vscode.CodeLens(top, { title: '$(play) Run all', command: 'circuitLens.runExperiment', arguments: [doc.uri] })];
      for (const a of spec.analyses) {
        lenses.push(new vscode.CodeLens(toRange(doc, a.range), { title: `$(play) Run ${a.title}`, command: 'circuitLens.runAnalysis', arguments: [doc.uri, a.index] }));
      }
      return lenses;
    },
  });
}
