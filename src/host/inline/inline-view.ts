/**
 * Inline activations on `*.circuit.json` prompts after a run: the model's prediction after each traced
 * prompt (an `after` decoration, short, with every prediction and the model in its hover), and a hover
 * on any prompt token with its top next tokens, logit-lens trajectory and the heads attending most from
 * it; after a features analysis, each prompt token's top feature of the dictionary, right after the token.
 * Decoration types are made once; updates debounced.
 */
import * as vscode from 'vscode';
import { literalOffsets } from '../../engine/spec/string-map';
import type { PromptSpec } from '../../engine/spec/types';
import type { TokenInsight } from '../../protocol/runner';
import type { FeaturesResult } from '../../protocol/features';
import { SPEC_SELECTOR, SpecDocuments, isSpecDocument, toRange } from '../spec/spec-documents';
import { pct, predictionText, show, topFeatureText } from './prediction-text';
import { PromptValues, TokenValuesView } from './token-values';
import { PromptRuns } from './prompt-runs';

export interface PromptInsights {
  model: string;
  /** The prompt text the run used: insights are shown only while the spec still says the same. */
  text: string;
  tokens: TokenInsight[];
}

export interface PromptFeatures {
  model: string;
  /** The prompt text the run used: features are shown only while the spec still says the same. */
  text: string;
  features: FeaturesResult;
}

/** A token as inline markdown code, quoted so whitespace shows (backticks cannot appear inside). */
const code = (s: string) => `\`${show(s).replace(/`/g, "'")}\``;

/** The hover of the inline prediction: every next-token prediction after the prompt, and the model. */
function predictionHover(model: string, last: TokenInsight): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.isTrusted = false;
  md.appendMarkdown('**Circuit Lens** · next token after this prompt · ');
  md.appendText(model);
  md.appendMarkdown(`\n\n${last.next.map((p) => `${code(p.text)} ${pct(p.prob)}`).join(' · ')}\n`);
  return md;
}

export class InlineView implements vscode.Disposable {
  /** spec uri -> prompt name -> insights of its last run */
  private readonly runs = new PromptRuns<PromptInsights>();
  /** spec uri -> prompt name -> top features of its last features analysis */
  private readonly features = new PromptRuns<PromptFeatures>();
  private readonly featureMark = vscode.window.createTextEditorDecorationType({
    after: { color: new vscode.ThemeColor('editorCodeLens.foreground'), margin: '0 0 0 0.2em', fontStyle: 'italic' },
  });
  private readonly prediction = vscode.window.createTextEditorDecorationType({
    after: { color: new vscode.ThemeColor('editorCodeLens.foreground'), margin: '0 0 0 1.5em', fontStyle: 'italic' },
  });
  private readonly tokenMark = vscode.window.createTextEditorDecorationType({
    borderColor: new vscode.ThemeColor('editorCodeLens.foreground'),
    borderStyle: 'none none dotted none',
    borderWidth: '0 0 1px 0',
  });
  private timer: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[];
  /** Per-token values of analyses such as inputAttribution. */
  private readonly values: TokenValuesView;

  constructor(private readonly docs: SpecDocuments, private enabled: boolean) {
    this.values = new TokenValuesView(docs, () => this.enabled);
    this.disposables = [
      this.values,
      this.prediction,
      this.featureMark,
      this.tokenMark,
      vscode.window.onDidChangeVisibleTextEditors(() => this.schedule()),
      vscode.workspace.onDidChangeTextDocument((e) => isSpecDocument(e.document) && this.schedule()),
      vscode.languages.registerHoverProvider(SPEC_SELECTOR, { provideHover: (doc, pos) => this.hover(doc, pos) }),
    ];
  }

  get isEnabled(): boolean {
    return this.enabled;
  }

  setEnabled(on: boolean): void {
    this.enabled = on;
    this.render();
  }

  setRun(specUri: vscode.Uri, promptName: string, insights: PromptInsights): void {
    this.runs.set(specUri, promptName, insights);
    this.schedule();
  }

  setFeatures(specUri: vscode.Uri, promptName: string, features: PromptFeatures): void {
    this.features.set(specUri, promptName, features);
    this.schedule();
  }

  /** An analysis's per-token values next to a prompt (input attribution). */
  setValues(specUri: vscode.Uri, promptName: string, values: PromptValues): void {
    this.values.set(specUri, promptName, values);
    this.schedule();
  }

