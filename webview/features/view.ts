/**
 * The Features panel: a traced prompt's token x feature heatmap (click a cell or a column's feature for
 * its card) and a feature card: the activation over the prompt as coloured text, the top and bottom
 * logit effects, and from the feature index (when one is set) the density, a histogram of activations
 * and max-activating examples as coloured snippets, top first then the sample in quantile bands; the
 * label when known. Model text goes in through textContent only.
 */
import type { FeatureCard, FeatureExample, TokenValue } from '../../src/protocol/features';
import type { FeaturesPayload } from '../../src/protocol/panels';
import { parseColour } from '../css-colour';
import { rgbCss } from '../colour';
import { renderHeader } from '../header';
import { host, notify } from '../host';
import { drawBars, drawHeatmap } from '../plot';
import { readTheme, scaleTo } from '../theme';
import { densityText, featureLabel, histogramBars, quantileBands, snippetRange, tableHeatmap } from './data';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Tokens as flowing text, each coloured by value / max in the accent colour; the value in its hover. */
function colouredTokens(tokens: readonly string[], acts: ArrayLike<number>, max: number, accent: string, onClick?: (i: number) => void, range: [number, number] = [0, tokens.length]): HTMLElement {
  const rgb = parseColour(accent);
  const box = el('div', 'feature-text');
  for (let i = range[0]; i < range[1]; i++) {
    const span = el('span', 'ctoken', tokens[i]);
    const a = acts[i];
    if (a > 0 && max > 0) span.style.backgroundColor = rgbCss(rgb, Math.min(1, a / max) * 0.85);
    span.title = `${i} ${JSON.stringify(tokens[i])}: ${a.toFixed(3)}`;
    if (onClick) span.addEventListener('click', () => onClick(i));
    box.append(span);
  }
  return box;
}

function logitList(title: string, xs: readonly TokenValue[], className: string): HTMLElement {
  const box = el('div', `feature-logits ${className}`);
  box.append(el('h4', '', title));
  const list = el('ol', '');
  for (const t of xs) {
    const li = el('li', '');
    li.append(el('code', 'logit-token', JSON.stringify(t.text)), el('span', 'logit-value', `${t.value >= 0 ? '+' : ''}${t.value.toFixed(3)}`));
    list.append(li);
  }
  box.append(list);
  return box;
}

function examples(parent: HTMLElement, title: string, xs: readonly FeatureExample[], max: number, accent: string): void {
  if (!xs.length) return;
  parent.append(el('h4', '', title));
  for (const e of xs) {
    const row = el('div', 'feature-example');
    row.append(el('span', 'example-act', e.act.toFixed(2)), colouredTokens(e.tokens, e.acts, max, accent, undefined, snippetRange(e)));
    parent.append(row);
  }
}

async function renderCard(box: HTMLElement, c: FeatureCard): Promise<void> {
  const theme = readTheme();
  box.replaceChildren();
  box.dataset.feature = String(c.feature);
  const title = el('h3', 'feature-title', `Feature #${c.feature} of ${c.dSae} at ${c.hook}`);
  box.append(title);
  box.append(el('p', c.label ? 'feature-label' : 'feature-label none', c.label ? c.label.text : 'No label (import a Neuronpedia export or write feature-labels.json: circuitLens.featureLabels).'));
  // The BOS (no characters: start = end = 0) often carries huge activations; the scale leaves it out, as the index does.
  const bos = c.prompt.tokens[0]?.start === 0 && c.prompt.tokens[0]?.end === 0 ? 1 : 0;
  const promptMax = Math.max(0, ...c.prompt.acts.subarray(bos));
  box.append(el('h4', '', `Activation over the prompt (largest ${promptMax.toFixed(3)})`));
  box.append(colouredTokens(c.prompt.tokens.map((t) => t.text), c.prompt.acts, promptMax, theme.accent, (i) => notify({ method: 'revealToken', params: { pos: i } })));
  const logits = el('div', 'feature-logit-lists');
  logits.append(logitList('Top logits', c.logits.top, 'up'), logitList('Bottom logits', c.logits.bottom, 'down'));
  box.append(logits);
  const ix = c.index;
  if (!ix) {
    box.append(el('p', 'status', c.indexNote ?? 'No feature index: set circuitLens.featureIndex to a folder written by `circuit-lens features index` for density and max-activating examples.'));
    return;
  }
  box.append(el('p', 'feature-density', `Density ${densityText(ix.density)} of ${ix.tokens} tokens · largest activation ${ix.maxAct.toFixed(3)} · index ${ix.dir}`));
  const hist = el('div', 'feature-histogram');
  box.append(el('h4', '', 'Activations over the corpus (active tokens)'), hist);
  await drawBars(hist, histogramBars(ix.histogram, theme.accent), theme);
  examples(box, 'Top activations', ix.top, ix.maxAct, theme.accent);
  for (const band of quantileBands(ix.samples, ix.maxAct)) examples(box, `Sampled: ${band.title}`, band.examples, ix.maxAct, theme.accent);
}

export async function renderFeatures(app: HTMLElement, p: FeaturesPayload): Promise<void> {
  const theme = readTheme();
  app.replaceChildren();
  renderHeader(app, p.source, p.model, `${p.hook} · ${p.dSae} features · ${p.tokens.length} tokens`);
  const table = el('div', 'features-table');
  const card = el('section', 'feature-card');
  card.id = 'feature-card';
  app.append(el('p', 'legend', 'Top features of the prompt (largest activation anywhere in it), one column each. Click a cell for its feature\'s card.'), table, card);
  if (!p.columns.length) {
    table.append(el('p', 'status', 'No feature of this dictionary is active on this prompt.'));
    return;
  }
  let shown = 0;
  const open = async (f: number) => {
    const mine = ++shown;
    card.dataset.state = 'waiting';
    try {
      const c = await host.request('panel/featureCard', { feature: f });
      if (mine !== shown) return;
      await renderCard(card, c);
      card.dataset.state = 'ready';
    } catch (e) {
      if (mine !== shown) return;
      card.replaceChildren(el('p', 'status', (e as Error).message || String(e)));
      card.dataset.state = 'error';
    }
  };
  await drawHeatmap(table, tableHeatmap(p, scaleTo(theme, theme.accent)), theme, { onClick: (_row, col) => void open(p.columns[col]) });
  const picker = el('div', 'feature-picker');
  for (const f of p.columns) {
    const b = el('button', 'export-button', featureLabel(p, f));
    b.addEventListener('click', () => void open(f));
    picker.append(b);
  }
  table.after(picker);
  await open(p.focus ?? p.columns[0]);
}
