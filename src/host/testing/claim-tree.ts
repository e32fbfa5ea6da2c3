/**
 * The Test Explorer's tree of one spec, as plain data: each `circuit` analysis, its claims, and a leaf
 * per ablation when a claim names several (each (claim, ablation) pair is one result of the runner).
 * Pure: it reads the spec text with the spec parser, so it is tested without VS Code.
 */
import { findNodeAtLocation, parseTree } from 'jsonc-parser/lib/esm/main.js';
import { parseSpec } from '../../engine/spec/parse';
import { analysisField, scopeProblems } from '../../engine/spec/problem-scope';
import type { SourceRange } from '../../engine/spec/types';
import type { ClaimResult } from '../../protocol/circuit';

/** A node of the tree: its id (unique within the spec), label and range in the spec text. */
export interface ClaimNode {
  id: string;
  label: string;
  range: SourceRange;
  /** Leaves: the ablation whose result this is. */
  ablation?: string;
  children: ClaimNode[];
}

export interface CircuitNode extends ClaimNode {
  /** The analysis's index in `analyses`: what `analysis/run` is asked for. */
  index: number;
  /** The first of the analysis's own problems, when the parser could not read it whole. */
  problem?: string;
}

export interface SpecTree {
  circuits: CircuitNode[];
  /** The first problem every analysis shares (the file's syntax, its model, prompts or datasets), with its line. */
  problem?: string;
}

/** The id of a circuit analysis: its index, which the runner is asked for. */
export const circuitId = (index: number) => analysisField(index);

/** The id of a claim, or of one of its ablations. */
export const claimId = (index: number, claim: string, ablation?: string) => `${circuitId(index)}/${claim}${ablation !== undefined ? `/${ablation}` : ''}`;

/** "line 3: MESSAGE": a problem as the tree shows it. */
function located(text: string, p: { message: string; range: SourceRange }): string {
  return `line ${positionAt(text, p.range.offset).line + 1}: ${p.message}`;
}

/**
 * The circuits of a spec that make claims, and their claims. An entry of `analyses` whose kind is "circuit" but which the
 * parser could not read is listed too (without claims, with its problem), so running it reports why.
 */
export function specTree(text: string): SpecTree {
  const { spec, problems } = parseSpec(text);
  const errors = problems.filter((p) => p.severity === 'error');
  const scoped = scopeProblems(text, errors);
  let root;
  try {
    root = parseTree(text, [], { allowTrailingComma: true });
  } catch {
    root = undefined; // nested too deeply: the parser's shared problem says so
  }
  const entries = root && findNodeAtLocation(root, ['analyses']);
  const rawCircuits = (entries?.type === 'array' ? entries.children ?? [] : []).flatMap((n, index) => (findNodeAtLocation(n, ['kind'])?.value === 'circuit' ? [{ index, range: { offset: n.offset, length: n.length } }] : []));
  const circuits = rawCircuits.map(({ index, range }): CircuitNode => {
    const own = scoped.byAnalysis.get(index);
    const problem = own?.length ? located(text, own[0]) : undefined;
    const a = spec.analyses.find((x) => x.index === index);
    if (!a || a.kind !== 'circuit') return { id: circuitId(index), index, label: circuitId(index), range, children: [], ...(problem ? { problem } : {}) };
    const children = (a.claims ?? []).map((c): ClaimNode => {
      const id = claimId(index, c.kind);
      if (c.ablations.length === 1) return { id, label: `${c.kind} (${c.ablations[0]})`, range: c.range, ablation: c.ablations[0], children: [] };
      return { id, label: c.kind, range: c.range, children: c.ablations.map((ab) => ({ id: claimId(index, c.kind, ab), label: ab, range: c.range, ablation: ab, children: [] })) };
    });
    return { id: circuitId(index), index, label: a.title, range: a.range, children, ...(problem ? { problem } : {}) };
  });
  // A circuit without claims reports its faithfulness only: nothing to pass or fail.
  return { circuits: circuits.filter((c) => c.children.length || c.problem), ...(scoped.shared.length ? { problem: located(text, scoped.shared[0]) } : {}) };
}

/**
 * The leaf a result belongs to: the claim's own node when it is checked under one ablation, else the
 * node of that ablation. Undefined when the tree has no such leaf (the spec changed during the run).
 */
export function leafOf(circuit: CircuitNode, r: Pick<ClaimResult, 'claim' | 'ablation'>): ClaimNode | undefined {
  const claim = circuit.children.find((c) => c.id === claimId(circuit.index, r.claim));
  return claim && leaves(claim).find((l) => l.ablation === r.ablation);
}

/** Every leaf below a node (the node itself when it has no children). */
export function leaves(n: ClaimNode): ClaimNode[] {
  return n.children.length ? n.children.flatMap(leaves) : [n];
}

/**
 * The ids of the leaves below `circuit` that a run request picks: those with a chosen node on their way
 * from the circuit (every one for 'all'), less those with an excluded node on it.
 */
export function pickLeaves(circuit: ClaimNode, chosen: ReadonlySet<string> | 'all', excluded: ReadonlySet<string>): string[] {
  const walk = (n: ClaimNode, picked: boolean): string[] => {
    if (excluded.has(n.id)) return [];
    const on = picked || chosen === 'all' || chosen.has(n.id);
    return n.children.length ? n.children.flatMap((c) => walk(c, on)) : on ? [n.id] : [];
  };
  return walk(circuit, false);
}

/** The line and character of an offset, as VS Code counts them (lines end at \n, \r\n or \r). */
export function positionAt(text: string, offset: number): { line: number; character: number } {
  let line = 0;
  let start = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 13 && text.charCodeAt(i + 1) === 10) {
      if (i + 1 >= end) break; // between \r and \n: still on this line
      i++;
    }
    if (ch === 10 || ch === 13) {
      line++;
      start = i + 1;
    }
  }
  return { line, character: end - start };
}
