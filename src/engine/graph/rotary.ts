/**
 * Rotary position embeddings in the rotate-half layout of GPT-NeoX and Llama (Hugging Face's
 * rotate_half, TransformerLens' rotary_adjacent_pairs = False): the first `dims` dimensions of each
 * head rotate, pair i being dimensions i and i + dims / 2; the rest pass through.
 */
import type { RotaryConfig } from '../model-config';
import { inverseFrequencies } from '../families/rope';
import type { GraphContext } from './context';

export interface RotaryTables {
  /** [pos, 1, dims] */
  cos: string;
  sin: string;
}

/**
 * cos and sin of position * inverse frequency, computed in the graph for the run's length. LongRoPE: the
 * long factors' frequencies when the run is longer than the original context, else the short ones (chosen
 * in the graph, as transformers chooses per forward), and both tables times the attention factor.
 */
export function rotaryTables(ctx: GraphContext, r: RotaryConfig): RotaryTables {
  const g = ctx.g;
  const freqsOf = (inv: number[]) => g.constF([...inv, ...inv], [1, r.dims]); // [1, dims]: each frequency twice (halves)
  let freqs = freqsOf(inverseFrequencies(r));
  const s = r.scaling;
  if (s?.type === 'longrope') {
    const long = g.op('Greater', [ctx.posLen, g.constI([s.originalMaxPositions])]); // [1] bool
    freqs = g.op('Where', [long, freqsOf(inverseFrequencies(r, true)), freqs]);
  }
  const n = g.op('Squeeze', [ctx.posLen, g.constI([0])]); // scalar pos
  const positions = g.op('Cast', [g.op('Range', [g.constI([0], []), n, g.constI([1], [])])], { to: 1 }); // [pos]
  const angles = g.op('Mul', [g.op('Unsqueeze', [positions, g.constI([1])]), freqs]); // [pos, dims]
  const shape = g.constI([0, 1, r.dims]);
  const scale = s?.type === 'longrope' && s.attentionFactor !== 1 ? g.constF([s.attentionFactor], []) : null;
  const table = (op: 'Cos' | 'Sin') => {
    const t = g.op(op, [angles]);
    return g.op('Reshape', [scale ? g.op('Mul', [t, scale]) : t, shape]);
  };
  return { cos: table('Cos'), sin: table('Sin') };
}

/** x [batch, pos, heads, d_head] rotated into tensor `out`. */
export function applyRotary(ctx: GraphContext, x: string, t: RotaryTables, dims: number, dHead: number, out: string): string {
  const g = ctx.g;
  const half = dims / 2;
  const slice = (from: number, to: number) => g.op('Slice', [x, g.constI([from]), g.constI([to]), g.constI([3])]);
  const x1 = slice(0, half); // [batch, pos, heads, dims / 2]
  const x2 = slice(half, dims);
  const flipped = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: 3 }); // [batch, pos, heads, dims]
  const xRot = dims === dHead ? x : slice(0, dims);
  const rotated = g.op('Add', [g.op('Mul', [xRot, t.cos]), g.op('Mul', [flipped, t.sin])], {}, dims === dHead ? out : undefined);
  if (dims === dHead) return rotated;
  return g.op('Concat', [rotated, slice(dims, dHead)], { axis: 3 }, out);
}
