/**
 * `circuit-lens test [SPEC ...] [--junit FILE] [--json FILE]`: checks every claim of every `circuit`
 * analysis of the given specs (default: every *.circuit.json below the current folder), through the
 * runner's `analysis/run` request, the one the editor makes. One line per claim and ablation; exit 0
 * when all hold, 1 when any fails, 2 when any spec has an error (the other specs still run).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findNodeAtLocation, parseTree } from 'jsonc-parser/lib/esm/main.js';
import { fail, isEngineError } from '../engine/errors';
import { parseSpec } from '../engine/spec/parse';
import { scopeProblems } from '../engine/spec/problem-scope';
import type { AnalysisOutput } from '../protocol/analysis';
import type { RunnerClient } from '../client/runner-client';
import { parse, processingArg } from './args';
import { writeFileAtomic } from './atomic';
import { RUNNER_FLAGS, RUNNER_USAGE, withRunner } from './runner';
import { TestRun, exitCode, junitXml, resultLine, testJson } from './test-report';

const USAGE = `circuit-lens test [SPEC ...] [--junit FILE] [--json FILE] [--model M] [--processing transformerlens|OPTIONS] ${RUNNER_USAGE}`;

/** Folders a search for specs never enters. */
const SKIPPED = new Set(['node_modules', '.git']);

/** Every *.circuit.json below `dir`, sorted, as paths relative to it. */
export function findSpecs(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      if (e.isDirectory() && !SKIPPED.has(e.name)) walk(p);
      else if (e.isFile() && e.name.endsWith('.circuit.json')) out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out;
}

/** Indices of the spec's circuit analyses, the ones too broken to parse included (the runner names their problems). */
function circuitIndices(text: string): number[] {
  const { spec, problems } = parseSpec(text);
  const parsed = spec.analyses.filter((a) => a.kind === 'circuit').map((a) => a.index);
  const root = parseTree(text, [], { allowTrailingComma: true });
  const broken = [...scopeProblems(text, problems.filter((p) => p.severity === 'error')).byAnalysis.keys()]
    .filter((i) => !spec.analyses.some((a) => a.index === i) && root && findNodeAtLocation(root, ['analyses', i, 'kind'])?.value === 'circuit');
  return [...parsed, ...broken].sort((x, y) => x - y);
}

interface Options {
  model?: { ref: string; baseDir: string };
  processing?: ReturnType<typeof processingArg>;
  signal: AbortSignal;
}

/** Runs one spec's circuits into `run`; an error stops this spec only. */
async function testSpec(client: RunnerClient, file: string, run: TestRun, opts: Options): Promise<void> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    run.errors.push({ spec: file, message: `${file}: cannot read the spec.` });
    console.log(`ERROR ${file}: cannot read the spec`);
    return;
  }
  const { spec } = parseSpec(text);
  const indices = circuitIndices(text);
  if (!indices.length) {
    console.log(`      ${file}: no circuit analyses`);
    return;
  }
  for (const index of indices) {
    const title = spec.analyses.find((a) => a.index === index)?.title ?? `analyses[${index}]`;
    try {
      const onEvent = (e: { done?: number; total?: number }) => e.total !== undefined && process.stderr.isTTY && process.stderr.write(`\r\x1b[K  ${title}: ${e.done}/${e.total} runs`);
      const r = await client.request('analysis/run', { spec: { text, path: file }, analysis: index, model: opts.model, ...(opts.processing ? { processing: opts.processing } : {}) }, { signal: opts.signal, onEvent });
      const out = (await client.request('run/slice', { runId: r.runId, slice: { kind: 'output' } }, { signal: opts.signal })) as AnalysisOutput;
      await client.request('run/release', { runId: r.runId });
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      const claims = out.claims ?? [];
      if (!claims.length) console.log(`      ${file}: ${title}: no claims (${out.summary ?? ''})`);
      for (const result of claims) {
        const entry = { spec: file, circuit: title, result };
        run.entries.push(entry);
        console.log(resultLine(entry));
      }
    } catch (e) {
      if (!isEngineError(e) || e.code === 'CANCELLED') throw e;
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      const own = e.field === `analyses[${index}]`;
      run.errors.push({ spec: file, ...(own ? { circuit: title } : {}), message: e.message });
      console.log(`ERROR ${e.message.startsWith(file) ? '' : `${file}: `}${e.message}`); // the runner's messages name the file and the analysis
      // A problem of the whole spec (its model, its prompts or datasets) stops its other circuits too.
      if (!own) return;
    }
  }
}

export async function testCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse(argv, {
    junit: { type: 'string' }, json: { type: 'string' }, model: { type: 'string' }, processing: { type: 'string' }, ...RUNNER_FLAGS,
  }, USAGE);
  const specs = positionals.length ? positionals : findSpecs(process.cwd());
  if (!specs.length) fail('BAD_INPUT', { field: 'SPEC' }, `no *.circuit.json below ${process.cwd()}.`, `Usage: ${USAGE}`);
  const opts: Options = {
    ...(values.model !== undefined ? { model: { ref: values.model, baseDir: process.cwd() } } : {}),
    processing: processingArg(values.processing),
    signal,
  };
  const t0 = performance.now();
  const run: TestRun = { entries: [], errors: [], ms: 0 };
  await withRunner(values, async (client) => {
    for (const file of specs) await testSpec(client, file, run, opts);
  });
  run.ms = performance.now() - t0;
  const count = (o: string) => run.entries.filter((e) => e.result.outcome === o).length;
  console.log(`${run.entries.length} claim results: ${count('passed')} passed, ${count('failed')} failed, ${count('expected failure')} expected failures, ${count('unexpected pass')} unexpected passes; ${run.errors.length} errors (${(run.ms / 1000).toFixed(1)} s)`);
  if (values.junit) {
    writeFileAtomic(values.junit, junitXml(run));
    console.log(`wrote ${values.junit}`);
  }
  if (values.json) {
    writeFileAtomic(values.json, testJson(run));
    console.log(`wrote ${values.json}`);
  }
  return exitCode(run);
}
