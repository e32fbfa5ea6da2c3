// What the in-VS Code suites share: the extension's id and API, polling, and the fixtures workspace.
import * as assert from 'node:assert/strict';
import Mocha from 'mocha';
import * as vscode from 'vscode';
import type { CircuitLensApi } from '../../src/host/extension';

export const EXT_ID = 'circuit-lens.circuit-lens';

/** Activates the extension under test and returns its API. */
export async function activateExtension(): Promise<CircuitLensApi> {
  const ext = vscode.extensions.getExtension<CircuitLensApi>(EXT_ID);
  assert.ok(ext, `${EXT_ID} is not installed`);
  return ext.activate();
}

/** Polls `get` every 200 ms until it returns something other than undefined. */
export async function until<T>(what: string, get: () => T | undefined | Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A file of the workspace the suite runs in (a copy of test/fixtures/workspace). */
export function fixture(name: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the suite needs the fixtures workspace open');
  return vscode.Uri.joinPath(folder.uri, name);
}

/** Opens the fixture broken.circuit.json and waits for its four semantic problems; returns them. */
export async function brokenSpecDiagnostics(): Promise<vscode.Diagnostic[]> {
  const uri = fixture('broken.circuit.json');
  await vscode.window.showTextDocument(uri);
  const diags = await until('diagnostics', () => {
    const d = vscode.languages.getDiagnostics(uri).filter((x) => x.source === 'Circuit Lens');
    return d.length >= 4 ? d : undefined;
  });
  const text = diags.map((d) => d.message).join('\n');
  assert.match(text, /layer 7 is out of range: this model has 2/);
  assert.match(text, /unknown hook point "blocks\.0\.hook_resid_prr"\. Closest: blocks\.0\.hook_resid_pre/);
  assert.match(text, /answer " mat" is 2 tokens/);
  assert.match(text, /no prompt is named "nope"/);
  return diags;
}

/** The `run()` of an entry: mocha over the suites that `adders` add, rejecting when any test fails. */
export function runSuites(...adders: ((root: Mocha.Suite) => void)[]): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 120_000, color: false, reporter: 'spec' });
  for (const add of adders) add(mocha.suite);
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} integration test(s) failed`)) : resolve()));
  });
}
