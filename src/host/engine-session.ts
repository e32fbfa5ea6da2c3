/**
 * The extension's one open model: opened on demand (reused while the same model is asked for), with the
 * settings' backend, disposed when another model is opened or the extension deactivates. Only in a
 * trusted workspace: open() refuses in Restricted Mode.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isEngineError } from '../engine/errors';
import { describeNonFinite } from '../engine/non-finite';
import { Engine } from '../worker/engine';
import type { Settings } from './settings';
import { assertTrusted } from './trust';

export interface ModelInfo {
  spec: string;
  name: string;
  backend: 'cpu' | 'cuda';
  backendNote?: string;
  loadMs: number;
}

export class EngineSession implements vscode.Disposable {
  private loaded: { key: string; spec: string; engine: Engine } | undefined;
  private opening: { key: string; spec: string; promise: Promise<Engine> } | undefined;
  private readonly changed = new vscode.EventEmitter<ModelInfo>();
  readonly onDidChangeModel = this.changed.event;
  /** The model chosen with Select Model (or the last one used); a spec's own model wins for that spec. */
  selected: string | undefined;

  constructor(private readonly extensionUri: vscode.Uri, private readonly settings: () => Settings, private readonly log: vscode.LogOutputChannel) {}

  get bundledModelsDir(): string {
    return path.join(this.extensionUri.fsPath, 'media', 'models');
  }

  /** The model that is open or being opened, as given to open(). */
  get model(): string | undefined {
    return (this.loaded ?? this.opening)?.spec;
  }

  /** The engine for `spec`, opening it (and closing the previous model) when needed. */
  async open(spec: string, signal?: AbortSignal): Promise<Engine> {
    assertTrusted();
    const key = `${spec}|${this.settings().backend}`;
    if (this.loaded?.key === key) return this.loaded.engine;
    if (this.opening?.key !== key) {
      const previous = this.loaded?.engine;
      this.loaded = undefined;
      await previous?.dispose();
      const promise = Engine.open(spec, {
        resolve: { bundledModelsDir: this.bundledModelsDir },
        session: { backend: this.settings().backend },
        workerPath: path.join(this.extensionUri.fsPath, 'dist', 'worker.js'),
        signal,
      });
      this.opening = { key, spec, promise };
    }
    const opening = this.opening!;
    let engine: Engine;
    try {
      engine = await opening.promise;
    } finally {
      if (this.opening === opening) this.opening = undefined;
    }
    this.loaded = { key, spec, engine };
    this.selected = spec;
    const info: ModelInfo = { spec, name: engine.ckpt.name, backend: engine.loadInfo.backend, backendNote: engine.loadInfo.backendNote, loadMs: engine.loadInfo.loadMs };
    this.log.info(`Loaded ${info.name} (${engine.ckpt.dir}) on ${info.backend.toUpperCase()} in ${info.loadMs.toFixed(0)} ms${info.backendNote ? `: ${info.backendNote}` : ''}`);
    this.changed.fire(info);
    this.warnOnNonFiniteWeights(engine);
    return engine;
  }

  /** Once the background weight scan ends: a warning (not an error) when weights hold NaN or infinities. */
  private warnOnNonFiniteWeights(engine: Engine): void {
    engine.nonFiniteWeights().then((found) => {
      if (found.length === 0) return;
      const message = describeNonFinite(engine.ckpt.name, found);
      this.log.warn(message);
      void vscode.window.showWarningMessage(`Circuit Lens: ${message}`);
    }, (e: unknown) => {
      if (!isEngineError(e) || e.code !== 'CANCELLED') this.log.warn(`Could not scan the weights of ${engine.ckpt.name}: ${(e as Error).message}`);
    });
  }

  dispose(): void {
    this.changed.dispose();
    const e = this.loaded?.engine;
    this.loaded = undefined;
    this.opening = undefined;
    void e?.dispose();
  }
}
