/**
 * The feature hover on `*.circuit.json` prompt tokens after a run with a dictionary (the Features panel's
 * run, or a `features` analysis): the token's top 5 features with activations, their logit effects and
 * labels, and links to their cards. Shown while the spec's prompt still says what was run; logits the
 * run did not bring are asked of the worker when the hover opens (and cached there).
 */
import * as vscode from 'vscode';
import { literalOffsets } from '../../engine/spec/string-map';
import type { FeatureLabel, FeatureLogits, FeaturesResult, FeaturesSlice } from '../../protocol/features';
import { SPEC_SELECTOR, SpecDocuments, toRange } from '../spec/spec-documents';
import { SHOW_FEATURES_COMMAND, featureHoverMarkdown } from './feature-hover-text';
import { PromptRuns } from './prompt-runs';

/** Features listed per token. */
const HOVER_FEATURES = 5;

export interface PromptFeatures {
  model: string;
  /** The prompt text the run used. */
  text: string;
  hook: string;
  tokens: { pos: number; text: string; start: number; end: number; features: { id: number; act: number }[] }[];
  labels: Map<number, FeatureLabel>;
  /** Logit effects of these features. */
  logits(ids: number[]): Promise<FeatureLogits[]>;
}

/** A Features panel run: per token its top features from the slice; logits asked of the worker. */
export function fromSlice(s: FeaturesSlice, text: string, logits: PromptFeatures['logits']): PromptFeatures {
  return {
    model: s.model, text, hook: s.hook, logits,
    labels: new Map(Object.entries(s.labels).map(([f, l]) => [Number(f), l])),
    tokens: s.tokens.map((t, pos) => ({
      pos, text: t.text, start: t.start, end: t.end,
      features: Array.from({ length: s.k }, (_, j) => ({ id: s.topIds[pos * s.k + j], act: s.topValues[pos * s.k + j] })).filter((f) => f.id >= 0),
    })),
  };
}

/** A `features` analysis: its rows and the logits it computed (FeaturesResult). */
export function fromResult(r: FeaturesResult, model: string, text: string): PromptFeatures {
  const byId = new Map(r.features.map((f) => [f.id, { feature: f.id, top: f.topLogits, bottom: f.bottomLogits }]));
  return {
    model, text, hook: r.sae.hook, labels: new Map(),
    tokens: r.tokens.map((t) => ({ pos: t.pos, text: t.text, start: t.start, end: t.end, features: t.features })),
    logits: async (ids) => ids.flatMap((f) => (byId.has(f) ? [byId.get(f)!] : [])),
  };
}

export class FeatureHovers implements vscode.Disposable {
  /** spec uri -> prompt name -> features of its last run */
  private readonly runs = new PromptRuns<PromptFeatures>();
  private readonly provider: vscode.Disposable;

  constructor(private readonly docs: SpecDocuments, private readonly enabled: () => boolean) {
    this.provider = vscode.languages.registerHoverProvider(SPEC_SELECTOR, { provideHover: (doc, pos) => this.hover(doc, pos) });
  }

  setRun(specUri: vscode.Uri, prompt: string, f: PromptFeatures): void {
    this.runs.set(specUri, prompt, f);
  }

  private async hover(doc: vscode.TextDocument, pos: vscode.Position): Promise<vscode.Hover | undefined> {
    const runs = this.runs.of(doc.uri);
    if (!runs || !this.enabled()) return undefined;
    const offset = doc.offsetAt(pos);
    for (const prompt of this.docs.get(doc).spec.prompts) {
      const f = runs.get(prompt.name.value);
      const r = prompt.text.range;
      if (!f || f.text !== prompt.text.value || offset <= r.offset || offset >= r.offset + r.length - 1) continue;
      const map = literalOffsets(doc.getText(toRange(doc, r)));
      const rel = offset - r.offset;
      const token = f.tokens.find((t) => t.end > t.start && map[t.start] <= rel && rel < map[t.end]);
      if (!token) return undefined;
      const features = token.features.slice(0, HOVER_FEATURES);
      let logits: FeatureLogits[] = [];
      try {
        logits = await f.logits(features.map((x) => x.id));
      } catch {
        // The run is gone (another model loaded): the features still show, without logits.
      }
      const md = new vscode.MarkdownString(featureHoverMarkdown({
        token, model: f.model, hook: f.hook, features, labels: f.labels, logits: new Map(logits.map((l) => [l.feature, l])),
        specUri: doc.uri.toString(), prompt: prompt.name.value,
      }));
      md.isTrusted = { enabledCommands: [SHOW_FEATURES_COMMAND] };
      return new vscode.Hover(md, new vscode.Range(doc.positionAt(r.offset + map[token.start]), doc.positionAt(r.offset + map[token.end])));
    }
    return undefined;
  }

  dispose(): void {
    this.provider.dispose();
  }
}
