/**
 * Workspace trust: the one gate in front of everything that loads or runs a model. In Restricted Mode
 * specs are still parsed and checked (config.json and safetensors headers are read as data; only the
 * bundled models' tokenizers are used, since a tokenizer's regexes run on the spec's text), but no model
 * is opened, so neither the worker nor onnxruntime starts. Granting trust switches
 * to normal mode without a reload (VS Code never revokes trust in a running window).
 */
import * as vscode from 'vscode';

export const RESTRICTED_MESSAGE = 'Circuit Lens runs models only in trusted workspaces. This workspace is in Restricted Mode: specs are checked, but nothing is loaded or run.';
export const MANAGE_TRUST_COMMAND = 'workbench.trust.manage';
const MANAGE_TRUST = 'Manage Workspace Trust';

export function isTrusted(): boolean {
  return vscode.workspace.isTrusted;
}

/** Fires once, when the user trusts the workspace. */
export const onDidGrantTrust = vscode.workspace.onDidGrantWorkspaceTrust;

/** True in a trusted workspace; otherwise says why nothing runs (with a way to trust) and returns false. */
export function requireTrust(): boolean {
  if (isTrusted()) return true;
  void vscode.window.showWarningMessage(RESTRICTED_MESSAGE, MANAGE_TRUST).then((choice) => choice && vscode.commands.executeCommand(MANAGE_TRUST_COMMAND));
  return false;
}

/** Throws in Restricted Mode: the guard where a model is opened, so no path can load one untrusted. */
export function assertTrusted(): void {
  if (!isTrusted()) throw new Error('models are loaded only in trusted workspaces, and this workspace is in Restricted Mode (Manage Workspace Trust).');
}
