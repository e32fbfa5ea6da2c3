import type { Checkpoint } from '../engine/model';

/** One line describing a model: its name and TransformerLens dimensions. */
export function describeModel(c: Checkpoint): string {
  const k = c.config;
  return `${c.name}: GPT-2, ${k.nLayers} layers, d_model ${k.dModel}, ${k.nHeads} heads of ${k.dHead}, d_mlp ${k.dMlp}, vocab ${k.dVocab}, context ${k.nCtx}` +
    `${c.gpt2.tied ? ', tied unembedding' : ''} (${c.dir})`;
}

export function quote(s: string): string {
  return JSON.stringify(s);
}
