/**
 * Metrics of a run, one value per batch row, computed from logits [batch, pos, d_vocab]:
 * - logitDiff: logit(answer) - logit(counterfactual) at `position` (default: last);
 * - answerProb: probability of the answer at `position`;
 * - loss: mean next-token loss over targets in [from, to) (default: every position).
 * Patching normalizes them: 0 = the corrupted run, 1 = the clean run.
 */
import { fail } from '../errors';
import { logProbAt } from '../math';
import type { TensorData } from '../../protocol/tensor';

export type MetricSpec =
  | { kind: 'logitDiff'; answer: number; counterfactual: number; position?: number }
  | { kind: 'answerProb'; answer: number; position?: number }
  | { kind: 'loss'; from?: number; to?: number };

/** What a gradient is taken of: a metric, or one token's logit at a position (default: last). */
export type GradMetric = MetricSpec | { kind: 'logit'; token: number; position?: number };

export function metricName(m: MetricSpec): string {
  return m.kind === 'logitDiff' ? 'logit difference' : m.kind === 'answerProb' ? 'answer probability' : 'loss';
}

/** Which logits a metric reads: only the last position's (cheap) unless it needs others. */
export function logitsNeeded(m: MetricSpec): 'all' | 'last' {
  return m.kind !== 'loss' && m.position === undefined ? 'last' : 'all';
}

/** The metric of each batch row. `tokens` are the rows' token ids (needed by `loss`). */
export function metricValues(logits: TensorData, m: MetricSpec, tokens: readonly (readonly number[])[]): Float64Array {
  const [batch, pos, vocab] = logits.dims; // [batch, pos, d_vocab]
  const row = (b: number, p: number) => logits.data.subarray((b * pos + p) * vocab, (b * pos + p + 1) * vocab);
  const at = (p: number | undefined) => {
    const q = p ?? pos - 1;
    if (!Number.isInteger(q) || q < 0 || q >= pos) fail('BAD_INPUT', { field: 'metric.position' }, `must be in [0, ${pos}), got ${q}.`);
    return q;
  };
  return Float64Array.from({ length: batch }, (_, b) => {
    switch (m.kind) {
      case 'logitDiff': {
        const r = row(b, at(m.position));
        return r[m.answer] - r[m.counterfactual];
      }
      case 'answerProb':
        return Math.exp(logProbAt(row(b, at(m.position)), m.answer));
      case 'loss': {
        const from = Math.max(1, m.from ?? 1);
        const to = Math.min(pos, m.to ?? pos);
        if (to <= from) fail('BAD_INPUT', { field: 'metric' }, `loss range [${from}, ${to}) is empty.`);
        let sum = 0;
        for (let t = from; t < to; t++) sum -= logProbAt(row(b, t - 1), tokens[b][t]);
        return sum / (to - from);
      }
    }
  });
}

/** (value - corrupted) / (clean - corrupted): 0 = corrupted run, 1 = clean run. */
export function normalizeMetric(value: number, clean: number, corrupted: number): number {
  const span = clean - corrupted;
  if (span === 0) fail('BAD_INPUT', { field: 'metric' }, 'the clean and corrupted runs give the same metric, so it cannot be normalized.', 'Choose prompts or answer tokens that the model tells apart.');
  return (value - corrupted) / span + 0; // + 0 turns -0 into 0
}
