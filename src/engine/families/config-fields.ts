/**
 * Typed reads of config.json fields, each failing with the file, the field and what was found.
 */
import { fail } from '../errors';
import type { Activation } from '../model-config';

/** Hugging Face activation names and the function each computes. */
const ACTIVATIONS: Readonly<Record<string, Activation>> = {
  gelu_new: 'gelu_new',
  gelu_pytorch_tanh: 'gelu_new',
  gelu_fast: 'gelu_new',
  gelu: 'gelu',
  relu: 'relu',
  silu: 'silu',
  swish: 'silu',
};

export class ConfigFields {
  constructor(readonly raw: Record<string, unknown>, readonly path: string) {}

  /** A positive integer up to `max`; `fallback` when the field is absent or null. */
  int(field: string, max: number, fallback?: number): number {
    const v = this.raw[field] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0 || v > max) {
      fail('BAD_CONFIG', { file: this.path, field }, `must be a positive integer up to ${max}, got ${JSON.stringify(this.raw[field])}.`);
    }
    return v;
  }

  /** A number in (0, max]. */
  positive(field: string, max: number, fallback: number): number {
    const v = this.raw[field] ?? fallback;
    if (typeof v !== 'number' || !(v > 0) || v > max) fail('BAD_CONFIG', { file: this.path, field }, `must be a number in (0, ${max}], got ${JSON.stringify(v)}.`);
    return v;
  }

  bool(field: string, fallback: boolean): boolean {
    const v = this.raw[field] ?? fallback;
    if (typeof v !== 'boolean') fail('BAD_CONFIG', { file: this.path, field }, `must be true or false, got ${JSON.stringify(v)}.`);
    return v;
  }

  activation(field: string, fallback: string): Activation {
    const name = this.raw[field] ?? fallback;
    const act = typeof name === 'string' ? ACTIVATIONS[name] : undefined;
    if (!act) fail('UNSUPPORTED', { file: this.path, field }, `${JSON.stringify(name)} is not supported.`, `Supported: ${Object.keys(ACTIVATIONS).join(', ')}.`);
    return act;
  }

  /** d_model split into heads: d_model must be a multiple of the head count. */
  headSize(dModel: number, nHeads: number, headsField: string, dModelField: string): number {
    if (dModel % nHeads !== 0) fail('BAD_CONFIG', { file: this.path, field: headsField }, `${dModelField} ${dModel} is not divisible by ${headsField} ${nHeads}.`);
    return dModel / nHeads;
  }

  /** `bos_token_id` when it is a valid token id, else null. */
  bosTokenId(dVocab: number): number | null {
    const bos = this.raw.bos_token_id;
    return typeof bos === 'number' && Number.isInteger(bos) && bos >= 0 && bos < dVocab ? bos : null;
  }
}
