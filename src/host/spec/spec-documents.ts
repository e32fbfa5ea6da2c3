/** Parsed `*.circuit.json` documents, cached by document version. */
import * as vscode from 'vscode';
import { ParsedSpec, parseSpec } from '../../engine/spec/parse';
import type { SourceRange } from '../../engine/spec/types';

export const SPEC_SELECTOR: vscode.DocumentSelector = [{ pattern: '**/*.circuit.json' }];

export function isSpecDocument(doc: vscode.TextDocument): boolean {
  return doc.uri.path.endsWith('.circuit.json');
}

export function toRange(doc: vscode.TextDocument, r: SourceRange): vscode.Range {
  return new vscode.Range(doc.positionAt(r.offset), doc.positionAt(r.offset + r.length));
}

export class SpecDocuments {
  private readonly cache = new WeakMap<vscode.TextDocument, { version: number; parsed: ParsedSpec }>();

  get(doc: vscode.TextDocument): ParsedSpec {
    const hit = this.cache.get(doc);
    if (hit && hit.version === doc.version) return hit.parsed;
    const parsed = parseSpec(doc.getText());
    this.cache.set(doc, { version: doc.version, parsed });
    return parsed;
  }
}
