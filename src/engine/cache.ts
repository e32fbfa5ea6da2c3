/**
 * Activations of one run keyed by TransformerLens hook name, with TransformerLens' accumulated_resid.
 */
import { fail } from './errors';
import type { ModelConfig } from './model-config';
import type { TensorData } from '../protocol/tensor';

export interface AccumulatedResid {
  /** Component labels, as TransformerLens: "0_pre", "0_mid", ..., "final_post". */
  labels: string[];
  /** [component, batch, pos, d_model] */
  resid: TensorData;
}

export class ActivationCache {
  constructor(private readonly tensors: Map<string, TensorData>, readonly config: ModelConfig) {}

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  get(name: string): TensorData {
    const t = this.tensors.get(name);
    if (!t) fail('UNKNOWN_HOOK', { field: name }, 'not in this cache.', 'Run the trace with this hook point requested.');
    return t;
  }

  /** Bytes held by the cache (shared tensors counted once). */
  byteSize(): number {
    return [...new Set([...this.tensors.values()].map((t) => t.data))].reduce((a, d) => a + d.byteLength, 0);
  }

  /**
   * The residual stream before each layer up to `layer` (default: all layers plus the final
   * resid_post), optionally with each resid_mid, optionally scaled by the cached final norm
   * (centred for LayerNorm, not for RMSNorm, and divided by ln_final.hook_scale, without its weight and
   * bias, as TransformerLens' apply_ln_to_stack).
   */
  accumulatedResid(opts: { layer?: number; inclMid?: boolean; applyLn?: boolean } = {}): AccumulatedResid {
    const n = this.config.nLayers;
    const layer = opts.layer ?? n + 1;
    if (!Number.isInteger(layer) || layer < 0 || layer > n + 1) fail('BAD_INPUT', { field: 'layer' }, `must be in [0, ${n + 1}], got ${layer}.`);
    const names: [string, string][] = [];
    for (let l = 0; l < Math.min(layer, n); l++) {
      names.push([`${l}_pre`, `blocks.${l}.hook_resid_pre`]);
      if (opts.inclMid) names.push([`${l}_mid`, `blocks.${l}.hook_resid_mid`]);
    }
    if (layer === n + 1) names.push(['final_post', `blocks.${n - 1}.hook_resid_post`]);
    const parts = names.map(([, hook]) => this.get(hook));
    const [batch, pos, d] = parts[0]?.dims ?? [0, 0, this.config.dModel];
    const rows = batch * pos;
    const out = new Float32Array(parts.length * rows * d); // [component, batch, pos, d_model]
    parts.forEach((p, c) => out.set(p.data, c * rows * d));
    if (opts.applyLn) {
      const scale = this.get('ln_final.hook_scale').data; // [batch, pos, 1]
      const centre = this.config.normalization === 'layernorm'; // RMSNorm does not centre
      for (let c = 0; c < parts.length; c++) {
        for (let r = 0; r < rows; r++) {
          const base = (c * rows + r) * d;
          let mean = 0;
          if (centre) {
            for (let i = 0; i < d; i++) mean += out[base + i];
            mean /= d;
          }
          for (let i = 0; i < d; i++) out[base + i] = (out[base + i] - mean) / scale[r];
        }
      }
    }
    return { labels: names.map(([label]) => label), resid: { dims: [parts.length, batch, pos, d], data: out } };
  }
}
