// The circuit claims in VS Code's Test Explorer: the fixture circuits.circuit.json (a copy of
// examples/circuits.circuit.json: a true induction circuit and a documented false claim) is listed as
// test items at its claims' lines, runs from the Testing view's Run All, and each result lands on its item.
import * as assert from 'node:assert/strict';
import Mocha from 'mocha';
import * as vscode from 'vscode';
import type { CircuitLensApi } from '../../src/host/extension';
import type { ClaimItemInfo } from '../../src/host/testing/claim-tests';
import { activateExtension, fixture, until } from './vscode-helpers';

const find = (items: readonly ClaimItemInfo[], label: string): ClaimItemInfo | undefined => {
  for (const i of items) {
    if (i.label === label) return i;
    const below = find(i.children, label);
    if (below) return below;
  }
  return undefined;
};

export function addSuite(root: Mocha.Suite): void {
  const suite = Mocha.Suite.create(root, 'Circuit claims in the Test Explorer');
  let api: CircuitLensApi;

  suite.beforeAll(async () => {
    api = await activateExtension();
  });

  suite.addTest(new Mocha.Test('lists every claim of the spec, by circuit, at its line', async () => {
    const { items } = await api.claimTests();
    const spec = items.find((i) => i.label === 'circuits.circuit.json');
    assert.ok(spec, `no items for circuits.circuit.json; items: ${items.map((i) => i.label).join(', ')}`);
    assert.deepEqual(spec.children.map((c) => c.label), ['induction circuit', 'previous-token head alone']);
    const [induction, alone] = spec.children;
    assert.deepEqual(induction.children.map((c) => c.label), ['faithfulness', 'minimality', 'completeness']);
    assert.deepEqual(induction.children[0].children.map((c) => c.label), ['mean', 'resample', 'zero']);
    assert.deepEqual(alone.children.map((c) => c.label), ['faithfulness (mean)']);
    const doc = await vscode.workspace.openTextDocument(fixture('circuits.circuit.json'));
    assert.match(doc.lineAt(alone.children[0].line!).text, /"faithfulness": \{ "min": 0\.8, "expect": "fail" \}/);
    assert.ok(!items.some((i) => i.label === 'induction.circuit.json'), 'a spec without circuits has no items');
  }));

  suite.addTest(new Mocha.Test('Run All from the Testing view passes the true claims and reports the false one as an expected failure', async () => {
    await vscode.commands.executeCommand('testing.runAll');
    const { items } = await api.claimTests();
    const spec = find(items, 'circuits.circuit.json')!;
    const leaves = spec.children.flatMap((c) => c.children.flatMap((k) => (k.children.length ? k.children : [k])));
    assert.equal(leaves.length, 10);
    const results = await until('a result on every claim', async () => {
      const r = (await api.claimTests()).results;
      return leaves.every((l) => r.has(l.id)) ? r : undefined;
    }, 120_000);
    const induction = find(spec.children, 'induction circuit')!;
    for (const claim of induction.children) {
      for (const ab of claim.children) assert.equal(results.get(ab.id)?.mark, 'passed', `${claim.label} (${ab.label}): ${results.get(ab.id)?.message}`);
    }
    const falseClaim = results.get(find(spec.children, 'previous-token head alone')!.children[0].id)!;
    assert.equal(falseClaim.mark, 'skipped', falseClaim.message);
    assert.match(falseClaim.message!, /^Expected to fail \("expect": "fail"\), and it does: faithfulness is -?0\.\d+ with mean ablation; the claim needs >= 0\.8\./);
  }));

  suite.addTest(new Mocha.Test('a circuit with an error is errored with the worker\'s message, naming the field; the spec\'s other circuit still runs', async () => {
    const { items, results } = await api.claimTests();
    const spec = find(items, 'claims-error.circuit.json')!;
    const [bad, whole] = spec.children.map((c) => c.children[0]);
    assert.equal(results.get(bad.id)?.mark, 'errored');
    assert.match(results.get(bad.id)!.message!, /analyses\[0\][^]*layer 7 is out of range: this model has 2/);
    assert.equal(results.get(whole.id)?.mark, 'passed', results.get(whole.id)?.message);
  }));

  suite.addTest(new Mocha.Test('an edited spec updates its items and drops their results', async () => {
    const uri = fixture('circuits.circuit.json');
    const doc = await vscode.workspace.openTextDocument(uri);
    const original = doc.getText();
    const whole = new vscode.Range(doc.positionAt(0), doc.positionAt(original.length));
    const edit = new vscode.WorkspaceEdit();
    edit.replace(uri, whole, original.replace('"min": 0.8, "expect": "fail"', '"max": 0.5'));
    assert.ok(await vscode.workspace.applyEdit(edit));
    const alone = await until('the edited claim', async () => {
      const c = find((await api.claimTests()).items, 'previous-token head alone');
      const { results } = await api.claimTests();
      return c && ![...results.keys()].some((id) => id.startsWith(uri.toString())) ? c : undefined;
    }, 10_000);
    assert.deepEqual(alone.children.map((c) => c.label), ['faithfulness (mean)']);
    const back = new vscode.WorkspaceEdit();
    back.replace(uri, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), original);
    assert.ok(await vscode.workspace.applyEdit(back));
    await doc.save();
  }));

  suite.addTest(new Mocha.Test('a new spec gets its items, and a deleted one loses them', async () => {
    const uri = fixture('new.circuit.json');
    const text = (await vscode.workspace.fs.readFile(fixture('claims-error.circuit.json'))).toString();
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(text));
    const listed = (want: boolean) => async () => ((await api.claimTests()).items.some((i) => i.label === 'new.circuit.json') === want ? true : undefined);
    await until('the new spec\'s items', listed(true), 15_000);
    await vscode.workspace.fs.delete(uri);
    await until('the deleted spec\'s items gone', listed(false), 15_000);
  }));

  suite.addTest(new Mocha.Test('Cancel in the Testing view stops the run, and the next run completes', async () => {
    const uri = fixture('circuits.circuit.json');
    const leafIds = async () => {
      const spec = (await api.claimTests()).items.find((i) => i.label === 'circuits.circuit.json')!;
      return spec.children.flatMap((c) => c.children.flatMap((k) => (k.children.length ? k.children : [k]))).map((l) => l.id);
    };
    const ids = await leafIds();
    const done = (r: Map<string, unknown>) => ids.filter((id) => r.has(id)).length;
    assert.equal(done((await api.claimTests()).results), 0, 'the edit before dropped this spec\'s results');
    const running = vscode.commands.executeCommand('testing.runAll');
    await new Promise((r) => setTimeout(r, 300));
    await vscode.commands.executeCommand('testing.cancelRun');
    await running;
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(done((await api.claimTests()).results) < ids.length, `${uri.path}: the cancelled run finished every claim`);
    await api.runClaimTests();
    assert.equal(done((await api.claimTests()).results), ids.length);
  }));
}
