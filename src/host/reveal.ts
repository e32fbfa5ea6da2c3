/**
 * Where a click in a panel lands: the prompt token in the spec that produced it (its exact characters,
 * escapes accounted for), or, for a prompt traced from the palette, the token in a read-only prompt
 * document.
 */
import * as vscode from 'vscode';
import { parseSpec, promptOf } from '../engine/spec/parse';
import { literalOffsets } from '../engine/spec/string-map';
import type { AttentionPayload, FeaturesPayload, LogitLensPayload, PanelSource } from '../protocol/panels';

export const PROMPT_SCHEME = 'circuit-lens-prompt';

/** Read-only documents holding prompts traced from the palette, so their tokens can be revealed. */
export class PromptDocuments implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();

  uriFor(prompt: string): vscode.Uri {
    let key = [...this.texts.entries()].find(([, t]) => t === prompt)?.[0];
    if (key === undefined) {
      key = String(this.texts.size + 1);
      this.texts.set(key, prompt);
    }
    return vscode.Uri.from({ scheme: PROMPT_SCHEME, path: `/prompt-${key}.txt` });
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const m = /prompt-(\d+)\.txt$/.exec(uri.path);
    return (m && this.texts.get(m[1])) ?? '';
  }
}

async function selectIn(uri: vscode.Uri, start: number, end: number): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(uri);
  const range = new vscode.Range(doc.positionAt(start), doc.positionAt(end));
  // Where the document is already visible, else beside the panel that was clicked.
  const visible = vscode.window.visibleTextEditors.find((e) => e.document === doc)?.viewColumn;
  const editor = await vscode.window.showTextDocument(doc, { viewColumn: visible ?? vscode.ViewColumn.Beside, selection: range, preserveFocus: false });
  editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  return editor;
}

export async function revealToken(prompts: PromptDocuments, payload: AttentionPayload | LogitLensPayload | FeaturesPayload, pos: number): Promise<vscode.TextEditor | undefined> {
  const token = payload.tokens[pos];
  const source = payload.source;
  if (source.kind === 'prompt') return selectIn(prompts.uriFor(source.prompt), token.start, token.end);
  const uri = vscode.Uri.parse(source.specUri);
  const doc = await vscode.workspace.openTextDocument(uri);
  const { spec } = parseSpec(doc.getText());
  const analysis = spec.analyses.find((a) => a.index === source.analysisIndex);
  const prompt = source.promptName !== undefined ? spec.prompts.find((x) => x.name.value === source.promptName) : analysis && promptOf(spec, analysis);
  if (!prompt) return selectIn(uri, 0, 0);
  const r = prompt.text.range;
  const map = literalOffsets(doc.getText().slice(r.offset, r.offset + r.length));
  if (token.end === token.start) return selectIn(uri, r.offset, r.offset + 1); // BOS: the opening quote
  return selectIn(uri, r.offset + map[token.start], r.offset + map[token.end]);
}

export async function revealSpec(source: PanelSource, prompts: PromptDocuments): Promise<void> {
  if (source.kind === 'prompt') {
    await selectIn(prompts.uriFor(source.prompt), 0, 0);
    return;
  }
  const uri = vscode.Uri.parse(source.specUri);
  const doc = await vscode.workspace.openTextDocument(uri);
  const analysis = parseSpec(doc.getText()).spec.analyses.find((a) => a.index === source.analysisIndex);
  await selectIn(uri, analysis?.range.offset ?? 0, analysis ? analysis.range.offset + analysis.range.length : 0);
}
