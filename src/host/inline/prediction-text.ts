/**
 * The text of the inline prediction after a traced prompt: its most likely next tokens, cut short so the
 * spec's own text stays on screen (the hover has them all). Plain string work, no `vscode`.
 */

/** A probability as a percentage: 46%, 4.2%. */
export const pct = (p: number) => `${(p * 100).toFixed(p >= 0.1 ? 0 : 1)}%`;
/** A token quoted so whitespace shows: " mat", "\n". */
export const show = (s: string) => JSON.stringify(s);

/** Longest inline prediction, in characters, "…" included. */
export const PREDICTION_CHARS = 30;

/** `→ " mat" 46%, " the" 5%`: the first `count` predictions, cut to `max` characters with "…". */
export function predictionText(next: readonly { text: string; prob: number }[], count = 2, max = PREDICTION_CHARS): string {
  const full = `→ ${next.slice(0, count).map((p) => `${show(p.text)} ${pct(p.prob)}`).join(', ')}`;
  const chars = [...full]; // by code point, so a cut never splits a surrogate pair
  return chars.length <= max ? full : `${chars.slice(0, max - 1).join('')}…`;
}

/** A token's top feature, shown after it: `F31` (the dictionary's feature id), or nothing when none is active. */
export function topFeatureText(features: readonly { id: number; act: number }[]): string {
  return features.length ? `F${features[0].id}` : '';
}
