/**
 * The runner: everything the editor and the CLI ask of the worker thread (src/protocol/runner.ts).
 * It opens each checkpoint once (config, weight index, tokenizer), keeps one model loaded with its
 * sessions, runs traces and every analysis kind next to them, and keeps finished runs by id for slices.
 * Work that runs the model goes one request at a time; questions about specs and checkpoints are
 * answered between chunks of it, so diagnostics never wait for a sweep.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fail } from '../engine/errors';
import { HookPoint, selectHooks } from '../engine/hooks';
import { resolveCheckpointDir } from '../engine/checkpoint';
import { Checkpoint, openCheckpoint, tokensFromIds } from '../engine/model';
import { softmax, topK } from '../engine/math';
import type { LogitLens } from '../engine/logit-lens';
import { describeNonFinite } from '../engine/non-finite';
import { runCircuitAnalysis } from '../engine/analysis/run-circuit';
import { ParsedSpec, datasetOf, parseSpec, promptOf } from '../engine/spec/parse';
import type { AttentionAnalysis, LogitLensAnalysis, PromptSpec } from '../engine/spec/types';
import { validateSpec } from '../engine/spec/validate';
import { loadDataset } from '../engine/datasets/load';
import type { AnalysisOutput } from '../protocol/analysis';
import { cancelledError } from '../protocol/errors';
import type { Handlers, RequestContext } from '../protocol/rpc';
import type {
  AnalysisParams, AnalysisResult, LoadedModel as LoadedModelInfo, ModelFacts, ModelRef, PromptInput, Progress, RunnerConfig, RunnerMethods, Slice, SliceResult, SpecCheckParams,
  SpecProblemInfo, TraceParams, TraceResult, Intervention, SaeCheckParams, SaeCheckInfo,
} from '../protocol/runner';
import { checkDictionaries } from '../engine/sae/self-check';
import { VIEW_HOOKS } from '../protocol/runner';
import type { Token } from '../engine/tokenizer';
import { allCandidates } from './candidates';
import { KeptRuns } from './kept-runs';
import { factsOf, modelLabel } from './facts';
import { attachedSaeInfo, openAttachedSaes, saesKey } from './attach-saes';
import { processCheckpoint } from '../engine/processing/process-checkpoint';
import { TRANSFORMERLENS_PROCESSING, isProcessed, processingKey, processingLabel } from '../protocol/processing';
import { chooseModelProcessing } from '../engine/sae/model-processing';
import { SaeChecksOnLoad, sampleRows } from './sae-checks-on-load';
import { LoadedModel, promptTokens } from './loaded-model';
import { requireRunnable, specFacts } from './spec-file';
import { SpecSaeProbe, checkProblems } from './spec-saes';
import { specModelRef } from '../engine/spec/model-ref';
import { TraceRun, attentionOutput, attentionSlice, decoder, gradOption, headWindow, hookSlice, lensOf, lensOutput, lensSlice, logitsFor, targetIdOf, tokenInsights, traceBytes, traceRun } from './trace-run';
import type { TraceOptions } from '../engine/tracer';
import { FeatureLogitCache, actsHook, featureCard, featuresSlice, saeAt } from './features';
import type { FeatureActsParams, FeatureCard, FeatureCardParams, FeatureLogits, FeatureLogitsParams, FeaturesSlice, FeaturesTopParams } from '../protocol/features';
import type { TensorData } from '../protocol/tensor';

/** An attention or logit-lens analysis of a spec: its panel's view of a shared trace. */
interface ViewRun {
  kind: 'view';
  traceId: number;
  analysis: AttentionAnalysis | LogitLensAnalysis;
  /** The lens target: the analysis's own, else the prompt's answer. */
  target?: string;
}

interface OutputRun {
  kind: 'output';
  output: AnalysisOutput;
}

type KeptRun = TraceRun | ViewRun | OutputRun;

/** Tokens per self-check prompt at most, by default: enough for the figures, quick on a CPU. */
const SAE_CHECK_TOKENS = 128;

const DEFAULT_CONFIG: RunnerConfig = { bundledModelsDir: '', trusted: true, backend: 'auto', keptBytes: 1024 * 2 ** 20 };

