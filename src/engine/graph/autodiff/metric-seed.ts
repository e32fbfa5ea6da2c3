/**
 * The metric a backward pass starts from, as graph nodes reading `logits` [batch, L, d_vocab] (L = pos, or
 * 1 with last-position logits): the graph output `metric` [batch] (each row's value, as metrics.ts
 * computes it) and the seed, d(sum of the rows' metrics)/d logits, emitted in closed form. Rows are
 * independent, so each row's gradient is that of its own metric. `loss` reads the run's token ids from
 * the graph input METRIC_TOKENS (graphs that start from a residual stream have no ids of their own).
 */
import { fail } from '../../errors';
import type { GradMetric } from '../../analysis/metrics';
import type { BackwardEmitter } from './emit';

export const METRIC_TOKENS = 'metric_tokens';
export const METRIC_OUTPUT = 'metric';
const BIG = 2 ** 31 - 1;
const FLOAT = 1;

/** Emits `metric` and returns the seed gradient of `logits`. */
export function emitMetricSeed(e: BackwardEmitter, m: GradMetric, logits: string, dVocab: number, lastPositionOnly: boolean): string {
  const g = e.g;
  const checkId = (id: number, field: string) => {
    if (!(Number.isInteger(id) && id >= 0 && id < dVocab)) fail('BAD_INPUT', { field: `grad.metric.${field}` }, `token id ${id} is outside the vocabulary [0, ${dVocab}).`);
  };
  const position = m.kind === 'loss' ? undefined : m.position;
  if (lastPositionOnly && (m.kind === 'loss' || position !== undefined)) fail('RUNTIME', { field: 'grad.metric' }, 'needs the logits of every position.');
  const len = g.op('Shape', [logits], { start: 1, end: 2 }); // [1] = L
  const positions = g.op('Range', [g.constI([0], []), g.op('Squeeze', [len, g.constI([0])]), g.constI([1], [])]); // [L]
  const rows = (mask: string) => g.op('Unsqueeze', [g.op('Cast', [mask], { to: FLOAT }), g.constI([1])]); // [L, 1]
  const sumRows = (t: string) => g.op('ReduceSum', [t, g.constI([1, 2])], { keepdims: 0 }, METRIC_OUTPUT); // [batch]
  e.g.output(METRIC_OUTPUT, 'float', ['batch']);
  if (m.kind === 'loss') {
    const tokens = g.input(METRIC_TOKENS, 'int64', ['batch', 'pos']);
    // Row q predicts token q + 1: targets over [from, to) are rows [from - 1, to - 1), each weighted 1 / (to - from).
    const from = Math.max(1, m.from ?? 1);
    const to = g.op('Min', [len, g.constI([m.to ?? BIG])]); // [1]
    const lo = g.op('GreaterOrEqual', [positions, g.constI([from - 1], [])]);
    const hi = g.op('Less', [positions, g.op('Sub', [to, g.constI([1])])]);
    const count = g.op('Cast', [g.op('Sub', [to, g.constI([from])])], { to: FLOAT });
    const weight = g.op('Div', [rows(g.op('And', [lo, hi])), count]); // [L, 1]
    const next = g.op('Concat', [g.op('Slice', [tokens, g.constI([1]), g.constI([BIG]), g.constI([1])]), g.op('Slice', [tokens, g.constI([0]), g.constI([1]), g.constI([1])])], { axis: 1 }); // [batch, pos]
    const vocab = g.op('Range', [g.constI([0], []), g.constI([dVocab], []), g.constI([1], [])]); // [d_vocab]
    const target = g.op('Mul', [g.op('Cast', [g.op('Equal', [g.op('Unsqueeze', [next, g.constI([2])]), vocab])], { to: FLOAT }), weight]); // [batch, pos, d_vocab]
    sumRows(g.op('Mul', [g.op('Neg', [g.op('LogSoftmax', [logits], { axis: -1 })]), target]));
    const probs = g.op('Softmax', [logits], { axis: -1 });
    return e.op('Sub', [g.op('Mul', [probs, weight]), target]);
  }
  const at = position === undefined ? g.op('Sub', [len, g.constI([1])]) : g.constI([position]);
  const rowMask = rows(g.op('Equal', [positions, at])); // [L, 1]
  const col = new Array<number>(dVocab).fill(0);
  if (m.kind === 'logit') {
    checkId(m.token, 'token');
    col[m.token] = 1;
  } else {
    checkId(m.answer, 'answer');
    col[m.answer] += 1;
    if (m.kind === 'logitDiff') {
      checkId(m.counterfactual, 'counterfactual');
      col[m.counterfactual] -= 1;
    }
  }
  const cell = g.op('Mul', [rowMask, g.constF(col, [dVocab])]); // [L, d_vocab]
  if (m.kind !== 'answerProb') {
    const seed = e.op('Expand', [cell, g.op('Shape', [logits])]); // [batch, L, d_vocab]
    sumRows(g.op('Mul', [logits, seed]));
    return seed;
  }
  // d p_a / d z_v = p_a (delta_av - p_v) on the metric's row.
  const probs = g.op('Softmax', [logits], { axis: -1 });
  const pa = g.op('ReduceSum', [g.op('Mul', [probs, cell]), g.constI([1, 2])], { keepdims: 1 }); // [batch, 1, 1]
  g.op('Reshape', [pa, g.constI([-1])], {}, METRIC_OUTPUT);
  return e.op('Mul', [pa, g.op('Sub', [cell, g.op('Mul', [probs, rowMask])])]);
}
