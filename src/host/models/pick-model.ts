/** The model quick pick: bundled models, workspace checkpoints, setting paths, Hugging Face cache, or a folder. */
import * as vscode from 'vscode';
import type { RunnerClient } from '../../client/runner-client';
import type { CandidateKind } from '../../protocol/runner';

const KIND_LABEL: Record<CandidateKind, string> = { bundled: 'Bundled', workspace: 'Workspace', setting: 'circuitLens.modelSearchPaths', hub: 'Hugging Face cache' };

export async function pickModel(opts: { client: RunnerClient; searchPaths: string[]; current?: string; title: string }): Promise<string | undefined> {
  // The worker walks the folders: a deep workspace never stalls this thread.
  const candidates = await opts.client.request('models/list', {
    workspaceRoots: (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath),
    searchPaths: opts.searchPaths,
  });
  type Item = vscode.QuickPickItem & { ref?: string; browse?: boolean };
  const items: Item[] = [];
  let lastKind: CandidateKind | undefined;
  for (const c of candidates) {
    if (c.kind !== lastKind) items.push({ label: KIND_LABEL[c.kind], kind: vscode.QuickPickItemKind.Separator });
    lastKind = c.kind;
    items.push({ label: c.label, description: c.ref === opts.current ? 'current' : undefined, detail: c.detail, ref: c.ref });
  }
  items.push({ label: '', kind: vscode.QuickPickItemKind.Separator }, { label: '$(folder-opened) Open a checkpoint folder…', browse: true });
  const picked = await vscode.window.showQuickPick(items, { title: opts.title, placeHolder: 'A GPT-2-family checkpoint (config.json + model.safetensors)', matchOnDetail: true });
  if (!picked) return undefined;
  if (picked.browse) {
    const dirs = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Use this checkpoint' });
    return dirs?.[0]?.fsPath;
  }
  return picked.ref;
}
