/**
 * Saving what a panel exports: a save dialog (in the workspace folder, the panel's file name), then the
 * bytes. Nothing is written without the user choosing the file, and the dialog asks before replacing one.
 */
import * as vscode from 'vscode';
import type { ExportFormat } from '../../protocol/panels';

const FILTERS: Record<ExportFormat, Record<string, string[]>> = {
  png: { 'PNG image': ['png'] },
  svg: { 'SVG image': ['svg'] },
  json: { JSON: ['json'] },
  npy: { 'NumPy array': ['npy'] },
};

export async function saveExport(p: { format: ExportFormat; fileName: string; content: string | Uint8Array }, log: vscode.LogOutputChannel): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file');
  const target = await vscode.window.showSaveDialog({
    defaultUri: folder ? vscode.Uri.joinPath(folder.uri, p.fileName) : undefined,
    filters: FILTERS[p.format],
    title: `Export ${p.fileName}`,
  });
  if (!target) return;
  const bytes = typeof p.content === 'string' ? new TextEncoder().encode(p.content) : p.content;
  try {
    await vscode.workspace.fs.writeFile(target, bytes);
    log.info(`Exported ${bytes.byteLength} bytes to ${target.fsPath}.`);
  } catch (e) {
    void vscode.window.showErrorMessage(`Circuit Lens: could not write ${target.fsPath}: ${(e as Error).message}. Choose a folder you can write to.`);
  }
}

export async function copyText(p: { text: string; what: string }): Promise<void> {
  await vscode.env.clipboard.writeText(p.text);
  void vscode.window.setStatusBarMessage(`Circuit Lens: ${p.what} copied to the clipboard.`, 4000);
}
