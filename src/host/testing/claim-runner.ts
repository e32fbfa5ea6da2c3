/**
 * Runs the claims a Test Explorer request picks: each chosen circuit of each spec is one `analysis/run`
 * request to the worker (the one `circuit-lens test` makes), and each of its claim results marks one
 * leaf. A circuit that cannot run marks its leaves errored with the worker's message (which names the
 * field); a problem of the whole spec marks the rest of that spec. Cancelling the run cancels the request.
 * Nothing is measured here: the results come from the worker.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseSpec } from '../../engine/spec/parse';
import type { AnalysisOutput } from '../../protocol/analysis';
import { isCircuitLensError } from '../../protocol/errors';
import { specModel } from '../analysis-runner';
import type { ModelSession } from '../model-session';
import type { Settings } from '../settings';
import { RESTRICTED_MESSAGE, isTrusted, requireTrust } from '../trust';
import { claimReport } from './claim-messages';
import { type CircuitNode, leafOf } from './claim-tree';
import type { StoredResult } from './result-cache';

/** One spec's part of a run: the text it runs on and, per circuit, the ids of the leaves asked for. */
export interface SpecJob {
  uri: vscode.Uri;
  text: string;
  circuits: { circuit: CircuitNode; leaves: string[] }[];
}

/** Where a run's progress and results go (the Test Explorer's run). */
export interface RunSink {
  token: vscode.CancellationToken;
  started(job: SpecJob, ids: readonly string[]): void;
  output(line: string): void;
  /** `persist`: whether the results are kept for the next session (not a refusal in Restricted Mode). */
  report(job: SpecJob, results: readonly StoredResult[], persist?: boolean): void;
}

export interface ClaimRunnerDeps {
  session: ModelSession;
  settings: () => Settings;
  log: vscode.LogOutputChannel;
}

/** An error as an errored item says it: its message, with the field when the message does not name it. */
function errorText(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const field = isCircuitLensError(e) ? e.field : undefined;
  return field && !message.includes(field) ? `${field}: ${message}` : message;
}

const isCancel = (e: unknown) => isCircuitLensError(e) && e.code === 'CANCELLED';

export class ClaimRunner {
  constructor(private readonly d: ClaimRunnerDeps) {}

  async run(jobs: readonly SpecJob[], sink: RunSink): Promise<void> {
    if (!isTrusted()) {
      requireTrust();
      for (const job of jobs) sink.report(job, job.circuits.flatMap((c) => c.leaves.map((id) => ({ id, mark: 'errored' as const, message: RESTRICTED_MESSAGE }))), false);
      return;
    }
    const abort = new AbortController();
    const sub = sink.token.onCancellationRequested(() => abort.abort());
    try {
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Circuit Lens: claims' }, async (progress) => {
        for (const job of jobs) {
          if (abort.signal.aborted) break;
          await this.runSpec(job, sink, abort.signal, (message) => progress.report({ message }));
        }
      });
    } finally {
      sub.dispose();
    }
  }

  /** One spec's circuits, in order; a problem of the whole spec stops the rest of it. */
  private async runSpec(job: SpecJob, sink: RunSink, signal: AbortSignal, progress: (message: string) => void): Promise<void> {
    const specName = path.basename(job.uri.fsPath);
    const defaultModel = this.d.settings().defaultModel;
    const errored = (circuits: SpecJob['circuits'], message: string) => sink.report(job, circuits.flatMap((c) => c.leaves.map((id) => ({ id, mark: 'errored' as const, message }))));
    sink.started(job, job.circuits.flatMap((c) => c.leaves));
    try {
      progress(`${specName}: loading the model…`);
      await this.d.session.open(specModel(parseSpec(job.text).spec, job.uri, defaultModel), signal);
    } catch (e) {
      if (isCancel(e)) return;
      errored(job.circuits, errorText(e));
      return;
    }
    for (const [i, { circuit, leaves }] of job.circuits.entries()) {
      if (signal.aborted) return;
      const started = performance.now();
      try {
        const r = await this.d.session.client.request('analysis/run', { spec: { text: job.text, path: job.uri.fsPath }, analysis: circuit.index, defaultModel: defaultModel || 'demo' }, {
          signal, onEvent: (e) => {
            progress(`${circuit.label}: ${e.message}`);
            sink.output(`${specName} › ${circuit.label}: ${e.message}`);
          },
        });
        const out = (await this.d.session.client.request('run/slice', { runId: r.runId, slice: { kind: 'output' } }, { signal })) as AnalysisOutput;
        void this.d.session.client.request('run/release', { runId: r.runId }).catch(() => undefined);
        const ms = (performance.now() - started) / Math.max(1, leaves.length);
        const results: StoredResult[] = [];
        for (const claim of out.claims ?? []) {
          const leaf = leafOf(circuit, claim);
          if (!leaf || !leaves.includes(leaf.id)) continue;
          results.push({ id: leaf.id, ...claimReport(claim), ms });
        }
        const missing = leaves.filter((id) => !results.some((r) => r.id === id));
        results.push(...missing.map((id) => ({ id, mark: 'errored' as const, message: `${circuit.label}: the run gave no result for this claim.` })));
        sink.report(job, results);
        this.d.log.info(`${specName} › ${circuit.label}: ${results.length} claim results in ${(performance.now() - started).toFixed(0)} ms`);
      } catch (e) {
        if (isCancel(e)) return;
        this.d.log.warn(`${specName} › ${circuit.label}: ${errorText(e)}`);
        // The circuit's own problem stops it; any other (the model, the datasets) stops the spec's rest.
        const own = isCircuitLensError(e) && e.field === circuit.id;
        errored(own ? [job.circuits[i]] : job.circuits.slice(i), errorText(e));
        if (!own) return;
      }
    }
  }
}
