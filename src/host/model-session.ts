/**
 * The extension's runner client and its one open model: the worker thread (started on first use, by a
 * spec's diagnostics or a run) is configured from the settings and the workspace's trust; a model is
 * opened on demand and reused while the same one is asked for. Only in a trusted workspace: open()
 * refuses in Restricted Mode, and the worker itself refuses to load a model when told it is untrusted.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { RunnerClient } from '../client/runner-client';
import type { LoadedModel, ModelRef, RunnerConfig } from '../protocol/runner';
import type { Settings } from './settings';
import { assertTrusted, isTrusted } from './trust';

export interface ModelInfo {
  ref: string;
  name: string;
  backend: 'cpu' | 'cuda';
  backendNote?: string;
  loadMs: number;
}

export class ModelSession implements vscode.Disposable {
  readonly client: RunnerClient;
  private loaded: { key: string; ref: string; dir: string } | undefined;
  private opening: string | undefined;
  private readonly changed = new vscode.EventEmitter<ModelInfo>();
  readonly onDidChangeModel = this.changed.event;
  /** The model chosen with Select Model (or the last one used); a spec's own model wins for that spec. */
  selected: string | undefined;

  constructor(private readonly extensionUri: vscode.Uri, private readonly settings: () => Settings, private readonly log: vscode.LogOutputChannel) {
    this.client = new RunnerClient({ workerPath: path.join(extensionUri.fsPath, 'dist', 'worker.js'), config: this.config() });
  }

  get bundledModelsDir(): string {
    return path.join(this.extensionUri.fsPath, 'media', 'models');
  }

  /** The model that is open or being opened, as given to open(). */
  get model(): string | undefined {
    return this.opening ?? this.loaded?.ref;
  }

  private config(): RunnerConfig {
    const s = this.settings();
    return {
      bundledModelsDir: this.bundledModelsDir, trusted: isTrusted(), backend: s.backend,
      cacheBytes: { value: s.cacheMemoryLimitMB * 2 ** 20, name: 'circuitLens.cacheMemoryLimitMB' },
      promptTokens: { value: s.maxPromptTokens, name: 'circuitLens.maxPromptTokens' },
      keptBytes: s.keptRunsMemoryMB * 2 ** 20,
    };
  }

  /** Settings or trust changed: the worker gets the new limits (a new backend applies at the next load). */
  reconfigure(): void {
    void this.client.configure(this.config()).catch((e: unknown) => this.log.warn(`Could not reconfigure the engine: ${(e as Error).message}`));
  }

  /** Loads `model` in the worker (a no-op when it is loaded already) and reports it. */
  async open(model: ModelRef, signal?: AbortSignal): Promise<LoadedModel> {
    assertTrusted();
    this.opening = model.ref;
    let info: LoadedModel;
    try {
      info = await this.client.request('model/load', { model }, { signal });
    } finally {
      this.opening = undefined;
    }
    const key = `${info.dir}|${info.backend}|${info.loadMs}`;
    if (!model.baseDir) this.selected = model.ref;
    if (this.loaded?.key === key) return info;
    this.loaded = { key, ref: model.ref, dir: info.dir };
    this.log.info(`Loaded ${info.name} (${info.dir}) on ${info.backend.toUpperCase()} in ${info.loadMs.toFixed(0)} ms${info.backendNote ? `: ${info.backendNote}` : ''}`);
    this.changed.fire({ ref: model.ref, name: info.name, backend: info.backend, backendNote: info.backendNote, loadMs: info.loadMs });
    this.warnOnNonFiniteWeights(model, info.name);
    return info;
  }

  /** Once the background weight scan ends: a warning (not an error) when weights hold NaN or infinities. */
  private warnOnNonFiniteWeights(model: ModelRef, name: string): void {
    this.client.request('model/scan', { model }).then((r) => {
      if (!r.message) return;
      this.log.warn(r.message);
      void vscode.window.showWarningMessage(`Circuit Lens: ${r.message}`);
    }, (e: unknown) => {
      if ((e as { code?: string }).code !== 'CANCELLED') this.log.warn(`Could not scan the weights of ${name}: ${(e as Error).message}`);
    });
  }

  dispose(): void {
    this.changed.dispose();
    void this.client.dispose();
  }
}
