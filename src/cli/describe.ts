import type { AttachedSaeInfo, ModelFacts } from '../protocol/runner';

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

export function quote(s: string): string {
  return JSON.stringify(s);
}
