/**
 * One intervention on a hook for a batch whose rows each patch a different slice: row r keeps the
 * hook's own value except on its selected positions and component (a head of hook_z, a neuron of
 * mlp.hook_post, a feature of hook_sae_acts_post), where it takes `values` (zeros when absent). Identity rows change nothing.
 *
 * The hook's per-row shape is [pos, ...rest]; components, when the hook has them, are rest[0].
 */
import type { Intervention } from '../../protocol/runner';
import type { TensorData } from '../../protocol/tensor';

export interface RowPatch {
  /** Positions this row patches (default: all). */
  positions?: readonly number[];
  /** The component (head or neuron) this row patches (default: all). */
  component?: number;
  /** Several components this row patches (instead of `component`). */
  components?: readonly number[];
  /** Replacement values, [pos, ...rest] (default: zeros). */
  values?: Float32Array;
}

export type ComponentAxis = 'none' | 'heads' | 'neurons' | 'features';

/** Which axis of a hook units select: hook_z has heads, mlp.hook_post/hook_pre have neurons, a dictionary's hook_sae_acts_post features. */
export function componentAxisOf(hook: string): ComponentAxis {
  if (hook.endsWith('.hook_sae_acts_post')) return 'features';
  if (hook.endsWith('attn.hook_z') || hook.endsWith('attn.hook_result')) return 'heads';
  if (hook.endsWith('mlp.hook_post') || hook.endsWith('mlp.hook_pre')) return 'neurons';
  return 'none';
}

/**
 * @param rowDims the hook's shape without the batch: [pos, ...rest]
 * @param rows one entry per batch row; `null` = identity row
 */
export function rowIntervention(hook: string, rowDims: number[], rows: (RowPatch | null)[]): Intervention {
  const [pos, ...rest] = rowDims;
  const axis = componentAxisOf(hook);
  const inner = rest.reduce((a, b) => a * b, 1); // values per position
  const comps = axis === 'none' ? 1 : rest[0];
  const perComp = inner / comps;
  const keep = new Float32Array(rows.length * pos * comps).fill(1); // [rows, pos, comps (, 1)]
  const add = new Float32Array(rows.length * pos * inner); // [rows, pos, ...rest]
  rows.forEach((row, r) => {
    if (!row) return;
    const positions = row.positions ?? Array.from({ length: pos }, (_, p) => p);
    const only = row.components && new Set(row.components);
    for (const p of positions) {
      for (let c = 0; c < comps; c++) {
        if (row.component !== undefined && row.component !== c) continue;
        if (only && !only.has(c)) continue;
        keep[(r * pos + p) * comps + c] = 0;
        if (!row.values) continue;
        const from = (p * comps + c) * perComp;
        add.set(row.values.subarray(from, from + perComp), (r * pos + p) * inner + c * perComp);
      }
    }
  });
  const keepDims = axis === 'none' ? [rows.length, pos, 1] : rest.length === 2 ? [rows.length, pos, comps, 1] : [rows.length, pos, comps];
  return { hook, keep: { dims: keepDims, data: keep }, add: { dims: [rows.length, ...rowDims], data: add } };
}

/** Rows [1, ...rest] stacked into [rows, ...rest]. */
export function stackRows(rows: TensorData[]): TensorData {
  const per = rows[0].data.length;
  const data = new Float32Array(per * rows.length);
  rows.forEach((r, i) => data.set(r.data, i * per));
  return { dims: [rows.length, ...rows[0].dims.slice(1)], data };
}
