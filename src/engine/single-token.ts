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

/** What singleTokenOf needs of a tokenizer (ModelTokenizer has it). */
export interface TokenEncoder {
  encode(text: string, opts: { prependBos: boolean }): readonly { id: number }[];
}

/**
 * Without throwing: the id of `text`'s one token, or the issue (also when there is no tokenizer, as a
 * checkpoint without tokenizer files has none). For callers that fall back rather than fail, such as a
 * lens coloured by the top token when its target is not one token.
 */
export function singleTokenOf(tokenizer: TokenEncoder | null, text: string): { id: number } | SingleTokenIssue {
  if (!tokenizer) return { count: 0, problem: 'this model has no tokenizer to read it with.' };
  const encode = (t: string) => tokenizer.encode(t, { prependBos: false });
  const tokens = encode(text);
  return tokens.length === 1 ? { id: tokens[0].id } : issueOf(encode, text, tokens.length);
}

/**
 * For diagnostics: the problem on `value`'s range, or undefined when it is one token. `what` starts the
 * message ('answer "Mary" is 2 tokens ...').
 */
export function singleTokenProblem(encode: Encode, value: Located<string>, what: string): SpecProblem | undefined {
  const issue = singleTokenIssue(encode, value.value);
  if (!issue) return undefined;
  return { severity: 'error', message: `${what} ${issue.problem}${issue.hint ? ` ${issue.hint}` : ''}`, range: value.range };
}
