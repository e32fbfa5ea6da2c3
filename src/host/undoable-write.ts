/**
 * The one way the extension puts text into a user's file: a workspace edit, so Undo reverts it. A new
 * file is created with the text; an existing file gets its whole text replaced in the editor and is left
 * unsaved, so the user decides whether it replaces what is on disk.
 */
import * as vscode from 'vscode';

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}

export async function writeThroughEdit(uri: vscode.Uri, text: string): Promise<void> {
  const edit = new vscode.WorkspaceEdit();
  if (await exists(uri)) {
    const doc = await vscode.workspace.openTextDocument(uri);
    edit.replace(uri, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), text);
  } else {
    edit.createFile(uri, { contents: Buffer.from(text, 'utf8') });
  }
  if (!(await vscode.workspace.applyEdit(edit))) throw new Error(`could not write ${vscode.workspace.asRelativePath(uri)} (the edit was refused).`);
}
