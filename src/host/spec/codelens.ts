/**
 * "Run all" above a spec and "Run" above each of its analyses (naming the dataset an analysis runs on,
 * when it runs on one); in Restricted Mode one "Trust workspace to run" lens instead, until the
 * workspace is trusted.
 */
import * as vscode from 'vscode';
import { MANAGE_TRUST_COMMAND, isTrusted, onDidGrantTrust } from '../trust';
import { SPEC_SELECTOR, SpecDocuments, toRange } from './spec-documents';
import { datasetOf } from '../../engine/spec/parse';

export function registerSpecCodeLenses(docs: SpecDocuments): vscode.Disposable {
  const changed = new vscode.EventEmitter<void>();
  const provider = vscode.languages.registerCodeLensProvider(SPEC_SELECTOR, {
    onDidChangeCodeLenses: changed.event,
    provideCodeLenses(doc) {
      const top = new vscode.Range(0, 0, 0, 0);
      if (!isTrusted()) return [new vscode.CodeLens(top, { title: '$(shield) Trust workspace to run', command: MANAGE_TRUST_COMMAND, tooltip: 'Circuit Lens runs models only in trusted workspaces.' })];
      const { spec } = docs.get(doc);
      const lenses = [new vscode.CodeLens(top, { title: '$(play) Run all', command: 'circuitLens.runExperiment', arguments: [doc.uri] })];
      for (const a of spec.analyses) {
        const dataset = datasetOf(a);
        const title = dataset ? `$(play) Run ${a.title} on dataset ${dataset.value}` : `$(play) Run ${a.title}`;
        lenses.push(new vscode.CodeLens(toRange(doc, a.range), { title, command: 'circuitLens.runAnalysis', arguments: [doc.uri, a.index] }));
      }
      return lenses;
    },
  });
  return vscode.Disposable.from(provider, changed, onDidGrantTrust(() => changed.fire()));
}
