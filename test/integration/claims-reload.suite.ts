// Claim results across a window reload: the first entry runs the claims of circuits.circuit.json; the
// second, in the same window reloaded (`node tools/e2e/run-integration.mjs --suite claims-persist
// --then claims-restored`), finds the marks restored from the workspace's state without running
// anything, and loses them once the spec's text changes.
import * as assert from 'node:assert/strict';
import Mocha from 'mocha';
import * as vscode from 'vscode';
import type { CircuitLensApi } from '../../src/host/extension';
import type { ClaimItemInfo } from '../../src/host/testing/claim-tests';
import { activateExtension, fixture, until } from './vscode-helpers';

const SPEC = 'circuits.circuit.json';

/** The ids of the spec's leaves. */
async function leafIds(api: CircuitLensApi): Promise<string[]> {
  const spec = (await api.claimTests()).items.find((i) => i.label === SPEC);
  assert.ok(spec, `no items for ${SPEC}`);
  const leaves = (i: ClaimItemInfo): ClaimItemInfo[] => (i.children.length ? i.children.flatMap(leaves) : [i]);
  return leaves(spec).map((l) => l.id);
}

/** Each leaf's mark, in the tree's order. */
async function marks(api: CircuitLensApi): Promise<(string | undefined)[]> {
  const { results } = await api.claimTests();
  return (await leafIds(api)).map((id) => results.get(id)?.mark);
}

const EXPECTED = [...Array<string>(9).fill('passed'), 'skipped'];

export function addBeforeReload(root: Mocha.Suite): void {
  const suite = Mocha.Suite.create(root, 'Claim results before a reload');
  suite.addTest(new Mocha.Test('runs the claims', async () => {
    const api = await activateExtension();
    await api.runClaimTests();
    assert.deepEqual(await marks(api), EXPECTED);
    // The workspace state reaches the workbench's storage asynchronously.
    await new Promise((r) => setTimeout(r, 2000));
  }));
}

export function addAfterReload(root: Mocha.Suite): void {
  const suite = Mocha.Suite.create(root, 'Claim results after a reload');
  suite.addTest(new Mocha.Test('shows the kept marks without running anything, until the spec changes', async () => {
    const api = await activateExtension();
    assert.deepEqual(await marks(api), EXPECTED);
    const { results } = await api.claimTests();
    const xfail = results.get((await leafIds(api))[9])!;
    assert.match(xfail.message!, /^Expected to fail/);
    assert.equal(api.workerStarted(), false, 'nothing ran: the marks are the kept ones');
    const uri = fixture(SPEC);
    const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(text.replace('"min": 0.99', '"min": 0.98')));
    await until('the marks dropped', async () => ((await marks(api)).every((m) => m === undefined) ? true : undefined), 15_000);
  }));
}
