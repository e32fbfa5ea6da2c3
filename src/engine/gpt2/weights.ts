/**
 * GPT-2 parameters found in a checkpoint's tensors under Hugging Face names (with or without the
 * `transformer.` prefix of GPT2LMHeadModel), each checked against the shape the config implies.
 * Conv1D layout: c_attn/c_proj/c_fc weights are [in, out], so y = x @ W + b with no transpose.
 */
import * as path from 'node:path';
import { fail } from '../errors';
import type { ModelConfig } from '../config';
import type { WeightIndex } from '../checkpoint';
import { FloatDtype, isFloatDtype } from '../dtype';

export interface WeightRef {
  /** The Hugging Face tensor name. */
  name: string;
  dtype: FloatDtype;
  shape: number[];
  /** File name inside the weight index's data folder, and the byte range. */
  location: string;
  offset: number;
  length: number;
}

export interface Gpt2Block {
  ln1W: WeightRef; ln1B: WeightRef;
  attnW: WeightRef; attnB: WeightRef; // [d, 3d], [3d]: q | k | v columns
  projW: WeightRef; projB: WeightRef; // [d, d], [d]
  ln2W: WeightRef; ln2B: WeightRef;
  fcW: WeightRef; fcB: WeightRef; // [d, d_mlp], [d_mlp]
  fcProjW: WeightRef; fcProjB: WeightRef; // [d_mlp, d], [d]
}

export interface Gpt2Weights {
  wte: WeightRef; // [d_vocab, d_model]
  wpe: WeightRef; // [n_ctx, d_model]
  blocks: Gpt2Block[];
  lnFW: WeightRef; lnFB: WeightRef;
  /** The unembedding as [d_vocab, d_model]: lm_head.weight, or wte when tied. */
  unembed: WeightRef;
  tied: boolean;
}

export function findGpt2Weights(c: ModelConfig, index: WeightIndex, configPath: string): Gpt2Weights {
  const { dModel: d, dMlp: m, dVocab: v, nCtx } = c;
  const lookup = (name: string): WeightRef | undefined => {
    const hit = index.tensors.get('transformer.' + name) ?? index.tensors.get(name);
    if (!hit) return undefined;
    const { file, entry } = hit;
    if (!isFloatDtype(entry.dtype)) fail('UNSUPPORTED', { file: file.path, field: entry.name }, `dtype ${entry.dtype} is not supported.`, 'Use F32, F16 or BF16 weights.');
    return { name: entry.name, dtype: entry.dtype, shape: entry.shape, location: path.basename(file.path), offset: entry.offset, length: entry.byteLength };
  };
  const need = (name: string, shape: number[]): WeightRef => {
    const ref = lookup(name);
    if (!ref) fail('BAD_WEIGHTS', { file: index.files[0].path, field: name }, `tensor missing (looked for ${name} and transformer.${name}).`, 'Is this a complete GPT-2 checkpoint?');
    if (ref.shape.length !== shape.length || ref.shape.some((s, i) => s !== shape[i])) {
      fail('BAD_WEIGHTS', { file: index.files[0].path, field: ref.name }, `shape [${ref.shape}] does not match [${shape}] implied by ${configPath}.`, 'The config and the weights belong to different models.');
    }
    return ref;
  };
  const blocks: Gpt2Block[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const p = `h.${l}.`;
    blocks.push({
      ln1W: need(p + 'ln_1.weight', [d]), ln1B: need(p + 'ln_1.bias', [d]),
      attnW: need(p + 'attn.c_attn.weight', [d, 3 * d]), attnB: need(p + 'attn.c_attn.bias', [3 * d]),
      projW: need(p + 'attn.c_proj.weight', [d, d]), projB: need(p + 'attn.c_proj.bias', [d]),
      ln2W: need(p + 'ln_2.weight', [d]), ln2B: need(p + 'ln_2.bias', [d]),
      fcW: need(p + 'mlp.c_fc.weight', [d, m]), fcB: need(p + 'mlp.c_fc.bias', [m]),
      fcProjW: need(p + 'mlp.c_proj.weight', [m, d]), fcProjB: need(p + 'mlp.c_proj.bias', [d]),
    });
  }
  if (index.tensors.has(`transformer.h.${c.nLayers}.ln_1.weight`) || index.tensors.has(`h.${c.nLayers}.ln_1.weight`)) {
    fail('BAD_CONFIG', { file: configPath, field: 'n_layer' }, `is ${c.nLayers} but the weights have more blocks.`);
  }
  const wte = need('wte.weight', [v, d]);
  const head = index.tensors.has('lm_head.weight') && !c.tieWordEmbeddings ? need('lm_head.weight', [v, d]) : undefined;
  if (!head && !c.tieWordEmbeddings) {
    fail('BAD_WEIGHTS', { file: index.files[0].path, field: 'lm_head.weight' }, 'missing while config.json says tie_word_embeddings: false.');
  }
  return {
    wte,
    wpe: need('wpe.weight', [nCtx, d]),
    blocks,
    lnFW: need('ln_f.weight', [d]), lnFB: need('ln_f.bias', [d]),
    unembed: head ?? wte,
    tied: !head,
  };
}
