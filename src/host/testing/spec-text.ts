/** A spec's text as the editor sees it: its open document's (unsaved edits included), else the file's. */
import * as vscode from 'vscode';

/** The specs the Test Explorer lists. */
export const SPEC_GLOB = '**/*.circuit.json';

export async function specText(uri: vscode.Uri): Promise<string> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open) return open.getText();
  return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
}
