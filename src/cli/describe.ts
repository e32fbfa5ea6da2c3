import type { AttachedSaeInfo, ModelFacts, SaeCheckInfo } from '../protocol/runner';

/** One line describing a model: its name and TransformerLens dimensions. */
export function describeModel(k: ModelFacts): string {
  const kv = k.nKvHeads !== k.nHeads ? ` (${k.nKvHeads} key/value heads)` : '';
  return `${k.name}: ${k.family} (${k.modelType}), ${k.nLayers} layers, d_model ${k.dModel}, ${k.nHeads} heads of ${k.dHead}${kv}, d_mlp ${k.dMlp}, vocab ${k.dVocab}, context ${k.nCtx}` +
    `${k.tiedUnembedding ? ', tied unembedding' : ''} (${k.dir})`;
}

/** The weight processing in effect, and a line for each option a family switched off. */
export function describeProcessing(label: string, notes: readonly string[]): string {
  return [`weights: ${label}`, ...notes.map((n) => `  note: ${n}`)].join('\n');
}

/** One line per attached dictionary: format, architecture, width, hook(s) and mode, then its notes. */
export function describeSaes(saes: readonly AttachedSaeInfo[]): string[] {
  return saes.flatMap((s) => [
    `sae: ${s.format} ${s.kind} ${s.architecture}, d_in ${s.dIn}, d_sae ${s.dSae}${s.dOut !== s.dIn ? `, d_out ${s.dOut}` : ''}, at ${s.hook}${s.hookOut ? ` -> ${s.hookOut}` : ''} (hook from the ${s.hookSource}), ${s.mode} (${s.dir})`,
    ...s.notes.map((n) => `  note: ${n}`),
  ]);
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(4) : String(v));

/** A dictionary's self-check figures: reconstruction, then loss (when measured), then the processing comparison. */
export function describeCheck(c: SaeCheckInfo): string[] {
  const s = c.stats;
  const l = c.loss;
  const p = c.processed;
  return [
    `${c.hook}: ${c.prompts} prompts, ${s.n} tokens (BOS left out)`,
    `  FVU ${fmt(s.fvu)}  cosine ${fmt(s.cosine)}  L0 ${s.l0.toFixed(2)}  dead ${(100 * s.deadFraction).toFixed(1)}%`,
    ...(l ? [`  loss clean ${fmt(l.clean)}  spliced ${fmt(l.spliced)} (${l.lossIncrease >= 0 ? '+' : ''}${fmt(l.lossIncrease)})  zero-ablated ${fmt(l.zeroAblation)}  CE loss recovered ${fmt(l.ceLossScore)}`] : []),
    ...(p ? [`  with ${p.processing}: FVU ${fmt(p.fvu)}${p.recommended ? ' (clearly better)' : ''}`] : []),
    ...(c.notes ?? []).map((n) => `  note: ${n}`),
  ];
}

/** Mis-load warnings (and a processing recommendation) on stderr, one line each, naming the likely cause. */
export function warnSaeChecks(checks: readonly SaeCheckInfo[]): void {
  for (const c of checks) {
    for (const w of c.warnings) console.error(`circuit-lens: warning: ${c.hook}: ${w.message} (likely cause: ${w.likelyCause})`);
    if (c.processed?.recommended && c.processed.message) console.error(`circuit-lens: warning: ${c.hook}: ${c.processed.message} (likely cause: weight processing)`);
  }
}

export function quote(s: string): string {
  return JSON.stringify(s);
}
