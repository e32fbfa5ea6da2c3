/** Hand-built dictionary files for hostile-input tests: SAELens folders and .npz archives with chosen defects. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { zipSync } from 'fflate';
import { RawTensor, f32, writeSafetensors } from './safetensors-writer';

export function f32Tensor(shape: number[], fill = (i: number) => Math.sin(i)): RawTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return { dtype: 'F32', shape, bytes: f32(Array.from({ length: n }, (_, i) => fill(i))) };
}

/** A valid standard SAELens folder (d_in 4, d_sae 8), with the config and tensors editable. */
export function saeLensFolder(dir: string, edit: { cfg?: Record<string, unknown>; tensors?: Record<string, RawTensor | undefined> } = {}): string {
  fs.mkdirSync(dir, { recursive: true });
  const tensors: Record<string, RawTensor | undefined> = {
    W_enc: f32Tensor([4, 8]), b_enc: f32Tensor([8]), W_dec: f32Tensor([8, 4]), b_dec: f32Tensor([4]), ...edit.tensors,
  };
  writeSafetensors(path.join(dir, 'sae_weights.safetensors'), Object.fromEntries(Object.entries(tensors).filter((e): e is [string, RawTensor] => !!e[1])));
  const cfg = { architecture: 'standard', d_in: 4, d_sae: 8, apply_b_dec_to_input: true, normalize_activations: 'none', metadata: { hook_name: 'blocks.0.hook_resid_post' }, ...edit.cfg };
  fs.writeFileSync(path.join(dir, 'cfg.json'), JSON.stringify(cfg));
  return dir;
}

/** A .npy member: header with `descr` and `shape`, then `data` (whatever it holds). */
export function npyBytes(descr: string, shape: number[], data: Uint8Array, fortran = false): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  header = header.padEnd(Math.ceil((10 + header.length + 1) / 64) * 64 - 11, ' ') + '\n';
  const out = new Uint8Array(10 + header.length + data.length);
  out.set([0x93, ...Buffer.from('NUMPY'), 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(data, 10 + header.length);
  return out;
}

/** An .npz with these members (deflated unless `stored`). */
export function writeNpz(file: string, members: Record<string, Uint8Array>, stored = false): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, zipSync(Object.fromEntries(Object.entries(members).map(([k, v]) => [`${k}.npy`, [v, { level: stored ? 0 : 6 }]]))));
}

/** A valid Gemma Scope params.npz (d_in 4, d_sae 8) with members replaceable. */
export function gemmaScopeNpz(file: string, replace: Record<string, Uint8Array> = {}, stored = false): void {
  const m = (shape: number[]) => npyBytes('<f4', shape, f32Tensor(shape).bytes);
  writeNpz(file, { W_enc: m([4, 8]), W_dec: m([8, 4]), b_enc: m([8]), b_dec: m([4]), threshold: m([8]), ...replace }, stored);
}

/** A SAELens SAE that reconstructs exactly: relu(x) - relu(-x) = x, with W_enc = [I, -I], W_dec = [I; -I] and no biases. */
export function identitySaeFolder(dir: string, d: number, hook: string): string {
  return saeLensFolder(dir, {
    cfg: { d_in: d, d_sae: 2 * d, apply_b_dec_to_input: false, metadata: { hook_name: hook } },
    tensors: {
      W_enc: f32Tensor([d, 2 * d], (i) => { const r = Math.floor(i / (2 * d)); const c = i % (2 * d); return c === r ? 1 : c === r + d ? -1 : 0; }),
      b_enc: f32Tensor([2 * d], () => 0),
      W_dec: f32Tensor([2 * d, d], (i) => { const r = Math.floor(i / d); const c = i % d; return r === c ? 1 : r === c + d ? -1 : 0; }),
      b_dec: f32Tensor([d], () => 0),
    },
  });
}
