// Circuit Lens in an untrusted workspace (Restricted Mode): specs are still checked, but no command loads
// a model, opens a panel or offers to run.
import * as assert from 'node:assert/strict';
import Mocha from 'mocha';
import * as vscode from 'vscode';
import type { CircuitLensApi } from '../../src/host/extension';
import { RESTRICTED_MESSAGE } from '../../src/host/trust';
import { activateExtension, brokenSpecDiagnostics, fixture, until } from './vscode-helpers';

export function addSuite(root: Mocha.Suite): void {
  const suite = Mocha.Suite.create(root, 'Circuit Lens in Restricted Mode');
  let api: CircuitLensApi;

  suite.beforeAll(async () => {
    api = await activateExtension();
  });

  suite.addTest(new Mocha.Test('runs in an untrusted workspace', () => {
    assert.equal(vscode.workspace.isTrusted, false, 'the runner should open the workspace untrusted');
    assert.equal(api.loadedModel(), undefined);
  }));

  suite.addTest(new Mocha.Test('still puts semantic diagnostics on a broken spec', async () => {
    await brokenSpecDiagnostics();
    assert.equal(api.loadedModel(), undefined, 'diagnostics read the checkpoint without loading the model');
  }));

  suite.addTest(new Mocha.Test('offers to trust the workspace instead of running', async () => {
    const uri = fixture('induction.circuit.json');
    await vscode.window.showTextDocument(uri);
    const lenses = await until('code lenses', async () => {
      const l = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri);
      return l.length > 0 ? l : undefined;
    });
    assert.deepEqual(lenses.map((l) => [l.command?.title, l.command?.command]), [['$(shield) Trust workspace to run', 'workbench.trust.manage']]);
  }));

  suite.addTest(new Mocha.Test('loads no model and opens no panel from the run commands', async () => {
    const uri = fixture('induction.circuit.json');
    await vscode.window.showTextDocument(uri);
    assert.equal(await vscode.commands.executeCommand('circuitLens.runExperiment', uri), undefined);
    assert.equal(await vscode.commands.executeCommand('circuitLens.runAnalysis', uri, 0), undefined);
    assert.equal(await vscode.commands.executeCommand('circuitLens.tracePrompt', 'planted-induction', 'The cat sat on the'), undefined);
    // Select Model asks for trust before its quick pick, so this returns without one open.
    await vscode.commands.executeCommand('circuitLens.selectModel');
    assert.deepEqual(api.panelPayloads(), []);
    assert.equal(api.inlineDecorations().get(uri.toString()), 0);
    assert.equal(api.loadedModel(), undefined);
  }));

  suite.addTest(new Mocha.Test('lists the circuit claims in the Test Explorer, and its run profile refuses to run them with the trust message', async () => {
    const { items } = await api.claimTests();
    const spec = items.find((i) => i.label === 'circuits.circuit.json');
    assert.ok(spec, 'the claims are listed in Restricted Mode too');
    // The Testing view's Run All asks for trust itself (a dialog, refused in tests) before the run
    // profile is called; the profile refuses on its own too, as here.
    await api.runClaimTests();
    const leaves = spec.children.flatMap((c) => c.children.flatMap((k) => (k.children.length ? k.children : [k])));
    const results = await until('a result on every claim', async () => {
      const r = (await api.claimTests()).results;
      return leaves.every((l) => r.has(l.id)) ? r : undefined;
    });
    for (const l of leaves) assert.deepEqual([results.get(l.id)?.mark, results.get(l.id)?.message], ['errored', RESTRICTED_MESSAGE]);
    assert.equal(api.loadedModel(), undefined);
  }));
}
