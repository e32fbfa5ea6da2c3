/**
 * A feature's logit effects: its decoder direction W_dec[f] ([d_model]) times the unembedding, the
 * tokens it raises and lowers most (SAELens' and Neuronpedia's top/bottom logits: W_dec[f] @ W_U, no
 * final norm, no unembedding bias). The unembedding is read in chunks of rows, never whole, so a
 * 262k-token vocabulary costs one chunk of memory; the decoder rows are read one by one.
 */
import { fail } from '../errors';
import type { Checkpoint } from '../model';
import { topK } from '../math';
import { readTensor, readWeightRowRange, readWeightRows } from '../weight-reader';
import type { SparseDictionary } from '../sae/types';
import type { FeatureLogits } from '../../protocol/features';

/** Unembedding rows per read: 2,048 x d_model floats (6 MB for GPT-2 small). */
const VOCAB_CHUNK = 2048;

export function checkFeatureIds(d: SparseDictionary, features: readonly number[], field = 'feature'): void {
  for (const f of features) {
    if (!(Number.isInteger(f) && f >= 0 && f < d.dSae)) fail('BAD_INPUT', { file: d.dir, field }, `feature ${f} is outside [0, ${d.dSae}) of the dictionary at ${d.hookIn}.`);
  }
}

/** W_dec[f] for each feature, as [d_out] rows. */
export function decoderRows(d: SparseDictionary, features: readonly number[]): Float32Array[] {
  checkFeatureIds(d, features);
  const w = d.decoder.w;
  if (w.shape.length !== 2) fail('BAD_INPUT', { file: d.dir, field: w.name }, `a decoder of shape [${w.shape}] writes to several layers (a cross-layer transcoder); its logits are not defined here.`);
  if (d.decoder.layout === 'in-out') return readWeightRows(d.source, w, features); // [d_sae, d_out]: rows
  const all = readTensor(d.source, w); // [d_out, d_sae] (Llama Scope): one column per feature
  const [dOut, dSae] = w.shape;
  return features.map((f) => Float32Array.from({ length: dOut }, (_, i) => all[i * dSae + f]));
}

/**
 * Top and bottom `k` logits of W_dec[f] @ W_U for each feature; `decode` names token ids. The dictionary
 * must write to the residual stream's width (an SAE on hook_z or a head-sized hook has no direct logits).
 */
export function featureLogits(ckpt: Checkpoint, d: SparseDictionary, features: readonly number[], k: number, decode: (id: number) => string): FeatureLogits[] {
  const { dModel, dVocab } = ckpt.config;
  if (d.dOut !== dModel) {
    fail('BAD_INPUT', { file: d.dir, field: d.hookOut ?? d.hookIn }, `the dictionary writes vectors of width ${d.dOut}, not the residual stream's ${dModel}: W_dec[f] @ W_U is not defined.`, 'Logits are shown for dictionaries on residual, attention-output and MLP-output hooks.');
  }
  const rows = decoderRows(d, features); // n x [d_model]
  const logits = features.map(() => new Float32Array(dVocab)); // n x [d_vocab]
  const unembed = ckpt.params.unembed; // [d_vocab, d_model]
  for (let first = 0; first < dVocab; first += VOCAB_CHUNK) {
    const n = Math.min(VOCAB_CHUNK, dVocab - first);
    const chunk = readWeightRowRange(ckpt, unembed, first, n); // [n, d_model]
    rows.forEach((dir, j) => {
      const out = logits[j];
      for (let v = 0; v < n; v++) {
        let dot = 0;
        const base = v * dModel;
        for (let i = 0; i < dModel; i++) dot += dir[i] * chunk[base + i];
        out[first + v] = dot;
      }
    });
  }
  return features.map((feature, j) => {
    const l = logits[j];
    const top = topK(l, k).map(({ index, value }) => ({ id: index, text: decode(index), value }));
    const bottom = topK(l.map((x) => -x), k).map(({ index, value }) => ({ id: index, text: decode(index), value: -value }));
    return { feature, top, bottom };
  });
}
