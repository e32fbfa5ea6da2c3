/**
 * `circuit-lens run SPEC [--analysis NAME] [--json FILE] [--html FILE]`: runs an experiment spec's
 * analyses headless. The JSON has one entry per analysis (name, kind, axes with labels, values); the
 * HTML report holds the same plots, self-contained.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fail } from '../engine/errors';
import { selectHooks } from '../engine/hooks';
import { tokenizePrompt } from '../engine/model';
import type { AnalysisOutput } from '../engine/analysis/output';
import { runCircuitAnalysis } from '../engine/analysis/run-circuit';
import { parseSpec, promptOf } from '../engine/spec/parse';
import type { AnalysisSpec, SpecProblem } from '../engine/spec/types';
import { validateSpec } from '../engine/spec/validate';
import { Engine, LOGIT_LENS_HOOKS } from '../worker/engine';
import { intArg, parse } from './args';
import { writeFileAtomic } from './atomic';
import { BUNDLED_MODELS_DIR } from './paths';
import { htmlReport } from './report/html';

const USAGE = 'circuit-lens run SPEC [--analysis NAME] [--json FILE] [--html FILE] [--model M] [--threads N] [--backend auto|cpu|cuda]';

/** "file:line:col: message" lines for problems, as compilers print them. */
function describe(file: string, text: string, problems: SpecProblem[]): string {
  return problems.map((p) => {
    const before = text.slice(0, p.range.offset).split('\n');
    return `${file}:${before.length}:${before[before.length - 1].length + 1}: ${p.message}`;
  }).join('\n');
}

async function runView(engine: Engine, a: AnalysisSpec, text: string, signal: AbortSignal): Promise<AnalysisOutput> {
  const tokens = tokenizePrompt(engine.ckpt, text);
  const labels = tokens.map((t, i) => `${i} ${JSON.stringify(t.text)}`);
  const { nLayers, nHeads } = engine.ckpt.config;
  if (a.kind === 'attention') {
    const trace = await engine.trace([tokens], { hooks: selectHooks(engine.ckpt.hooks, 'blocks.*.attn.hook_pattern'), logits: 'last', signal });
    const values: number[] = [];
    for (let l = 0; l < nLayers; l++) values.push(...trace.cache.get(`blocks.${l}.attn.hook_pattern`).data);
    return {
      name: a.title, kind: a.kind, valueLabel: 'attention probability',
      axes: [
        { name: 'layer', labels: Array.from({ length: nLayers }, (_, l) => String(l)) },
        { name: 'head', labels: Array.from({ length: nHeads }, (_, h) => `H${h}`) },
        { name: 'query', labels }, { name: 'key', labels },
      ],
      values,
    };
  }
  if (a.kind !== 'logitLens') fail('RUNTIME', { field: a.kind }, 'not a view kind.');
  const target = a.target ? engine.ckpt.tokenizer?.encode(a.target.value, { prependBos: false }) : undefined;
  if (target && target.length !== 1) fail('BAD_INPUT', { field: 'target' }, `${JSON.stringify(a.target!.value)} is ${target.length} tokens; it must be one.`);
  const trace = await engine.trace([tokens], { hooks: selectHooks(engine.ckpt.hooks, LOGIT_LENS_HOOKS), signal });
  const lens = await engine.logitLens(trace, { k: a.topK, targetId: target?.[0].id, signal });
  const decode = (id: number) => engine.ckpt.tokenizer?.decode([id]) ?? String(id);
  const cells = lens.labels.length * lens.pos;
  const values = Array.from({ length: cells }, (_, i) => (lens.targetProbs ? lens.targetProbs[i] : lens.topProbs[i * lens.k]));
  return {
    name: a.title, kind: a.kind, valueLabel: target ? `probability of ${JSON.stringify(a.target!.value)}` : 'probability of the top token',
    axes: [{ name: 'residual', labels: lens.labels }, { name: 'position', labels }],
    values,
    notes: { finalTopToken: decode(lens.topIds[(cells - 1) * lens.k]), finalTopProbability: lens.topProbs[(cells - 1) * lens.k] },
  };
}

