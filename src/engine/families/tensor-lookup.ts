/**
 * Finds a family's tensors in a checkpoint's weight index under their Hugging Face names (with the
 * model class's optional prefix), each checked against the shape the config implies.
 */
import * as path from 'node:path';
import { fail } from '../errors';
import type { WeightIndex } from '../checkpoint';
import { isFloatDtype } from '../dtype';
import type { Linear, WeightRef } from '../params';

export class TensorLookup {
  /**
   * @param prefix prefix of the base model's tensors in the LM-head class (`transformer.`, `gpt_neox.`, `model.`);
   *   names are tried with it, then without.
   * @param what what a complete checkpoint is called in errors ("GPT-2 checkpoint").
   */
  constructor(private readonly index: WeightIndex, private readonly configPath: string, private readonly prefix: string, private readonly what: string) {}

  has(name: string): boolean {
    return this.index.tensors.has(this.prefix + name) || this.index.tensors.has(name);
  }

  /** A tensor of the base model, or one at the top level (lm_head.weight), when present. */
  find(name: string, shape: number[]): WeightRef | undefined {
    const hit = this.index.tensors.get(this.prefix + name) ?? this.index.tensors.get(name);
    if (!hit) return undefined;
    const { file, entry } = hit;
    if (!isFloatDtype(entry.dtype)) fail('UNSUPPORTED', { file: file.path, field: entry.name }, `dtype ${entry.dtype} is not supported.`, 'Use F32, F16 or BF16 weights.');
    if (entry.shape.length !== shape.length || entry.shape.some((s, i) => s !== shape[i])) {
      fail('BAD_WEIGHTS', { file: file.path, field: entry.name }, `shape [${entry.shape}] does not match [${shape}] implied by ${this.configPath}.`, 'The config and the weights belong to different models.');
    }
    return { name: entry.name, dtype: entry.dtype, shape: entry.shape, location: path.basename(file.path), offset: entry.offset, length: entry.byteLength };
  }

  need(name: string, shape: number[]): WeightRef {
    const ref = this.find(name, shape);
    if (!ref) {
      const names = this.prefix ? `${name} and ${this.prefix}${name}` : name;
      fail('BAD_WEIGHTS', { file: this.index.files[0].path, field: name }, `tensor missing (looked for ${names}).`, `Is this a complete ${this.what}?`);
    }
    return ref;
  }

  /** A torch.nn.Linear [out, in] weight, with its bias when `bias`. */
  linear(name: string, inDim: number, outDim: number, bias: boolean): Linear {
    return { w: this.need(name + '.weight', [outDim, inDim]), b: bias ? this.need(name + '.bias', [outDim]) : undefined, layout: 'out-in' };
  }

  /** Fails when the weights hold a block beyond the config's layer count (`blockName(n)` names one of its tensors). */
  checkNoExtraBlock(blockName: (l: number) => string, nLayers: number, layersField: string): void {
    if (this.has(blockName(nLayers))) fail('BAD_CONFIG', { file: this.configPath, field: layersField }, `is ${nLayers} but the weights have more blocks.`);
  }

  /** The unembedding: `headName` ([d_vocab, d_model]) unless tied to the embedding. */
  unembed(headName: string, embed: WeightRef, tie: boolean, vocab: number, dModel: number): { unembed: WeightRef; tied: boolean } {
    if (tie) return { unembed: embed, tied: true };
    const head = this.find(headName, [vocab, dModel]);
    if (!head) fail('BAD_WEIGHTS', { file: this.index.files[0].path, field: headName }, 'missing while config.json says tie_word_embeddings: false.', 'Add the unembedding, or set tie_word_embeddings: true.');
    return { unembed: head, tied: false };
  }
}

/**
 * Rows [start, start + count) of a tensor whose first axis is split, as a tensor of its own: rows of a
 * row-major tensor are contiguous, so it is a byte sub-range of the same file (no copy). It is named
 * `name[part]`, each part being its own initializer. Splits torch.nn.Linear weights fused along the
 * outputs (Phi-3's qkv_proj, gate_up_proj).
 */
export function rowRange(ref: WeightRef, part: string, start: number, count: number): WeightRef {
  const rowBytes = ref.length / ref.shape[0];
  return { ...ref, name: `${ref.name}[${part}]`, shape: [count, ...ref.shape.slice(1)], offset: ref.offset + start * rowBytes, length: count * rowBytes };
}