const sameHooks = (a: readonly HookPoint[], b: readonly HookPoint[]) => a.length === b.length && a.every((h, i) => h.name === b[i].name);

function isBundled(bundledModelsDir: string, dir: string): boolean {
  if (!bundledModelsDir) return false;
  const rel = path.relative(fs.realpathSync(bundledModelsDir), fs.realpathSync(dir));
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

export interface RunnerOptions {
  /** Read before each chunk of model work: where a cancel set from another thread takes effect. */
  beforeChunk?: () => void;
  scanWorkerPath?: string;
  /** Where kept-run ids start (a different range for each worker the client starts). */
  firstRunId?: number;
  /** Milliseconds without model work after which the loaded model's graph sessions are released (default 60 s). */
  idleReleaseMs?: number;
}

const IDLE_RELEASE_MS = 60_000;

export class Runner {
  private config: RunnerConfig = DEFAULT_CONFIG;
  /** Opened checkpoints by folder and tokenizer permission, while config.json's modification time holds. */
  private readonly checkpoints = new Map<string, { stamp: string; ckpt: Checkpoint }>();
  private loaded: { key: string; model: LoadedModel } | undefined;
  private loading: { key: string; promise: Promise<LoadedModel> } | undefined;
  /** Model work, one request at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Model requests queued or running, and the timer that releases the sessions once there are none. */
  private pending = 0;
  private idleTimer?: NodeJS.Timeout;
  private readonly kept: KeptRuns<KeptRun>;
  private readonly featureLogits = new FeatureLogitCache();
  /** The last spec text validated against each checkpoint: "Run all" asks once per analysis, after the editor's own check. */
  private readonly validated = new WeakMap<Checkpoint, { text: string; hooks: readonly HookPoint[]; problems: SpecProblemInfo[] }>();
  /** The spec's dictionaries opened for its diagnostics (no model loaded). */
  private readonly saeProbe = new SpecSaeProbe();
  /** Each loaded dictionary's check on load, kept by load key. */
  private readonly saeChecks = new SaeChecksOnLoad();
  /** Of each loaded model: its load key, the ModelRef it was loaded from, and what its dictionaries made of its processing. */
  private readonly loadedAs = new WeakMap<LoadedModel, { key: string; ref: ModelRef; notes: string[] }>();

  constructor(private readonly opts: RunnerOptions = {}) {
    this.kept = new KeptRuns<KeptRun>(() => this.config.keptBytes, 'circuitLens.keptRunsMemoryMB', opts.firstRunId);
  }

  handlers(): Handlers<RunnerMethods> {
    return {
      configure: (c) => this.configure(c),
      'model/facts': (p) => this.facts(p.model, p.hooks),
      'model/load': (p, ctx) => this.exclusive(ctx, () => this.loadInfo(p.model)),
      'model/scan': async (p, ctx) => {
        const model = await this.exclusive(ctx, () => this.load(p.model));
        const found = await Promise.race([model.nonFiniteWeights(), new Promise<never>((_, reject) => ctx.signal.addEventListener('abort', () => reject(cancelledError())))]);
        return { found, ...(found.length ? { message: describeNonFinite(model.ckpt.name, found) } : {}) };
      },
      tokenize: (p) => this.tokens(this.checkpoint(p.model), p.input),
      trace: (p, ctx) => this.exclusive(ctx, () => this.trace(p, ctx)),
      'sae/check': (p, ctx) => this.exclusive(ctx, () => this.checkSaes(p, ctx)),
      'analysis/run': (p, ctx) => this.exclusive(ctx, () => this.runAnalysis(p, ctx)),
      'spec/check': (p) => this.checkSpec(p),
      'run/slice': (p, ctx) => this.exclusive(ctx, () => this.slice(p.runId, p.slice, ctx.signal)),
      'run/hold': (p) => {
        this.kept.hold(p.runId);
      },
      'run/release': (p) => this.release(p.runId),
      'models/list': (p) => allCandidates({ bundledDir: this.config.bundledModelsDir, workspaceRoots: p.workspaceRoots, searchPaths: p.searchPaths }),
      'runs/usage': () => this.kept.usage((r) => r.kind === 'trace'),
      'features/top': (p, ctx) => this.exclusive(ctx, () => this.featuresTop(p, ctx)),
      'features/card': (p, ctx) => this.exclusive(ctx, () => this.featureCard(p)),
      'features/logits': (p, ctx) => this.exclusive(ctx, () => this.logitsOfFeatures(p)),
      'features/acts': (p, ctx) => this.exclusive(ctx, () => this.featureActs(p, ctx)),
      'corpus/tokenize': (p) => {
        const ckpt = this.checkpoint(p.model);
        if (!ckpt.tokenizer) fail('BAD_INPUT', { file: ckpt.dir, field: '--corpus' }, 'this checkpoint has no tokenizer files (tokenizer.json or vocab.json + merges.txt).');
        return Int32Array.from(ckpt.tokenizer.encode(p.text, { prependBos: false }), (t) => t.id);
      },
    };
  }

  private configure(c: RunnerConfig): void {
    this.config = c;
  }

  /** Runs model work after the work queued before it; a request cancelled while queued never starts. */
  private exclusive<T>(ctx: RequestContext<Progress>, job: () => Promise<T>): Promise<T> {
    const run = async () => {
      if (ctx.signal.aborted) throw cancelledError();
      return job();
    };
    clearTimeout(this.idleTimer);
    this.pending++;
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined).then(() => {
      if (--this.pending === 0) this.scheduleIdleRelease();
    });
    return result;
  }

  /** Graph sessions the loaded model holds now (0 before a load and after an idle release). */
  sessionsHeld(): number {
    return this.loaded?.model.sessionCount ?? 0;
  }

  /** Once no model work has come for a while, the sessions' memory goes back (queued, so never under a run). */
  private scheduleIdleRelease(): void {
    this.idleTimer = setTimeout(() => {
      if (this.pending > 0) return;
      const model = this.loaded?.model;
      this.queue = this.queue.then(() => model?.releaseSessions()).catch(() => undefined);
    }, this.opts.idleReleaseMs ?? IDLE_RELEASE_MS);
    this.idleTimer.unref(); // a CLI process ends when its work does
  }

  private resolveOptions(model: ModelRef) {
    return { bundledModelsDir: this.config.bundledModelsDir || undefined, baseDir: model.baseDir };
  }

  /** The checkpoint (opened once per change of its config.json); its tokenizer only where it may run. */
  private checkpoint(model: ModelRef): Checkpoint {
    const resolve = this.resolveOptions(model);
    const dir = resolveCheckpointDir(model.ref, resolve);
    const loadTokenizer = this.config.trusted || isBundled(this.config.bundledModelsDir, dir);
    const stamp = `${fs.statSync(path.join(dir, 'config.json')).mtimeMs}`;
    const key = `${dir}|${loadTokenizer}`; // one open per folder, however it was named
    const hit = this.checkpoints.get(key);
    if (hit && hit.stamp === stamp) return hit.ckpt;
    const ckpt = openCheckpoint(model.ref, { ...resolve, loadTokenizer });
    this.checkpoints.set(key, { stamp, ckpt });
    return ckpt;
  }

  private facts(model: ModelRef, hooks?: string): ModelFacts {
    return factsOf(this.checkpoint(model), hooks);
  }

  private async load(model: ModelRef): Promise<LoadedModel> {
    if (!this.config.trusted) fail('BAD_INPUT', { field: model.ref }, 'models are loaded only in trusted workspaces, and this workspace is in Restricted Mode.', 'Trust the workspace (Manage Workspace Trust).');
    const opened = this.checkpoint(model);
    const key = this.loadKey(model, opened);
    if (this.loaded?.key === key) return this.loaded.model;
    if (this.loading?.key === key) return this.loading.promise;
    const previous = this.loaded;
    this.loaded = undefined;
    if (previous) {
      this.kept.drop((r) => r.kind === 'trace' && r.modelDir === previous.model.ckpt.dir);
      await previous.model.dispose();
    }
    this.saeChecks.forget(key);
    // Processing reads every weight once, so it is part of loading (and of the promise others wait on).
    // The dictionaries' metadata may ask for it (SAELens model_from_pretrained_kwargs); the user's choice wins.
    const promise = Promise.resolve().then(async () => {
      const saes = openAttachedSaes(opened, model.saes ?? [], model.baseDir);
      const choice = chooseModelProcessing(model.processing, saes.map((s) => s.dict));
      const m = await this.openModel(processCheckpoint(opened, choice.processing), saes);
      this.loadedAs.set(m, { key, ref: model, notes: choice.notes });
      return m;
    });
    this.loading = { key, promise };
    try {
      const m = await promise;
      this.loaded = { key, model: m };
      return m;
    } finally {
      if (this.loading?.promise === promise) this.loading = undefined;
    }
  }

  private openModel(ckpt: Checkpoint, saes: LoadedModel['saes']): Promise<LoadedModel> {
    return LoadedModel.open(ckpt, {
      saes,
      session: { backend: this.config.backend, threads: this.config.threads },
      limits: () => ({ cacheBytes: this.config.cacheBytes, promptTokens: this.config.promptTokens }),
      beforeChunk: this.opts.beforeChunk,
      scanWorkerPath: this.opts.scanWorkerPath,
    });
  }

  /** What makes two loads the same model: folder, backend, threads, tokenizer, processing asked and dictionaries. */
  private loadKey(model: ModelRef, opened: Checkpoint): string {
    return `${opened.dir}|${this.config.backend}|${this.config.threads ?? ''}|${opened.tokenizer ? 1 : 0}|${processingKey(model.processing)}|${saesKey(model.saes, model.baseDir)}`;
  }

  /** The processing in effect in words, and its notes: the family's, then the dictionaries'. */
  private processingOf(m: LoadedModel): { processing: string; processingNotes: string[] } {
    return { processing: processingLabel(m.ckpt.processing?.options), processingNotes: [...m.ckpt.processing?.notes ?? [], ...this.loadedAs.get(m)?.notes ?? []] };
  }

  /**
   * The attached dictionaries' checks on load (each run once per loaded model), on `texts` (a spec's
   * prompts, a traced prompt) and the bundled sample; none when nothing is attached.
   */
  private async checksOnLoad(m: LoadedModel, texts: readonly string[], ctx: RequestContext<Progress>, rows: Token[][] = []): Promise<SaeCheckInfo[] | undefined> {
    const as = this.loadedAs.get(m);
    if (!m.saes.length || !as) return undefined;
    if (m.saes.every((s) => this.saeChecks.cached(as.key, s))) return this.saeChecks.ensure(m, as.key, [], ctx.signal, async () => undefined);
    const sample = this.config.saeSample ?? (this.config.bundledModelsDir ? path.join(path.dirname(this.config.bundledModelsDir), 'sae-sample.txt') : undefined);
    const sampled = sampleRows(m.ckpt, texts, sample, rows);
    ctx.event({ message: `checking ${m.saes.length} dictionar${m.saes.length === 1 ? 'y' : 'ies'} on ${sampled.length} sample rows…` });
    return this.saeChecks.ensure(m, as.key, sampled, ctx.signal, async () => {
      const processed = processCheckpoint(m.ckpt, TRANSFORMERLENS_PROCESSING);
      return isProcessed(processed.processing?.options) ? this.openModel(processed, m.saes) : undefined;
    });
  }

  private async loadInfo(model: ModelRef): Promise<LoadedModelInfo> {
    const m = await this.load(model);
    return {
      ...factsOf(m.ckpt, undefined, m.hooks), saes: m.saes.map(attachedSaeInfo), backend: m.backend, ...(m.backendNote ? { backendNote: m.backendNote } : {}), loadMs: m.loadMs,
      ...this.processingOf(m),
    };
  }

  /** A prompt's tokens: text through the checkpoint's tokenizer (length-checked), or ids as given. */
  private tokens(ckpt: Checkpoint, input: PromptInput) {
    if ('text' in input && !ckpt.tokenizer && !this.config.trusted) {
      fail('BAD_INPUT', { field: ckpt.name }, "its tokenizer is not loaded in Restricted Mode (a tokenizer's rules run on the text).", 'Trust the workspace to tokenize with it.');
    }
    return 'ids' in input ? tokensFromIds(ckpt, input.ids) : promptTokens(ckpt, input.text, input.bos ?? true, this.config.promptTokens);
  }

  private async trace(p: TraceParams, ctx: RequestContext<Progress>): Promise<TraceResult> {
    const model = await this.load(p.model);
    const ckpt = model.ckpt;
    const tokens = this.tokens(ckpt, p.input);
    ctx.event({ message: `running ${tokens.length} tokens…` });
    let run: TraceRun;
    let runId: number | undefined;
    const grad = p.grad && gradOption(model, p.grad, p.hooks);
    if (p.keep) {
      const kept = await this.keptTrace(model, tokens, p.hooks ?? '', '--hooks', ctx.signal, p.interventions, grad);
      run = kept.run;
      runId = kept.id;
    } else {
      const hooks = p.hooks ? selectHooks(model.hooks, p.hooks) : [];
      run = traceRun(model, tokens, await model.trace([tokens], { hooks, interventions: p.interventions, logits: logitsFor(grad), grad, signal: ctx.signal }), this.loadedAs.get(model)?.ref);
    }
    const vocab = ckpt.config.dVocab;
    const logits = run.trace.logits;
    const last = logits.data.subarray(logits.data.length - vocab); // the last position of [1, 1 or pos, d_vocab]
    const probs = softmax(last);
    const decode = decoder(model);
    const top = topK(last, p.topK ?? 10).map(({ index, value }) => ({ id: index, text: decode(index), prob: probs[index], logit: value }));
    const hooks = run.trace.cache.names().map((name) => ({ name, shape: run.trace.cache.get(name).dims }));
    const saeChecks = p.checkSaes ? await this.checksOnLoad(model, 'text' in p.input ? [p.input.text] : [], ctx, 'ids' in p.input ? [tokens] : []) : undefined;
    const grads = run.trace.grads && { grads: run.trace.grads.names().map((name) => ({ name, shape: run.trace.grads!.get(name).dims })), metric: run.trace.metric![0] };
    return { ...(runId !== undefined ? { runId } : {}), model: modelLabel(ckpt), tokens, top, hooks, ...grads, ...(saeChecks ? { saeChecks } : {}), runMs: run.trace.runMs };
  }

  private async checkSaes(p: SaeCheckParams, ctx: RequestContext<Progress>): Promise<SaeCheckInfo[]> {
    const model = await this.load(p.model);
    if (model.saes.length === 0) fail('BAD_INPUT', { field: 'saes' }, 'no dictionary is attached to check.', 'Name one with --sae DIR[@HOOK].');
    const max = p.maxTokens ?? Math.min(model.ckpt.config.nCtx, SAE_CHECK_TOKENS);
    const prompts = p.prompts.map((input) => this.sampleTokens(model.ckpt, input, max));
    ctx.event({ message: `checking ${model.saes.length} dictionar${model.saes.length === 1 ? 'y' : 'ies'} on ${prompts.length} prompts…` });
    return checkDictionaries(model, model.hooks, model.saes, prompts, ctx.signal);
  }

  /** A sample prompt's tokens, cut to `max` before the context check (a long text is a sample, not an error). */
  private sampleTokens(ckpt: Checkpoint, input: PromptInput, max: number): Token[] {
    if ('ids' in input) return tokensFromIds(ckpt, input.ids.slice(0, max));
    if (!ckpt.tokenizer) fail('BAD_INPUT', { file: ckpt.dir, field: '--prompt' }, 'this checkpoint has no tokenizer files (tokenizer.json or vocab.json + merges.txt).', 'Give token ids with --tokens instead.');
    return ckpt.tokenizer.encode(input.text, { prependBos: input.bos ?? true }).slice(0, max);
  }

  /** A spec's prompt traced for the views (attention, logit lens, inline), or the kept trace of it. */
  private async viewTrace(model: LoadedModel, prompt: PromptSpec, cacheGlobs: string[], signal: AbortSignal): Promise<{ id: number; run: TraceRun }> {
    const globs = [VIEW_HOOKS, ...cacheGlobs].join(',');
    return this.keptTrace(model, model.tokenize(prompt.text.value), globs, 'cache', signal);
  }

  /** A kept trace of these tokens caching these hooks: the one kept already, else a new run. */
  private async keptTrace(model: LoadedModel, tokens: Token[], globs: string, field: string, signal: AbortSignal, interventions?: Intervention[], grad?: TraceOptions['grad']): Promise<{ id: number; run: TraceRun }> {
    const key = interventions?.length || grad ? undefined : JSON.stringify([model.ckpt.dir, tokens.map((t) => t.id), globs, model.saes.map((s) => [s.dict.dir, s.dict.hookIn, s.mode])]);
    const reused = key === undefined ? undefined : this.kept.reuse(key);
    if (reused?.run.kind === 'trace') return { id: reused.id, run: reused.run };
    if (reused) this.kept.release(reused.id);
    const trace = await model.trace([tokens], { hooks: globs ? selectHooks(model.hooks, globs, field) : [], interventions, logits: logitsFor(grad), grad, signal });
    const run = traceRun(model, tokens, trace, this.loadedAs.get(model)?.ref);
    if (signal.aborted) throw cancelledError(); // cancelled during its last chunk: nobody would release it
    return { id: this.kept.add(run, traceBytes(run), key), run };
  }

  private async runAnalysis(p: AnalysisParams, ctx: RequestContext<Progress>): Promise<AnalysisResult> {
    const started = performance.now();
    const parsed = parseSpec(p.spec.text);
    const { spec } = parsed;
    const a = spec.analyses.find((x) => x.index === p.analysis);
    // Only the problems shared by every analysis and this analysis's own stop it; the others' do not.
    requireRunnable(p.spec, parsed.problems, { index: p.analysis, title: a?.title });
    if (!a) fail('BAD_INPUT', { file: p.spec.path, field: 'analyses' }, `no analysis at index ${p.analysis}; the spec has ${spec.analyses.length}.`);
    const ref = specModelRef(spec, p.spec.path, p.model, p.defaultModel ?? 'demo', p.processing)!;
    ctx.event({ message: 'loading the model…' });
    const model = await this.load(ref);
    requireRunnable(p.spec, this.problemsOf(p.spec.text, spec, model.ckpt, model.hooks), a, model.ckpt.name);
    const saeChecks = await this.checksOnLoad(model, spec.prompts.map((x) => x.text.value), ctx);
    const dataset = datasetOf(a)?.value;
    const prompt = dataset !== undefined ? undefined : promptOf(spec, a) ?? fail('BAD_INPUT', { file: p.spec.path, field: 'prompts' }, 'the spec has no prompts.');
    const base = {
      model: modelLabel(model.ckpt), ...this.processingOf(model), title: a.title, kind: a.kind, ...(saeChecks ? { saeChecks } : {}),
      // An analysis on a dataset: its name stands where a prompt's would.
      prompt: prompt ? { name: prompt.name.value, text: prompt.text.value } : { name: dataset ?? '', text: '' } };
    ctx.event({ message: `${a.title}…` });
    if (a.kind === 'attention' || a.kind === 'logitLens') {
      const trace = await this.viewTrace(model, prompt!, spec.cache.map((c) => c.value), ctx.signal);
      const target = (a.kind === 'logitLens' ? a.target?.value : undefined) ?? prompt!.answer?.value;
      const k = a.kind === 'logitLens' ? a.topK : 5;
      const targetId = targetIdOf(model, target);
      let lens: LogitLens;
      try {
        lens = await lensOf(model, trace.run, k, targetId, ctx.signal);
        if (ctx.signal.aborted) throw cancelledError();
      } catch (e) {
        this.kept.release(trace.id); // the view that would hold the trace is not made
        throw e;
      }
      const view: ViewRun = { kind: 'view', traceId: trace.id, analysis: a, ...(target !== undefined ? { target } : {}) };
      const runId = this.kept.add(view, 0);
      const slice: Slice = a.kind === 'attention'
        ? { kind: 'attention', layers: a.layers?.map((l) => l.value), ...(a.focus ? { focus: { layer: a.focus.layer.value, head: a.focus.head.value } } : {}) }
        : { kind: 'logitLens', ...(target !== undefined ? { target } : {}), topK: a.topK };
      return { ...base, runId, view: a.kind, slice, inline: tokenInsights(trace.run, lens, decoder(model)), ms: performance.now() - started };
    }
    const output = await runCircuitAnalysis({
      tracer: model, prompts: spec.prompts, signal: ctx.signal,
      dataset: (name) => {
        const d = spec.datasets.find((x) => x.name.value === name) ?? fail('BAD_INPUT', { file: p.spec.path, field: 'datasets' }, `no dataset is named ${JSON.stringify(name)}.`);
        return loadDataset(model, d, p.spec.path);
      },
      onProgress: (done, total) => ctx.event({ message: `${a.title}: run ${done} of ${total}`, done, total }),
    }, a);
    if (ctx.signal.aborted) throw cancelledError(); // nobody would release it
    const runId = this.kept.add({ kind: 'output', output }, JSON.stringify(output).length);
    // Input attribution also goes next to its prompt in the spec: each token's value with its characters.
    const tokenValues = a.kind === 'inputAttribution' && prompt
      ? { label: output.valueLabel, tokens: model.tokenize(prompt.text.value).map((t, pos) => ({ pos, text: t.text, start: t.start, end: t.end, value: output.values[pos] })) }
      : undefined;
    return { ...base, runId, view: 'analysis', slice: { kind: 'output' }, ...(output.features ? { features: output.features } : {}), ...(tokenValues ? { tokenValues } : {}), ms: performance.now() - started };
  }

  private async slice(runId: number, s: Slice, signal: AbortSignal): Promise<SliceResult> {
    const run = this.kept.get(runId);
    if (run.kind === 'output') {
      if (s.kind !== 'output') fail('BAD_INPUT', { field: 'slice' }, `a ${run.output.kind} run has only its output.`);
      return run.output;
    }
    if (run.kind === 'view') return this.viewSlice(run, s, signal);
    const model = await this.modelOf(run);
    switch (s.kind) {
      case 'attention':
        return attentionSlice(run, s.layers, s.focus);
      case 'logitLens':
        return lensSlice(model, run, s.target, s.topK ?? 5, signal, s.decompose ? 'decomposed' : 'resid');
      case 'hook':
        return hookSlice(run, s.hook, s.select, s.grad);
      case 'head':
        return headWindow(run, s);
      case 'output':
        return attentionOutput(run, 'attention');
      case 'features':
        return featuresSlice(model, run, s);
    }
  }

  /** Traces a prompt with its dictionaries' activations cached and keeps it for the Features panel and hovers. */
  private async featuresTop(p: FeaturesTopParams, ctx: RequestContext<Progress>): Promise<FeaturesSlice & { runId: number }> {
    const parsed = p.spec ? parseSpec(p.spec.text).spec : undefined;
    const base = p.model ?? (parsed && p.spec ? specModelRef(parsed, p.spec.path, undefined, p.defaultModel ?? 'demo') : undefined)
      ?? fail('BAD_INPUT', { field: 'model' }, 'name a model or a spec.');
    const ref: ModelRef = { ...base, saes: [...(base.saes ?? []), ...(p.saes ?? [])] };
    ctx.event({ message: 'loading the model and its dictionaries…' });
    const model = await this.load(ref);
    saeAt(model, p.slice?.hook);
    const tokens = this.tokens(model.ckpt, p.input);
    ctx.event({ message: `running ${tokens.length} tokens…` });
    const { id, run } = await this.keptTrace(model, tokens, model.saes.map((s) => actsHook(s.dict.hookIn)).join(','), 'saes', ctx.signal);
    try {
      return { ...featuresSlice(model, run, p.slice ?? {}), runId: id };
    } catch (e) {
      this.kept.release(id);
      throw e;
    }
  }

  /** A kept trace and its model, which must still have the run's dictionary attached. */
  private async featureRun(runId: number, hook: string): Promise<{ run: TraceRun; model: LoadedModel }> {
    const run = this.kept.get(runId);
    if (run.kind !== 'trace') fail('BAD_INPUT', { field: 'runId' }, 'not a traced prompt.');
    const model = this.loaded?.model.ckpt.dir === run.modelDir ? this.loaded.model : undefined;
    if (!model || !model.saes.some((s) => s.dict.hookIn === hook)) fail('STALE', { field: hook }, 'the model this run used, with its dictionary, is no longer loaded.', 'Show the features of the prompt again.');
    return { run, model };
  }

  private async featureCard(p: FeatureCardParams): Promise<FeatureCard> {
    const { run, model } = await this.featureRun(p.runId, p.hook);
    return featureCard(model, run, p, this.featureLogits);
  }

  private async logitsOfFeatures(p: FeatureLogitsParams): Promise<FeatureLogits[]> {
    const { model } = await this.featureRun(p.runId, p.hook);
    return this.featureLogits.get(model, saeAt(model, p.hook), p.features, p.logits);
  }

  /** hook_sae_acts_post of a batch of windows: the trace's code path, with only that hook fetched. */
  private async featureActs(p: FeatureActsParams, ctx: RequestContext<Progress>): Promise<TensorData> {
    const model = await this.load(p.model);
    saeAt(model, p.hook);
    const batch = p.windows.map((ids) => tokensFromIds(model.ckpt, ids, 'windows'));
    const name = actsHook(p.hook);
    const trace = await model.trace(batch, { hooks: selectHooks(model.hooks, name, 'hook'), logits: 'last', signal: ctx.signal });
    return trace.cache.get(name);
  }

  private async viewSlice(view: ViewRun, s: Slice, signal: AbortSignal): Promise<SliceResult> {
    const run = this.kept.get(view.traceId);
    if (run.kind !== 'trace') fail('RUNTIME', { field: 'slice' }, 'a view without its trace.');
    const a = view.analysis;
    if (s.kind !== 'output') return this.slice(view.traceId, s, signal);
    if (a.kind === 'attention') return attentionOutput(run, a.title);
    return lensOutput(await this.modelOf(run), run, a.title, view.target, a.topK, signal);
  }

  /** The loaded model of a kept trace, loading it again when another model was opened since. */
  private async modelOf(run: TraceRun): Promise<LoadedModel> {
    if (this.loaded?.model.ckpt.dir === run.modelDir) return this.loaded.model;
    return this.load(run.modelRef ?? { ref: run.modelDir });
  }

  private release(runId: number): void {
    const run = this.kept.peek(runId);
    this.kept.release(runId);
    if (run?.kind === 'view' && !this.kept.peek(runId)) this.kept.release(run.traceId);
  }

  private checkSpec(p: SpecCheckParams): SpecProblemInfo[] {
    const parsed = parseSpec(p.spec.text);
    const problems: SpecProblemInfo[] = [...parsed.problems];
    const ref = specModelRef(parsed.spec, p.spec.path, undefined, p.defaultModel);
    if (!ref) {
      problems.push({ severity: 'warning', message: 'no "model" given and circuitLens.defaultModel is empty: runs use the bundled "demo" model.', range: { offset: 0, length: 1 } });
      return problems;
    }
    let ckpt: Checkpoint;
    try {
      ckpt = this.checkpoint(ref);
    } catch (e) {
      problems.push({ severity: 'error', message: `model: ${(e as Error).message}`, range: parsed.spec.model?.range ?? { offset: 0, length: 1 } });
      return problems;
    }
    const saes = parsed.spec.saes?.length ? this.saeProbe.check(ckpt, parsed.spec.saes, p.spec.path) : { problems: [], hooks: ckpt.hooks, attached: [] };
    // What the dictionaries' checks on load found, once a run of this spec's model loaded them.
    const key = this.loadKey(ref, ckpt);
    const checked = saes.attached.flatMap(({ entry, sae }) => {
      const c = this.saeChecks.cached(key, sae);
      return c ? checkProblems(entry, c) : [];
    });
    return [...problems, ...saes.problems, ...checked, ...this.problemsOf(p.spec.text, parsed.spec, ckpt, saes.hooks)];
  }

  /**
   * The spec's problems on this checkpoint (token counts included), validated once per text and hook
   * list: the model's hooks with those of the spec's dictionaries.
   */
  private problemsOf(text: string, spec: ParsedSpec['spec'], ckpt: Checkpoint, hooks: readonly HookPoint[] = ckpt.hooks): SpecProblemInfo[] {
    const hit = this.validated.get(ckpt);
    if (hit?.text === text && sameHooks(hit.hooks, hooks)) return hit.problems;
    const problems = validateSpec(spec, { ...specFacts(ckpt), hooks });
    this.validated.set(ckpt, { text, hooks, problems });
    return problems;
  }

  async dispose(): Promise<void> {
    const m = this.loaded?.model;
    this.loaded = undefined;
    await m?.dispose();
  }
}
