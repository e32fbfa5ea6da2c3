/**
 * The written form of a gradient metric (the CLI's --grad, the worker protocol's trace grad.metric):
 * `logit:ID` (the last position's logit of token ID), `logitdiff:ID1,ID2` (the last position's logit of
 * ID1 minus that of ID2) or `loss` (mean next-token cross-entropy over the predicted positions).
 */
import { fail } from '../errors';
import type { GradMetric } from './metrics';

const FORMS = 'logit:ID, logitdiff:ID1,ID2 or loss';

export function parseGradMetric(text: string, field: string): GradMetric {
  const t = text.trim();
  if (t === 'loss') return { kind: 'loss' };
  const m = /^(logit|logitdiff):(.*)$/.exec(t);
  const ids = m ? m[2].split(',').map((s) => s.trim()) : [];
  const want = m?.[1] === 'logit' ? 1 : 2;
  if (!m || ids.length !== want || ids.some((s) => !/^\d+$/.test(s))) {
    fail('BAD_INPUT', { field }, `${JSON.stringify(text)} is not a gradient metric.`, `Give ${FORMS}, for example logitdiff:318,837.`);
  }
  const [a, b] = ids.map(Number);
  return m[1] === 'logit' ? { kind: 'logit', token: a } : { kind: 'logitDiff', answer: a, counterfactual: b };
}
