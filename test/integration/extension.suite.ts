// Integration tests in a real VS Code: commands, diagnostics, a traced prompt's panel payloads, inline
// decorations. No mocks: this runs in code-server's extension host against the bundled model.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import Mocha from 'mocha';
import * as vscode from 'vscode';
import type { CircuitLensApi } from '../../src/host/extension';
import { EXT_ID, activateExtension, brokenSpecDiagnostics, fixture, until } from './vscode-helpers';
import { THUMB_MASKED } from '../../src/protocol/panels';
import type { AttentionPayload, LogitLensPayload, PanelPayload } from '../../src/protocol/panels';

const MODEL = 'planted-induction'; // 2 layers, 2 heads

export function addSuite(root: Mocha.Suite): void {
  const suite = Mocha.Suite.create(root, 'Circuit Lens in VS Code');
  let api: CircuitLensApi;

  suite.beforeAll(async () => {
    api = await activateExtension();
  });

  suite.addTest(new Mocha.Test('registers every command of its manifest', async () => {
    const ext = vscode.extensions.getExtension(EXT_ID)!;
    const declared = (ext.packageJSON.contributes.commands as { command: string }[]).map((c) => c.command);
    const all = new Set(await vscode.commands.getCommands(true));
    assert.ok(declared.length >= 7);
    for (const c of declared) assert.ok(all.has(c), `${c} is declared but not registered`);
  }));

  suite.addTest(new Mocha.Test('puts semantic diagnostics on a broken spec', async () => {
    const uri = fixture('broken.circuit.json');
    const diags = await brokenSpecDiagnostics();
    const hook = diags.find((d) => d.message.startsWith('unknown hook point'))!;
    // Diagnostics reach the code-action machinery asynchronously: ask until the fix is offered.
    const fix = await until('a quick fix with the closest hook name', async () => {
      const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', uri, hook.range);
      return actions.find((a) => a.title === 'Change to "blocks.0.hook_resid_pre"');
    }, 10_000);
    assert.ok(fix.edit);
  }));

  suite.addTest(new Mocha.Test('says when a spec\'s model folder is missing', async () => {
    const uri = fixture('missing-model.circuit.json');
    await vscode.window.showTextDocument(uri);
    const d = await until('diagnostics', () => vscode.languages.getDiagnostics(uri).find((x) => x.source === 'Circuit Lens'));
    assert.match(d.message, /^model: .*no-such-checkpoint/);
  }));

  suite.addTest(new Mocha.Test('Trace Prompt on the bundled model opens panels with payloads of the right shapes', async () => {
    const prompt = 'The cat sat on the mat. The cat sat on the';
    const payloads = await vscode.commands.executeCommand<PanelPayload[] | undefined>('circuitLens.tracePrompt', MODEL, prompt);
    assert.ok(payloads, 'the trace failed (see the Circuit Lens log)');
    const att = payloads.find((p): p is AttentionPayload => p.view === 'attention');
    const lens = payloads.find((p): p is LogitLensPayload => p.view === 'logitLens');
    assert.ok(att && lens);
    const pos = att.tokens.length;
    assert.equal(pos, 18); // BOS + 17 tokens (see the CLI trace of the same prompt)
    // One thumbnail per head, a cell per token at this length, scaled to the head's own max.
    assert.equal(att.thumbnails.size, pos);
    assert.equal(att.thumbnails.data.length, 2 * 2 * pos * pos);
    for (let h = 0; h < 4; h++) {
      const thumb: Uint8Array = att.thumbnails.data.subarray(h * pos * pos, (h + 1) * pos * pos);
      assert.ok(att.headMax[h] > 0 && att.headMax[h] <= 1 + 1e-6, `head ${h} max ${att.headMax[h]}`);
      assert.equal(Math.max(...thumb.filter((v: number) => v !== THUMB_MASKED)), THUMB_MASKED - 1);
      assert.equal(thumb[1], THUMB_MASKED); // query 0 cannot see key 1
      assert.equal(thumb[0], THUMB_MASKED - 1); // query 0 sees only itself: weight 1, the head's max
    }
    assert.deepEqual(lens.labels, ['0_pre', '0_mid', '1_pre', '1_mid', 'final_post']);
    assert.equal(lens.topTexts.length, 5 * pos * lens.k);
    assert.equal(lens.topValues.length, 5 * pos * lens.k);
    const open = api.panelPayloads().map((p) => p.view).sort();
    assert.deepEqual(open, ['attention', 'logitLens']);
    // Both panels hold the one run: its activation cache is kept while they are open.
    const kept = await api.keptRuns();
    assert.equal(kept.runs, 1);
    assert.ok(kept.bytes > 0);
    // A target token colours the lens; the same panels are updated.
    const again = await vscode.commands.executeCommand<PanelPayload[] | undefined>('circuitLens.tracePrompt', MODEL, prompt, ' the');
    const targeted = again?.find((p): p is LogitLensPayload => p.view === 'logitLens');
    assert.equal(targeted?.target?.text, ' the');
    assert.equal(targeted.target.ranks.length, 5 * pos);
    assert.equal(api.panelPayloads().length, 2);
    assert.equal((await api.keptRuns()).runs, 1, 'the re-coloured lens reuses the kept run');
  }));

  suite.addTest(new Mocha.Test('Run Experiment shows its analyses and decorates the prompt', async () => {
    const uri = fixture('induction.circuit.json');
    await vscode.window.showTextDocument(uri, { viewColumn: vscode.ViewColumn.One });
    const payloads = await vscode.commands.executeCommand<PanelPayload[] | undefined>('circuitLens.runExperiment', uri);
    assert.ok(payloads && payloads.length === 2, 'the run failed (see the Circuit Lens log)');
    const lens = payloads.find((p): p is LogitLensPayload => p.view === 'logitLens');
    assert.ok(lens?.target, 'the answer colours the lens');
    assert.equal(lens.target.text, ' the');
    assert.equal(lens.target.values.length, 5 * lens.tokens.length);
    await vscode.window.showTextDocument(uri, { viewColumn: vscode.ViewColumn.One });
    const n = await until('inline decorations', () => api.inlineDecorations().get(uri.toString()) || undefined);
    assert.equal(n, 1);
    const doc = await vscode.workspace.openTextDocument(uri);
    const at = doc.positionAt(doc.getText().indexOf('cat sat') + 1);
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, at);
    const md = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
    assert.match(md, /Next token/);
    assert.match(md, /Logit lens/);
    assert.match(md, /Heads attending most/);
    const spec = path.basename(uri.fsPath);
    assert.ok(payloads.every((p) => p.source.kind === 'spec' && p.source.specName === spec));
    // Running one analysis again updates its open panel instead of opening another.
    const before = api.panelPayloads().length;
    const again = await vscode.commands.executeCommand<PanelPayload[] | undefined>('circuitLens.runAnalysis', uri, 1);
    assert.ok(again && again.length === 1);
    assert.equal(api.panelPayloads().length, before);
    assert.ok(api.panelPayloads().includes(again[0]));
  }));

  suite.addTest(new Mocha.Test('Toggle Inline Activations hides and shows them', async () => {
    const uri = fixture('induction.circuit.json');
    await vscode.commands.executeCommand('circuitLens.toggleInlineActivations');
    assert.equal(api.inlineDecorations().size, 0);
    await vscode.commands.executeCommand('circuitLens.toggleInlineActivations');
    assert.equal(await until('decorations back', () => api.inlineDecorations().get(uri.toString()) || undefined), 1);
  }));

  suite.addTest(new Mocha.Test('New Experiment writes only through an undoable edit', async () => {
    const fresh = fixture('new-experiment.circuit.json');
    const made = await vscode.commands.executeCommand<vscode.Uri | undefined>('circuitLens.newExperiment', fresh);
    assert.equal(made?.toString(), fresh.toString());
    assert.match((await vscode.workspace.openTextDocument(fresh)).getText(), /"analyses"/);
    // Over an existing file: the editor gets the template, unsaved; the disk keeps the old text; Undo restores it.
    const existing = fixture('existing.circuit.json');
    const original = '{ "model": "planted-induction", "prompts": [], "analyses": [] }\n';
    await vscode.workspace.fs.writeFile(existing, Buffer.from(original, 'utf8'));
    await vscode.commands.executeCommand('circuitLens.newExperiment', existing);
    const doc = await vscode.workspace.openTextDocument(existing);
    assert.ok(doc.isDirty, 'the replaced text is not saved over the file');
    assert.match(doc.getText(), /"analyses"/);
    assert.equal(Buffer.from(await vscode.workspace.fs.readFile(existing)).toString('utf8'), original);
    await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand('undo');
    assert.equal(doc.getText(), original);
    await vscode.commands.executeCommand('workbench.action.files.revert');
  }));

  suite.addTest(new Mocha.Test('closing the panels releases the activation caches they kept', async () => {
    // The spec's prompt is the palette's on the same model: one run, held by all four panels.
    assert.equal((await api.keptRuns()).runs, 1);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await until('the panels to close', () => (api.panelPayloads().length === 0 ? true : undefined));
    assert.deepEqual(await until('the kept runs to go', async () => { const k = await api.keptRuns(); return k.runs === 0 && k.bytes === 0 ? k : undefined; }), { runs: 0, bytes: 0 });
  }));
}