export async function runCommand(argv: string[], signal: AbortSignal): Promise<void> {
  const { values, positionals } = parse(argv, {
    analysis: { type: 'string' }, json: { type: 'string' }, html: { type: 'string' }, model: { type: 'string' },
    threads: { type: 'string' }, backend: { type: 'string', default: 'auto' },
  }, USAGE);
  const file = positionals[0];
  if (!file || positionals.length > 1) fail('BAD_INPUT', { field: 'SPEC' }, 'give one experiment spec file.', `Usage: ${USAGE}`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    fail('NOT_FOUND', { file }, 'cannot read the spec.', 'Check the path.');
  }
  const { spec, problems } = parseSpec(text);
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.length) fail('BAD_INPUT', { file }, `the spec has ${errors.length} problem(s):\n${describe(file, text, errors)}`);
  const wanted = values.analysis === undefined ? spec.analyses : spec.analyses.filter((a) => a.title === values.analysis || String(a.index) === values.analysis);
  if (wanted.length === 0) fail('BAD_INPUT', { field: '--analysis' }, `no analysis named ${JSON.stringify(values.analysis)}.`, `Analyses: ${spec.analyses.map((a) => a.title).join(', ') || 'none'}.`);

  // A model path in the spec is relative to the spec file.
  const modelSpec = values.model ?? spec.model?.value ?? 'demo';
  const relative = path.resolve(path.dirname(file), modelSpec);
  const model = fs.existsSync(relative) ? relative : modelSpec;
  const backend = values.backend as 'auto' | 'cpu' | 'cuda';
  const threads = values.threads === undefined ? undefined : intArg(values.threads, '--threads', 1, 1, 256);
  const engine = await Engine.open(model, { resolve: { bundledModelsDir: BUNDLED_MODELS_DIR }, session: { threads, backend }, signal });
  try {
    const ck = engine.ckpt;
    const tok = ck.tokenizer;
    const semantic = validateSpec(spec, {
      nLayers: ck.config.nLayers, nHeads: ck.config.nHeads, nCtx: ck.config.nCtx, dMlp: ck.config.dMlp, hooks: ck.hooks,
      countTokens: tok ? (t, bos) => tok.encode(t, { prependBos: bos }).length : null,
    }).filter((p) => p.severity === 'error');
    if (semantic.length) fail('BAD_INPUT', { file }, `the spec does not fit ${ck.name}:\n${describe(file, text, semantic)}`);
    const outputs: AnalysisOutput[] = [];
    for (const a of wanted) {
      const t0 = performance.now();
      // Progress on a terminal only, overwritten in place and cleared when the analysis ends.
      const onProgress = (done: number, total: number) => process.stderr.isTTY && process.stderr.write(`\r\x1b[K  ${a.title}: ${done}/${total} runs`);
      const out = a.kind === 'attention' || a.kind === 'logitLens'
        ? await runView(engine, a, promptOf(spec, a)?.text.value ?? fail('BAD_INPUT', { file }, 'the spec has no prompts.'), signal)
        : await runCircuitAnalysis({ runner: engine, prompts: spec.prompts, signal, onProgress }, a);
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      outputs.push(out);
      const notes = Object.entries(out.notes ?? {}).map(([k, v]) => `${k} ${typeof v === 'number' ? v.toPrecision(4) : v}`).join(', ');
      console.log(`${a.title} (${a.kind}): ${(performance.now() - t0).toFixed(0)} ms${notes ? `; ${notes}` : ''}`);
      for (const t of out.texts ?? []) console.log(`  ${t.label}: ${JSON.stringify(t.text)}`);
    }
    if (values.json) {
      writeFileAtomic(values.json, JSON.stringify({ spec: file, model: ck.name, analyses: outputs }) + '\n');
      console.log(`wrote ${values.json}`);
    }
    if (values.html) {
      writeFileAtomic(values.html, htmlReport(path.basename(file), ck.name, outputs));
      console.log(`wrote ${values.html}`);
    }
  } finally {
    await engine.dispose();
  }
}
