/**
 * Rotary embedding settings from config.json: the base (`rope_theta`), the scaling (`rope_scaling`) and the
 * rotated fraction of each head, in either shape transformers writes: v4's top-level `rope_theta` /
 * `rope_scaling` / `partial_rotary_factor`, or v5's `rope_parameters` holding them all.
 */
import { fail } from '../errors';
import type { RopeScaling, RotaryConfig } from '../model-config';
import type { ConfigFields } from './config-fields';

const SUPPORTED = "Supported rope_scaling types: 'linear', 'llama3', 'longrope' (or none).";

/** What a family's config class does beyond transformers' shared rope handling. */
export interface RopeOptions {
  /** Old rope type names the family's config class renames to 'longrope' (Phi3Config: 'su', 'yarn'). */
  longropeAliases?: readonly string[];
}

/** Newer transformers keep rope_theta and the scaling together in `rope_parameters`. */
function ropeParameters(f: ConfigFields): Record<string, unknown> | undefined {
  const p = f.raw.rope_parameters;
  if (p == null) return undefined;
  if (typeof p !== 'object' || Array.isArray(p)) fail('BAD_CONFIG', { file: f.path, field: 'rope_parameters' }, `must be an object, got ${JSON.stringify(p)}.`);
  return p as Record<string, unknown>;
}

/**
 * The fraction of each head that rotates: the family's own older field when present (GPT-NeoX's rotary_pct),
 * else top-level `partial_rotary_factor`, else v5's `rope_parameters.partial_rotary_factor`, else `fallback`.
 * Returns the factor and the field it came from (for errors).
 */
export function partialRotaryFactor(f: ConfigFields, fallback: number, legacyField?: string): { factor: number; field: string } {
  const candidates: [unknown, string][] = [[f.raw.partial_rotary_factor, 'partial_rotary_factor'], [ropeParameters(f)?.partial_rotary_factor, 'rope_parameters.partial_rotary_factor']];
  if (legacyField) candidates.unshift([f.raw[legacyField], legacyField]);
  const [v, field] = candidates.find(([value]) => value != null) ?? [fallback, legacyField ?? 'partial_rotary_factor'];
  if (typeof v !== 'number' || !(v > 0) || v > 1) fail('BAD_CONFIG', { file: f.path, field }, `must be a number in (0, 1], got ${JSON.stringify(v)}.`);
  return { factor: v, field };
}

/** A list of `n` positive numbers (LongRoPE's short_factor / long_factor). */
function factorList(f: ConfigFields, o: Record<string, unknown>, field: string, key: string, n: number): number[] {
  const v = o[key];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && x > 0)) {
    fail('BAD_CONFIG', { file: f.path, field: `${field}.${key}` }, `must be a list of positive numbers, got ${JSON.stringify(v)}.`);
  }
  if (v.length !== n) fail('BAD_CONFIG', { file: f.path, field: `${field}.${key}` }, `has ${v.length} entries; the ${2 * n} rotary dimensions per head need ${n}.`);
  return v as number[];
}

