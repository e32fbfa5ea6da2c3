/**
 * The markdown of the feature hover on a spec prompt token: the token's top features with their
 * activations, each feature's top and bottom logit effects and its label when known, and a command link
 * that opens the feature's card in the Features panel. Plain string work, no `vscode`: model text is
 * escaped here (markdown specials, backticks in code spans), so the hover renders it as text.
 */
import type { FeatureLabel, FeatureLogits, TokenValue } from '../../protocol/features';
import { show } from './prediction-text';

export const SHOW_FEATURES_COMMAND = 'circuitLens.showFeatures';

/** What the link passes to circuitLens.showFeatures: which prompt of which spec, and the feature to show. */
export interface ShowFeaturesArgs {
  specUri: string;
  prompt: string;
  hook: string;
  feature: number;
}

export interface FeatureHoverInput {
  token: { pos: number; text: string };
  model: string;
  hook: string;
  /** Largest first, active ones only. */
  features: { id: number; act: number }[];
  /** By feature id, where known. */
  logits: Map<number, FeatureLogits>;
  labels: Map<number, FeatureLabel>;
  specUri: string;
  prompt: string;
  /** Logit tokens listed each way. */
  logitCount?: number;
}

/** Markdown's special characters escaped (labels are free text). */
export function escapeMarkdown(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>~]/g, (c) => `\\${c}`).replace(/\n/g, ' ');
}

/** A token as inline code, quoted so whitespace shows (backticks cannot appear inside a code span: shown as '). */
const code = (s: string) => `\`${show(s).replace(/`/g, "'")}\``;

const tokenList = (xs: readonly TokenValue[], n: number) => xs.slice(0, n).map((t) => `${code(t.text)} ${t.value >= 0 ? '+' : ''}${t.value.toFixed(2)}`).join(' ');

export function showFeaturesLink(args: ShowFeaturesArgs): string {
  return `command:${SHOW_FEATURES_COMMAND}?${encodeURIComponent(JSON.stringify([args]))}`;
}

export function featureHoverMarkdown(h: FeatureHoverInput): string {
  const n = h.logitCount ?? 5;
  const head = `**Circuit Lens** · token ${h.token.pos} ${code(h.token.text)} · top features at \`${h.hook.replace(/`/g, "'")}\` · ${escapeMarkdown(h.model)}\n\n`;
  if (!h.features.length) return `${head}No feature of this dictionary is active at this token.\n`;
  const rows = h.features.map((f) => {
    const label = h.labels.get(f.id);
    const l = h.logits.get(f.id);
    const link = `[#${f.id}](${showFeaturesLink({ specUri: h.specUri, prompt: h.prompt, hook: h.hook, feature: f.id })} "Open the card of feature ${f.id}")`;
    const lines = [`- **${link}** ${f.act.toFixed(3)}${label ? ` · *${escapeMarkdown(label.text)}*` : ''}`];
    if (l) lines.push(`  - ↑ ${tokenList(l.top, n)}`, `  - ↓ ${tokenList(l.bottom, n)}`);
    return lines.join('\n');
  });
  return `${head}${rows.join('\n')}\n`;
}
