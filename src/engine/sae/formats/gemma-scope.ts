/**
 * Gemma Scope 1 (Gemma 2): one params.npz per folder, `layer_L/width_W/average_l0_N/`, with W_enc
 * [d_in, d_sae], W_dec [d_sae, d_out], b_enc, b_dec and threshold; JumpReLU with SAELens' semantics, no
 * b_dec subtraction, no normalisation. No config names the hook: it comes from the repository's site
 * suffix and the layer folder (hook-names.ts). The members are inflated into memory.
 */
import * as path from 'node:path';
import { fail } from '../../errors';
import { gemmaScopeHooks } from '../hook-names';
import { readNpz } from '../npz';
import { TensorTable, addMemoryTensor, need, tensorTable } from '../tensors';
import type { SparseDictionary } from '../types';
import { DEFAULT_MAX_IN_MEMORY_BYTES, ReaderOptions, isFile, pickHook } from './common';

export const GEMMA_SCOPE_PARAMS = 'params.npz';

export function isGemmaScopeFolder(dir: string): boolean {
  return isFile(path.join(dir, GEMMA_SCOPE_PARAMS));
}

/** The transcoder releases name the matrices w_enc / w_dec (as SAELens' loader reads them); the SAEs W_enc / W_dec. */
const LOWER_CASE_NAMES: Record<string, string> = { w_enc: 'W_enc', w_dec: 'W_dec' };

/** Inflates a Gemma Scope params.npz into a table (in memory), matrices under their upper-case names. */
export function addNpzMembers(t: TensorTable, file: string, opts: ReaderOptions): void {
  for (const [member, arr] of readNpz(file, { maxBytes: opts.maxInMemoryBytes ?? DEFAULT_MAX_IN_MEMORY_BYTES })) {
    const name = LOWER_CASE_NAMES[member] ?? member;
    if (t.refs.has(name)) fail('BAD_WEIGHTS', { file, field: member }, `both ${member} and ${name} are present.`);
    addMemoryTensor(t, `${path.basename(file)}#${member}`, name, arr.shape, arr.data, file);
  }
}

export function readGemmaScope(dir: string, opts: ReaderOptions): SparseDictionary {
  const file = path.join(dir, GEMMA_SCOPE_PARAMS);
  const t = tensorTable([], dir);
  addNpzMembers(t, file, opts);
  const wEnc = need(t, 'W_enc', [['d_in'], ['d_sae']]); // [d_in, d_sae]
  const [dIn, dSae] = wEnc.shape;
  const derived = gemmaScopeHooks(dir);
  const transcoder = derived?.hookOut !== undefined;
  const wDec = need(t, 'W_dec', [['d_sae', dSae], ['d_out', transcoder ? undefined : dIn]]); // [d_sae, d_out]
  const dOut = wDec.shape[1];
  const hooks = pickHook(dir, opts, derived?.hookIn, 'folder',
    'the folder is not under a gemma-scope-*-{res,mlp,att,transcoders} repository with a layer_L folder (embedding SAEs were trained on unscaled embeddings and need the hook named)');
  return {
    format: 'gemma-scope',
    dir,
    kind: transcoder ? 'transcoder' : 'sae',
    architecture: 'jumprelu',
    activation: { kind: 'jumprelu', threshold: need(t, 'threshold', [['d_sae', dSae]]), semantics: 'saelens' },
    dIn,
    dSae,
    dOut,
    ...hooks,
    hookOut: derived?.hookOut,
    layer: derived?.layer,
    encoder: { w: wEnc, b: need(t, 'b_enc', [['d_sae', dSae]]), layout: 'in-out' },
    decoder: { w: wDec, b: need(t, 'b_dec', [['d_out', dOut]]), layout: 'in-out' },
    applyBDecToInput: false,
    normalization: { kind: 'none' },
    rescaleActsByDecoderNorm: false,
    reshapeActivations: hooks.hookIn.endsWith('attn.hook_z') ? 'hook_z' : 'none',
    notes: derived?.notes ?? [],
    source: t.source,
  };
}
