/**
 * The one rule "an answer, a counterfactual, a lens target must be exactly one token", in the two forms
 * its callers need: a thrown BAD_INPUT for runs, a SpecProblem for the editor's diagnostics. Both come
 * from singleTokenIssue, so the wording and the "did you mean ' Mary'" hint exist once.
 *
 * The tokenizer is passed as `encode(text)`: the text's tokens (or ids) without BOS, or just their count.
 * With a tokenizer `tok`: `(t) => tok.encode(t, { prependBos: false })`.
 */
import { fail } from './errors';
import type { Located, SpecProblem } from './spec/types';

/** Tokenizes a text without BOS: its tokens or ids, or only how many there are. */
export type Encode<T = unknown> = (text: string) => number | readonly T[];

export interface SingleTokenIssue {
  /** How many tokens the text is (not 1). */
  count: number;
  /** '"Mary" is 2 tokens for this model; it must be exactly one.' */
  problem: string;
  /** 'Did you mean " Mary" (with a leading space)?', when that is one token. */
  hint?: string;
}

const countOf = (encoded: number | readonly unknown[]) => (typeof encoded === 'number' ? encoded : encoded.length);

/** The token count of `text`, through either form of `encode`. */
export function tokenCount(encode: Encode, text: string): number {
  return countOf(encode(text));
}

/** undefined when `text` is exactly one token, else what is wrong (and the likely fix). */
export function singleTokenIssue(encode: Encode, text: string): SingleTokenIssue | undefined {
  const count = tokenCount(encode, text);
  return count === 1 ? undefined : issueOf(encode, text, count);
}

function issueOf(encode: Encode, text: string, count: number): SingleTokenIssue {
  // BPE vocabularies mostly hold words with their leading space (" Mary"), and an answer follows a
  // word of the prompt; "Mary" typed without one is the usual mistake.
  const spaced = ' ' + text;
  const hint = text !== '' && !text.startsWith(' ') && tokenCount(encode, spaced) === 1 ? `Did you mean ${JSON.stringify(spaced)} (with a leading space)?` : undefined;
  return { count, problem: `${JSON.stringify(text)} is ${count} tokens for this model; it must be exactly one.`, hint };
}

/**
 * For runs: the one token of `text`, or a BAD_INPUT EngineError naming `field` (e.g. "ioi.answer").
 * With an `encode` that returns a count there is no token to return: it only checks.
 */
export function requireSingleToken<T>(encode: (text: string) => readonly T[], text: string, field: string): T;
export function requireSingleToken(encode: (text: string) => number, text: string, field: string): void;
export function requireSingleToken<T>(encode: Encode<T>, text: string, field: string): T | void {
  const encoded = encode(text);
  const count = countOf(encoded);
  if (count === 1) return typeof encoded === 'number' ? undefined : encoded[0];
  const issue = issueOf(encode, text, count);
  fail('BAD_INPUT', { field }, issue.problem, issue.hint);
}

/** The issue as one sentence or two: the problem, then the hint when there is one. */
export function issueMessage(issue: SingleTokenIssue): string {
  return issue.hint ? `${issue.problem} ${issue.hint}` : issue.problem;
}

/**
 * For diagnostics: the problem on `value`'s range, or undefined when it is one token. `what` starts the
 * message ('answer "Mary" is 2 tokens ...').
 */
export function singleTokenProblem(encode: Encode, value: Located<string>, what: string): SpecProblem | undefined {
  const issue = singleTokenIssue(encode, value.value);
  if (!issue) return undefined;
  return { severity: 'error', message: `${what} ${issueMessage(issue)}`, range: value.range };
}