function scaling(f: ConfigFields, dims: number, opts: RopeOptions): RopeScaling | null {
  const field = f.raw.rope_scaling != null ? 'rope_scaling' : 'rope_parameters';
  const s = f.raw.rope_scaling ?? ropeParameters(f);
  if (s == null) return null;
  if (typeof s !== 'object' || Array.isArray(s)) fail('BAD_CONFIG', { file: f.path, field }, `must be an object or null, got ${JSON.stringify(s)}.`);
  const o = s as Record<string, unknown>;
  const named = o.rope_type ?? o.type;
  const type = typeof named === 'string' && opts.longropeAliases?.includes(named) ? 'longrope' : named;
  const num = (key: string, fallback?: number): number => {
    const v = o[key] ?? fallback;
    if (typeof v !== 'number' || !(v > 0)) fail('BAD_CONFIG', { file: f.path, field: `${field}.${key}` }, `must be a positive number, got ${JSON.stringify(o[key])}.`);
    return v;
  };
  // transformers v5 (standardize_rope_params): a top-level original_max_position_embeddings wins over the
  // scaling's own, and max_position_embeddings stands in for both.
  const originalMaxPositions = (): number => {
    if (f.raw.original_max_position_embeddings != null) return f.int('original_max_position_embeddings', 1 << 24);
    return o.original_max_position_embeddings != null ? num('original_max_position_embeddings') : f.int('max_position_embeddings', 1 << 24, 2048);
  };
  if (type === 'default' || (type === undefined && field === 'rope_parameters')) return null;
  if (type === 'linear') return { type: 'linear', factor: num('factor') };
  if (type === 'llama3') {
    return { type: 'llama3', factor: num('factor'), lowFreqFactor: num('low_freq_factor', 1), highFreqFactor: num('high_freq_factor', 4), originalMaxPositions: originalMaxPositions() };
  }
  if (type === 'longrope') {
    const original = originalMaxPositions();
    // The default attention factor is sqrt(1 + ln(factor) / ln(original)), with factor (if not given) the
    // context extension max_position_embeddings / original_max_position_embeddings; 1 without extension.
    const factor = o.factor != null ? num('factor') : f.int('max_position_embeddings', 1 << 24, 2048) / original;
    const attentionFactor = o.attention_factor != null ? num('attention_factor') : factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(original));
    return { type: 'longrope', shortFactor: factorList(f, o, field, 'short_factor', dims / 2), longFactor: factorList(f, o, field, 'long_factor', dims / 2), originalMaxPositions: original, attentionFactor };
  }
  fail('UNSUPPORTED', { file: f.path, field: `${field}.rope_type` }, `${JSON.stringify(named)} is not supported.`, SUPPORTED);
}

/**
 * `dims` rotated dimensions per head (set by config field `dimsField`); the base comes from rope_theta
 * (or GPT-NeoX's older rotary_emb_base, or rope_parameters).
 */
export function rotaryConfig(f: ConfigFields, dims: number, dimsField: string, opts: RopeOptions = {}): RotaryConfig {
  if (dims % 2 !== 0 || dims <= 0) fail('UNSUPPORTED', { file: f.path, field: dimsField }, `gives ${dims} rotary dimensions per head; rotary embeddings need an even, positive number.`, `Choose ${dimsField} so that the rotated dimensions per head are even.`);
  const nested = ropeParameters(f)?.rope_theta;
  const baseField = f.raw.rope_theta != null ? 'rope_theta' : f.raw.rotary_emb_base != null ? 'rotary_emb_base' : undefined;
  const base = baseField ? f.positive(baseField, 1e12, 10000) : nested ?? 10000;
  if (typeof base !== 'number' || !(base > 0)) fail('BAD_CONFIG', { file: f.path, field: 'rope_parameters.rope_theta' }, `must be a positive number, got ${JSON.stringify(base)}.`);
  return { dims, base, scaling: scaling(f, dims, opts) };
}

/**
 * Inverse frequencies of the rotated pairs, as Hugging Face computes them (rotate-half layout: pair i is
 * dimensions i and i + dims / 2), with linear, Llama 3 or LongRoPE scaling applied (`long`: LongRoPE's long
 * factors, for runs longer than its original context).
 */
export function inverseFrequencies(r: RotaryConfig, long = false): number[] {
  const inv = Array.from({ length: r.dims / 2 }, (_, i) => 1 / r.base ** ((2 * i) / r.dims));
  const s = r.scaling;
  if (!s) return inv;
  if (s.type === 'linear') return inv.map((f) => f / s.factor);
  if (s.type === 'longrope') {
    const factors = long ? s.longFactor : s.shortFactor;
    return inv.map((f, i) => f / factors[i]);
  }
  // Llama 3: low frequencies (long wavelengths) are divided by the factor, high ones kept, and the band between blended.
  const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositions / s.highFreqFactor;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / s.factor;
    const smooth = (s.originalMaxPositions / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    return (1 - smooth) * (f / s.factor) + smooth * f;
  });
}
