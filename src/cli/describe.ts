import type { ModelFacts } from '../protocol/runner';

/** One line describing a model: its name and TransformerLens dimensions. */
export function describeModel(k: ModelFacts): string {
  const kv = k.nKvHeads !== k.nHeads ? ` (${k.nKvHeads} key/value heads)` : '';
  return `${k.name}: ${k.family} (${k.modelType}), ${k.nLayers} layers, d_model ${k.dModel}, ${k.nHeads} heads of ${k.dHead}${kv}, d_mlp ${k.dMlp}, vocab ${k.dVocab}, context ${k.nCtx}` +
    `${k.tiedUnembedding ? ', tied unembedding' : ''} (${k.dir})`;
}

export function quote(s: string): string {
  return JSON.stringify(s);
}
