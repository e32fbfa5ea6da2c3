/**
 * `circuit-lens run SPEC [--analysis NAME] [--json FILE] [--html FILE]`: runs an experiment spec's
 * analyses headless, through the runner's `analysis/run` request (the one the editor's Run Experiment
 * makes), then reads each result's plain-data output. The JSON has one entry per analysis (name, kind,
 * axes with labels, values); the HTML report holds the same plots, self-contained. An analysis with
 * problems of its own is named on stderr and the others still run; the command then exits with 2.
 */
import { gradientLines } from './report/gradient-text';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fail, isEngineError } from '../engine/errors';
import { parseSpec } from '../engine/spec/parse';
import { analysisField, scopeProblems } from '../engine/spec/problem-scope';
import type { AnalysisOutput } from '../protocol/analysis';
import { parse, processingArg } from './args';
import { describeCheck, describeProcessing, warnSaeChecks } from './describe';
import { featureLines } from './features-text';
import { writeFileAtomic } from './atomic';
import { htmlReport } from './report/html';
import { RUNNER_FLAGS, RUNNER_USAGE, withRunner } from './runner';

const USAGE = `circuit-lens run SPEC [--analysis NAME] [--json FILE] [--html FILE] [--model M] [--processing transformerlens|OPTIONS] ${RUNNER_USAGE}`;

export async function runCommand(argv: string[], signal: AbortSignal): Promise<void> {
  const { values, positionals } = parse(argv, {
    analysis: { type: 'string' }, json: { type: 'string' }, html: { type: 'string' }, model: { type: 'string' }, processing: { type: 'string' }, ...RUNNER_FLAGS,
  }, USAGE);
  const file = positionals[0];
  if (!file || positionals.length > 1) fail('BAD_INPUT', { field: 'SPEC' }, 'give one experiment spec file.', `Usage: ${USAGE}`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    fail('NOT_FOUND', { file }, 'cannot read the spec.', 'Check the path.');
  }
  // Only to pick analyses by name; the runner parses and checks the spec itself.
  const parsed = parseSpec(text);
  const { spec } = parsed;
  const picked = values.analysis === undefined ? spec.analyses : spec.analyses.filter((a) => a.title === values.analysis || String(a.index) === values.analysis);
  if (picked.length === 0 && values.analysis !== undefined) fail('BAD_INPUT', { field: '--analysis' }, `no analysis named ${JSON.stringify(values.analysis)}.`, `Analyses: ${spec.analyses.map((a) => a.title).join(', ') || 'none'}.`);
  // Entries of "analyses" too broken to parse (an unknown kind, say) are asked for too: the runner names their problems.
  const unread = values.analysis === undefined ? [...scopeProblems(text, parsed.problems.filter((p) => p.severity === 'error')).byAnalysis.keys()].filter((i) => !spec.analyses.some((a) => a.index === i)) : [];
  const wanted = [...picked, ...unread.map((index) => ({ index, title: analysisField(index), kind: undefined }))].sort((x, y) => x.index - y.index);
  const model = values.model !== undefined ? { ref: values.model, baseDir: process.cwd() } : undefined;
  const processing = processingArg(values.processing);

  await withRunner(values, async (client) => {
    const outputs: AnalysisOutput[] = [];
    const failed: string[] = [];
    let modelName = '';
    for (const a of wanted) {
      const t0 = performance.now();
      // Progress on a terminal only, overwritten in place and cleared when the analysis ends.
      const onEvent = (e: { done?: number; total?: number }) => e.total !== undefined && process.stderr.isTTY && process.stderr.write(`\r\x1b[K  ${a.title}: ${e.done}/${e.total} runs`);
      const r = await client.request('analysis/run', { spec: { text, path: file }, analysis: a.index, model, ...(processing ? { processing } : {}) }, { signal, onEvent }).catch((e: unknown) => {
        // This analysis's own problems stop only it; anything else (the spec, its model) stops the command.
        if (!isEngineError(e) || e.field !== analysisField(a.index)) throw e;
        if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
        console.error(`${a.title}${a.kind ? ` (${a.kind})` : ''}: not run: ${e.message}`);
        return undefined;
      });
      if (!r) {
        failed.push(a.title);
        continue;
      }
      const out = (await client.request('run/slice', { runId: r.runId, slice: { kind: 'output' } }, { signal })) as AnalysisOutput;
      await client.request('run/release', { runId: r.runId });
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      if (!modelName) {
        console.log(describeProcessing(r.processing, r.processingNotes));
        for (const c of r.saeChecks ?? []) for (const line of describeCheck(c)) console.log(`self-check ${line}`);
        warnSaeChecks(r.saeChecks ?? []);
      }
      modelName = r.model;
      outputs.push(out);
      const notes = Object.entries(out.notes ?? {}).map(([k, v]) => `${k} ${typeof v === 'number' ? v.toPrecision(4) : v}`).join(', ');
      console.log(`${a.title} (${a.kind}): ${(performance.now() - t0).toFixed(0)} ms${notes ? `; ${notes}` : ''}`);
      for (const t of out.texts ?? []) console.log(`  ${t.label}: ${JSON.stringify(t.text)}`);
      if (out.features) for (const line of featureLines(out.features)) console.log(line);
      for (const line of gradientLines(out)) console.log(line);
    }
    if (wanted.length === 0) {
      // Still check the spec against its model, so a spec without analyses reports its problems.
      const problems = await client.request('spec/check', { spec: { text, path: file }, defaultModel: 'demo' });
      const errors = problems.filter((p) => p.severity === 'error');
      if (errors.length) fail('BAD_INPUT', { file }, `the spec has ${errors.length} problem(s): ${errors.map((p) => p.message).join('; ')}`);
    }
    if (values.json) {
      writeFileAtomic(values.json, JSON.stringify({ spec: file, model: modelName, analyses: outputs }) + '\n');
      console.log(`wrote ${values.json}`);
    }
    if (values.html) {
      writeFileAtomic(values.html, htmlReport(path.basename(file), modelName, outputs));
      console.log(`wrote ${values.html}`);
    }
    if (failed.length) fail('BAD_INPUT', { file }, `${failed.length} of ${wanted.length} analyses did not run: ${failed.map((t) => JSON.stringify(t)).join(', ')} (their problems are above).`);
  });
}
