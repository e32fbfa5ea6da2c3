/**
 * The words and axes that analysis outputs share, on one prompt or over a dataset: how a token, a count
 * and a patched or ablated unit are written, and the layer and head axes.
 */
import type { Axis } from '../../protocol/analysis';

/** A token in words: ' God' (single quotes, newlines escaped). */
export const quote = (text: string) => `'${text.replace(/\n/g, '\\n')}'`;

export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export const layerAxis = (layers: number[]): Axis => ({ name: 'layer', labels: layers.map(String) });
export const headAxis = (n: number): Axis => ({ name: 'head', labels: Array.from({ length: n }, (_, h) => `H${h}`) });

export const PATCHED = {
  resid_pre: 'the residual stream before a layer at one position',
  attn_out: "a layer's attention output at one position",
  mlp_out: "a layer's MLP output at one position",
  heads: "one head's output (at every position)",
  heads_pos: "one head's output at one position",
} as const;

export const ABLATED = { heads: 'each head', neurons: 'each MLP neuron', layers: 'each layer (its attention and MLP outputs)' } as const;

export const DETECTED = {
  'previous-token': 'the previous token',
  'duplicate-token': 'earlier copies of the current token',
  induction: 'the token after an earlier copy of the current token',
} as const;

export const ABLATION_METHOD = {
  zero: 'Zero ablation',
  mean: (n: number) => `Mean ablation (the mean over ${plural(n, 'reference prompt')} at each position)`,
  resample: (n: number) => `Resample ablation (values from ${plural(n, 'reference prompt')}, the metric averaged over them)`,
};
