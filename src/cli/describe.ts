import { familyOf } from '../engine/families/registry';
import type { Checkpoint } from '../engine/model';

/** One line describing a model: its name and TransformerLens dimensions. */
export function describeModel(c: Checkpoint): string {
  const k = c.config;
  const kv = k.nKvHeads !== k.nHeads ? ` (${k.nKvHeads} key/value heads)` : '';
  return `${c.name}: ${familyOf(k).label} (${k.modelType}), ${k.nLayers} layers, d_model ${k.dModel}, ${k.nHeads} heads of ${k.dHead}${kv}, d_mlp ${k.dMlp}, vocab ${k.dVocab}, context ${k.nCtx}` +
    `${c.params.tied ? ', tied unembedding' : ''} (${c.dir})`;
}

export function quote(s: string): string {
  return JSON.stringify(s);
}
