import type { GraphBuilder } from '../graph/builder';
import type { WeightRef } from '../params';

/**
 * Declares a checkpoint tensor as an external-data initializer and returns the name of its fp32 value:
 * half-precision weights get a Cast, which onnxruntime folds once at session creation.
 */
export function weightInput(g: GraphBuilder, ref: WeightRef): string {
  if (ref.dtype === 'F32') return g.externalInit(ref.name, 'float', ref.shape, ref);
  const stored = g.externalInit(`${ref.name}.${ref.dtype.toLowerCase()}`, ref.dtype === 'F16' ? 'float16' : 'bfloat16', ref.shape, ref);
  return g.op('Cast', [stored], { to: 1 });
}
