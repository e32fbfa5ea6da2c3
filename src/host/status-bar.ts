/**
 * The status bar item: the open model, its backend and the last run's time; click to select a model. In
 * Restricted Mode it says so instead, and a click manages workspace trust.
 */
import * as vscode from 'vscode';
import type { ModelInfo } from './model-session';
import { MANAGE_TRUST_COMMAND, RESTRICTED_MESSAGE, isTrusted, onDidGrantTrust } from './trust';

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('circuitLens.status', vscode.StatusBarAlignment.Left, 50);
  private model: ModelInfo | undefined;
  private lastRunMs: number | undefined;
  private readonly trustGranted = onDidGrantTrust(() => this.render());

  constructor() {
    this.item.name = 'Circuit Lens';
    this.render();
    this.item.show();
  }

  setModel(model: ModelInfo | undefined): void {
    this.model = model;
    this.render();
  }

  setLastRun(ms: number): void {
    this.lastRunMs = ms;
    this.render();
  }

  private render(): void {
    if (!isTrusted()) {
      this.item.command = MANAGE_TRUST_COMMAND;
      this.item.text = '$(shield) Circuit Lens: Restricted';
      this.item.tooltip = `${RESTRICTED_MESSAGE}\nClick to manage workspace trust.`;
      return;
    }
    this.item.command = 'circuitLens.selectModel';
    if (!this.model) {
      this.item.text = '$(circuit-board) Circuit Lens: no model';
      this.item.tooltip = 'Circuit Lens: select a model';
      return;
    }
    const run = this.lastRunMs === undefined ? '' : ` · ${this.lastRunMs < 1000 ? `${this.lastRunMs.toFixed(0)} ms` : `${(this.lastRunMs / 1000).toFixed(1)} s`}`;
    this.item.text = `$(circuit-board) ${this.model.name} · ${this.model.backend.toUpperCase()}${run}`;
    this.item.tooltip = `Circuit Lens: ${this.model.name} on ${this.model.backend.toUpperCase()}, loaded in ${this.model.loadMs.toFixed(0)} ms${this.model.backendNote ? `\n${this.model.backendNote}` : ''}${run ? `\nLast run${run.replace(' ·', ':')}` : ''}\nClick to select another model.`;
  }

  dispose(): void {
    this.trustGranted.dispose();
    this.item.dispose();
  }
}
