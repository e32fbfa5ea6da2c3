/**
 * Per-token values of an analysis (input attribution) on the prompt's own characters in `*.circuit.json`:
 * each token underlined in the theme's chart blue (positive) or red (negative), solid and thick for the
 * strong ones (at least STRONG of the largest |value|), dashed for the weaker, unmarked under FAINT; the
 * value in the token's hover. Four decoration types, made once.
 */
import * as vscode from 'vscode';
import { literalOffsets } from '../../engine/spec/string-map';
import type { PromptSpec } from '../../engine/spec/types';
import type { TokenValues } from '../../protocol/runner';
import { SPEC_SELECTOR, SpecDocuments, isSpecDocument, toRange } from '../spec/spec-documents';
import { show } from './prediction-text';
import { PromptRuns } from './prompt-runs';

export interface PromptValues {
  model: string;
  /** The prompt text the run used: values are shown only while the spec still says the same. */
  text: string;
  values: TokenValues;
}

const STRONG = 0.5;
const FAINT = 0.05;

const underline = (colour: string, style: 'solid' | 'dashed', width: string) => vscode.window.createTextEditorDecorationType({
  borderColor: new vscode.ThemeColor(colour), borderStyle: `none none ${style} none`, borderWidth: `0 0 ${width} 0`,
});

export class TokenValuesView implements vscode.Disposable {
  /** spec uri -> prompt name -> values of its last run */
  private readonly runs = new PromptRuns<PromptValues>();
  private readonly marks = {
    positiveStrong: underline('charts.blue', 'solid', '3px'),
    positiveWeak: underline('charts.blue', 'dashed', '1px'),
    negativeStrong: underline('charts.red', 'solid', '3px'),
    negativeWeak: underline('charts.red', 'dashed', '1px'),
  };
  private readonly hoverProvider: vscode.Disposable;

  constructor(private readonly docs: SpecDocuments, private readonly enabled: () => boolean) {
    this.hoverProvider = vscode.languages.registerHoverProvider(SPEC_SELECTOR, { provideHover: (doc, pos) => this.hover(doc, pos) });
  }

  set(specUri: vscode.Uri, promptName: string, values: PromptValues): void {
    this.runs.set(specUri, promptName, values);
  }

  private found(doc: vscode.TextDocument): { prompt: PromptSpec; values: PromptValues }[] {
    const runs = this.runs.of(doc.uri);
    if (!runs || !this.enabled()) return [];
    return this.docs.get(doc).spec.prompts.flatMap((prompt) => {
      const values = runs.get(prompt.name.value);
      return values && values.text === prompt.text.value ? [{ prompt, values }] : [];
    });
  }

  /** The editor range of each token with characters, and its value. */
  private tokenRanges(doc: vscode.TextDocument, prompt: PromptSpec, values: PromptValues): { range: vscode.Range; value: number; token: TokenValues['tokens'][number] }[] {
    const r = prompt.text.range;
    const map = literalOffsets(doc.getText(toRange(doc, r)));
    return values.values.tokens.filter((t) => t.end > t.start).map((t) => ({
      range: new vscode.Range(doc.positionAt(r.offset + map[t.start]), doc.positionAt(r.offset + map[t.end])), value: t.value, token: t,
    }));
  }

  render(): void {
    for (const ed of vscode.window.visibleTextEditors) {
      if (!isSpecDocument(ed.document)) continue;
      const buckets: Record<keyof TokenValuesView['marks'], vscode.Range[]> = { positiveStrong: [], positiveWeak: [], negativeStrong: [], negativeWeak: [] };
      for (const { prompt, values } of this.found(ed.document)) {
        const max = Math.max(0, ...values.values.tokens.map((t) => Math.abs(t.value)));
        for (const { range, value } of this.tokenRanges(ed.document, prompt, values)) {
          const share = max > 0 ? Math.abs(value) / max : 0;
          if (share < FAINT) continue;
          buckets[`${value > 0 ? 'positive' : 'negative'}${share >= STRONG ? 'Strong' : 'Weak'}`].push(range);
        }
      }
      for (const [k, ranges] of Object.entries(buckets)) ed.setDecorations(this.marks[k as keyof TokenValuesView['marks']], ranges);
    }
  }

  /** How many tokens each visible spec editor has marked (for the integration tests). */
  markedCounts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const ed of vscode.window.visibleTextEditors) {
      if (isSpecDocument(ed.document)) out.set(ed.document.uri.toString(), this.found(ed.document).reduce((n, f) => n + f.values.values.tokens.length, 0));
    }
    return out;
  }

  private hover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    for (const { prompt, values } of this.found(doc)) {
      const hit = this.tokenRanges(doc, prompt, values).find((t) => t.range.contains(pos));
      if (!hit) continue;
      const md = new vscode.MarkdownString(undefined, true);
      md.isTrusted = false;
      md.appendMarkdown(`**Circuit Lens** · token ${hit.token.pos} \`${show(hit.token.text).replace(/`/g, "'")}\` · `);
      md.appendText(`${values.values.label}: ${hit.value.toPrecision(4)} (${values.model})`);
      return new vscode.Hover(md, hit.range);
    }
    return undefined;
  }

  dispose(): void {
    this.hoverProvider.dispose();
    for (const m of Object.values(this.marks)) m.dispose();
  }
}
