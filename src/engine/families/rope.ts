/** Rotary embedding settings from config.json: the base (`rope_theta`) and `rope_scaling`. */
import { fail } from '../errors';
import type { RopeScaling, RotaryConfig } from '../model-config';
import type { ConfigFields } from './config-fields';

const SUPPORTED = "Supported rope_scaling types: 'linear', 'llama3' (or none).";

/** Newer transformers keep rope_theta and the scaling together in `rope_parameters`. */
function ropeParameters(f: ConfigFields): Record<string, unknown> | undefined {
  const p = f.raw.rope_parameters;
  if (p == null) return undefined;
  if (typeof p !== 'object' || Array.isArray(p)) fail('BAD_CONFIG', { file: f.path, field: 'rope_parameters' }, `must be an object, got ${JSON.stringify(p)}.`);
  return p as Record<string, unknown>;
}

function scaling(f: ConfigFields): RopeScaling | null {
  const field = f.raw.rope_scaling != null ? 'rope_scaling' : 'rope_parameters';
  const s = f.raw.rope_scaling ?? ropeParameters(f);
  if (s == null) return null;
  if (typeof s !== 'object' || Array.isArray(s)) fail('BAD_CONFIG', { file: f.path, field }, `must be an object or null, got ${JSON.stringify(s)}.`);
  const o = s as Record<string, unknown>;
  const type = o.rope_type ?? o.type;
  const num = (key: string, fallback?: number): number => {
    const v = o[key] ?? fallback;
    if (typeof v !== 'number' || !(v > 0)) fail('BAD_CONFIG', { file: f.path, field: `${field}.${key}` }, `must be a positive number, got ${JSON.stringify(o[key])}.`);
    return v;
  };
  if (type === 'default' || (type === undefined && field === 'rope_parameters')) return null;
  if (type === 'linear') return { type: 'linear', factor: num('factor') };
  if (type === 'llama3') {
    return { type: 'llama3', factor: num('factor'), lowFreqFactor: num('low_freq_factor', 1), highFreqFactor: num('high_freq_factor', 4), originalMaxPositions: num('original_max_position_embeddings', 8192) };
  }
  fail('UNSUPPORTED', { file: f.path, field: `${field}.rope_type` }, `${JSON.stringify(type)} is not supported.`, SUPPORTED);
}

/**
 * `dims` rotated dimensions per head (set by config field `dimsField`); the base comes from rope_theta
 * (or GPT-NeoX's older rotary_emb_base, or rope_parameters).
 */
export function rotaryConfig(f: ConfigFields, dims: number, dimsField: string): RotaryConfig {
  if (dims % 2 !== 0 || dims <= 0) fail('UNSUPPORTED', { file: f.path, field: dimsField }, `gives ${dims} rotary dimensions per head; rotary embeddings need an even, positive number.`, `Choose ${dimsField} so that the rotated dimensions per head are even.`);
  const nested = ropeParameters(f)?.rope_theta;
  const baseField = f.raw.rope_theta != null ? 'rope_theta' : f.raw.rotary_emb_base != null ? 'rotary_emb_base' : undefined;
  const base = baseField ? f.positive(baseField, 1e12, 10000) : nested ?? 10000;
  if (typeof base !== 'number' || !(base > 0)) fail('BAD_CONFIG', { file: f.path, field: 'rope_parameters.rope_theta' }, `must be a positive number, got ${JSON.stringify(base)}.`);
  return { dims, base, scaling: scaling(f) };
}

/**
 * Inverse frequencies of the rotated pairs, as Hugging Face computes them (rotate-half layout: pair i is
 * dimensions i and i + dims / 2), with linear or Llama 3 scaling applied.
 */
export function inverseFrequencies(r: RotaryConfig): number[] {
  const inv = Array.from({ length: r.dims / 2 }, (_, i) => 1 / r.base ** ((2 * i) / r.dims));
  const s = r.scaling;
  if (!s) return inv;
  if (s.type === 'linear') return inv.map((f) => f / s.factor);
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
