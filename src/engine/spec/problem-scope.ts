/**
 * Which analyses a spec problem stops. A problem inside one entry of `analyses` is that analysis's own:
 * it stops only that one, and the others still run. Every other problem (the model, the prompts, the
 * cache, the file's shape) is shared by all analyses and stops them all; so does every problem of a file
 * with JSON syntax errors, whose tree cannot be trusted around them.
 */
import { Node, ParseError, findNodeAtLocation, parseTree } from 'jsonc-parser/lib/esm/main.js';
import type { SourceRange } from './types';

export interface ScopedProblems<P> {
  /** Problems that stop every analysis. */
  shared: P[];
  /** Problems that stop one analysis, by its index in `analyses` (whether or not it parsed). */
  byAnalysis: Map<number, P[]>;
}

/** The field an analysis's own problems are reported under: `analyses[2]`. */
export function analysisField(index: number): string {
  return `analyses[${index}]`;
}

/** The source range of each entry of `analyses`, by index; undefined when the text has JSON syntax errors. */
function analysisRanges(text: string): SourceRange[] | undefined {
  const errors: ParseError[] = [];
  let root: Node | undefined;
  try {
    root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  } catch {
    return undefined; // nested too deeply to read: the parser has said so, as a shared problem
  }
  if (errors.length || root?.type !== 'object') return undefined;
  const list = findNodeAtLocation(root, ['analyses']);
  return list?.type === 'array' ? (list.children ?? []).map((n) => ({ offset: n.offset, length: n.length })) : [];
}

const inside = (r: SourceRange, outer: SourceRange) => r.offset >= outer.offset && r.offset + r.length <= outer.offset + outer.length;

export function scopeProblems<P extends { range: SourceRange }>(text: string, problems: readonly P[]): ScopedProblems<P> {
  const ranges = analysisRanges(text);
  const scoped: ScopedProblems<P> = { shared: [], byAnalysis: new Map() };
  for (const p of problems) {
    const index = ranges?.findIndex((r) => inside(p.range, r)) ?? -1;
    if (index < 0) {
      scoped.shared.push(p);
      continue;
    }
    const own = scoped.byAnalysis.get(index) ?? [];
    own.push(p);
    scoped.byAnalysis.set(index, own);
  }
  return scoped;
}