  /** How many tokens carry per-token values in each visible spec editor (for the integration tests). */
  valueCounts(): Map<string, number> {
    return this.values.markedCounts();
  }

  /** How many decorations each visible spec editor has (for the integration tests). */
  decorationCounts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const ed of vscode.window.visibleTextEditors) if (isSpecDocument(ed.document)) out.set(ed.document.uri.toString(), this.promptsWithRuns(ed.document).length);
    return this.enabled ? out : new Map();
  }

  private promptsWithRuns(doc: vscode.TextDocument): { prompt: PromptSpec; insights: PromptInsights }[] {
    const runs = this.runs.of(doc.uri);
    if (!runs) return [];
    return this.docs.get(doc).spec.prompts.flatMap((prompt) => {
      const insights = runs.get(prompt.name.value);
      return insights && insights.text === prompt.text.value ? [{ prompt, insights }] : [];
    });
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.render(), 150);
  }

  private render(): void {
    this.values.render();
    for (const ed of vscode.window.visibleTextEditors) {
      if (!isSpecDocument(ed.document)) continue;
      const found = this.enabled ? this.promptsWithRuns(ed.document) : [];
      const doc = ed.document;
      ed.setDecorations(this.prediction, found.map(({ prompt, insights }) => {
        const last = insights.tokens[insights.tokens.length - 1];
        const end = doc.positionAt(prompt.text.range.offset + prompt.text.range.length);
        return { range: new vscode.Range(end, end), hoverMessage: predictionHover(insights.model, last), renderOptions: { after: { contentText: predictionText(last.next) } } };
      }));
      const runs = this.enabled ? this.features.of(doc.uri) : undefined;
      ed.setDecorations(this.featureMark, runs ? this.docs.get(doc).spec.prompts.flatMap((prompt) => {
        const f = runs.get(prompt.name.value);
        if (!f || f.text !== prompt.text.value) return [];
        const map = literalOffsets(doc.getText(toRange(doc, prompt.text.range)));
        return f.features.tokens.filter((t) => t.end > t.start && t.features.length).map((t) => {
          const end = doc.positionAt(prompt.text.range.offset + map[t.end]);
          return { range: new vscode.Range(end, end), renderOptions: { after: { contentText: topFeatureText(t.features) } } };
        });
      }) : []);
      ed.setDecorations(this.tokenMark, found.flatMap(({ prompt, insights }) => {
        const map = literalOffsets(doc.getText(toRange(doc, prompt.text.range)));
        return insights.tokens.filter((t) => t.end > t.start).map((t) => new vscode.Range(
          doc.positionAt(prompt.text.range.offset + map[t.start]),
          doc.positionAt(prompt.text.range.offset + map[t.end]),
        ));
      }));
    }
  }

  private hover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    if (!this.enabled) return undefined;
    const offset = doc.offsetAt(pos);
    for (const { prompt, insights } of this.promptsWithRuns(doc)) {
      const r = prompt.text.range;
      if (offset <= r.offset || offset >= r.offset + r.length - 1) continue;
      const map = literalOffsets(doc.getText(toRange(doc, r)));
      const rel = offset - r.offset;
      const token = insights.tokens.find((t) => t.end > t.start && map[t.start] <= rel && rel < map[t.end]);
      if (!token) return undefined;
      const md = new vscode.MarkdownString(undefined, true);
      md.isTrusted = false;
      md.appendMarkdown(`**Circuit Lens** · token ${token.pos} ${code(token.text)} · `);
      md.appendText(insights.model);
      md.appendMarkdown('\n\n');
      md.appendMarkdown(`**Next token:** ${token.next.map((p) => `${code(p.text)} ${pct(p.prob)}`).join(' · ')}\n\n`);
      md.appendMarkdown(`**Logit lens:** ${token.trajectory.map((s) => `${s.label} ${code(s.top.text)} ${pct(s.top.prob)}`).join(' → ')}\n\n`);
      md.appendMarkdown(`**Heads attending most from here:** ${token.heads.map((h) => `L${h.layer}H${h.head} → ${h.key} ${code(h.keyText)} ${pct(h.weight)}`).join(' · ')}\n`);
      const start = doc.positionAt(r.offset + map[token.start]);
      const end = doc.positionAt(r.offset + map[token.end]);
      return new vscode.Hover(md, new vscode.Range(start, end));
    }
    return undefined;
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
  }
}
