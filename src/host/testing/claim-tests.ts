/**
 * Circuit claims in VS Code's Test Explorer: every claim of every `*.circuit.json` of the workspace is a
 * test item (spec file, then circuit, then claim, then ablation when a claim names several), placed at
 * its text so the gutter shows its run button and mark. The items follow the specs as they are edited,
 * created and deleted (parsed here, for ranges only); running them is ClaimRunner's. The last results
 * of each spec are kept in the workspace's state and shown again after a reload, until the spec changes.
 */
import * as vscode from 'vscode';
import type { ClaimRunner, SpecJob } from './claim-runner';
import { type ClaimNode, type SpecTree, pickLeaves, positionAt, specTree } from './claim-tree';
import { ResultCache, type StoredResult } from './result-cache';
import { SPEC_GLOB, specText } from './spec-text';

/** A test item as the extension's API shows it. */
export interface ClaimItemInfo {
  id: string;
  label: string;
  /** The line of its text in the spec (0-based). */
  line?: number;
  error?: string;
  children: ClaimItemInfo[];
}

/** An item's place: its spec (by uri string) and, below the file item, its node's id in the spec's tree. */
interface ItemRef {
  key: string;
  id?: string;
}

/** One spec as the tree shows it: its text, its parsed tree and its items by id. */
interface SpecEntry {
  text: string;
  tree: SpecTree;
  item: vscode.TestItem;
  items: Map<string, vscode.TestItem>;
}

const EDIT_DELAY_MS = 300;

export class ClaimTests implements vscode.Disposable {
  private readonly controller = vscode.tests.createTestController('circuitLens.claims', 'Circuit Lens claims');
  private readonly specs = new Map<string, SpecEntry>();
  private readonly refs = new WeakMap<vscode.TestItem, ItemRef>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly disposables: vscode.Disposable[] = [this.controller];
  private readonly cache: ResultCache;
  /** The last result of each item, by spec uri and item id (for the extension's API). */
  private readonly results = new Map<string, StoredResult>();
  private discovered: Promise<void> | undefined;

  constructor(state: vscode.Memento, private readonly runner: ClaimRunner, private readonly log: vscode.LogOutputChannel) {
    this.cache = new ResultCache(state);
    this.controller.resolveHandler = (item) => (item ? undefined : this.discover());
    this.controller.refreshHandler = () => this.rediscover();
    this.controller.createRunProfile('Run', vscode.TestRunProfileKind.Run, (request, token) => this.run(request, token), true);
    const watcher = vscode.workspace.createFileSystemWatcher(SPEC_GLOB);
    this.disposables.push(
      watcher,
      watcher.onDidCreate((uri) => void this.reload(uri)),
      watcher.onDidChange((uri) => void this.reload(uri)),
      watcher.onDidDelete((uri) => this.remove(uri.toString())),
      vscode.workspace.onDidChangeTextDocument((e) => this.schedule(e.document)),
      // Unsaved edits thrown away: the file's text counts again.
      vscode.workspace.onDidCloseTextDocument((d) => this.specs.has(d.uri.toString()) && void this.reload(d.uri)),
    );
  }

  /** Finds the workspace's specs once and shows their kept results; later calls wait for the same search. */
  discover(): Promise<void> {
    this.discovered ??= this.findAll(true);
    return this.discovered;
  }

  private async rediscover(): Promise<void> {
    this.discovered = this.findAll(false);
    await this.discovered;
  }

  private async findAll(restore: boolean): Promise<void> {
    try {
      const uris = await vscode.workspace.findFiles(SPEC_GLOB, '**/node_modules/**');
      const found = new Set(uris.map((u) => u.toString()));
      for (const key of [...this.specs.keys()]) if (!found.has(key)) this.remove(key);
      for (const uri of uris) await this.reload(uri, restore);
    } catch (e) {
      this.log.warn(`Could not list the workspace's circuit specs: ${(e as Error).message}`);
    }
  }

  private schedule(doc: vscode.TextDocument): void {
    if (!doc.uri.path.endsWith('.circuit.json') || doc.uri.scheme !== 'file') return;
    const key = doc.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.set(key, setTimeout(() => {
      this.timers.delete(key);
      this.update(doc.uri, doc.getText());
    }, EDIT_DELAY_MS));
  }

  /** Reads a spec again (from its open editor, else the file) and updates its items. */
  private async reload(uri: vscode.Uri, restore = false): Promise<void> {
    let text: string;
    try {
      text = await specText(uri);
    } catch {
      this.remove(uri.toString());
      return;
    }
    this.update(uri, text);
    if (restore) this.restore(uri);
  }

  /** The items of a spec for `text`; results of another text are stale, and are dropped. */
  private update(uri: vscode.Uri, text: string): SpecEntry | undefined {
    const key = uri.toString();
    const old = this.specs.get(key);
    if (old?.text === text) return old;
    const tree = specTree(text);
    if (!tree.circuits.length) {
      this.remove(key);
      return undefined;
    }
    const item = old?.item ?? this.controller.createTestItem(key, vscode.workspace.asRelativePath(uri), uri);
    item.error = tree.problem && new vscode.MarkdownString().appendText(tree.problem);
    const items = new Map<string, vscode.TestItem>();
    const make = (n: ClaimNode): vscode.TestItem => {
      const t = this.controller.createTestItem(`${key}|${n.id}`, n.label, uri);
      const start = positionAt(text, n.range.offset);
      const end = positionAt(text, n.range.offset + n.range.length);
      t.range = new vscode.Range(start.line, start.character, end.line, end.character);
      t.children.replace(n.children.map(make));
      this.refs.set(t, { key, id: n.id });
      items.set(n.id, t);
      return t;
    };
    item.children.replace(tree.circuits.map((c) => {
      const t = make(c);
      if (c.problem) t.error = new vscode.MarkdownString().appendText(c.problem);
      return t;
    }));
    this.refs.set(item, { key });
    const entry: SpecEntry = { text, tree, item, items };
    this.specs.set(key, entry);
    if (!old) this.controller.items.add(item);
    else {
      this.controller.invalidateTestResults(item);
      for (const id of [...this.results.keys()]) if (id.startsWith(`${key}|`)) this.results.delete(id);
      void this.cache.drop(key);
    }
    return entry;
  }

  private remove(key: string): void {
    if (!this.specs.delete(key)) return;
    this.controller.items.delete(key);
    for (const id of [...this.results.keys()]) if (id.startsWith(`${key}|`)) this.results.delete(id);
    void this.cache.drop(key);
  }

  /** Shows the kept results of a spec, when they were measured on its present text. */
  private restore(uri: vscode.Uri): void {
    const key = uri.toString();
    const entry = this.specs.get(key);
    const kept = entry && this.cache.get(key, entry.text);
    if (!entry || !kept?.length) return;
    const shown = kept.filter((r) => entry.items.has(r.id));
    const run = this.controller.createTestRun(new vscode.TestRunRequest(shown.map((r) => entry.items.get(r.id)!)), 'Circuit Lens: last results', false);
    for (const r of shown) this.mark(run, entry, r);
    run.end();
  }

  /** Puts a result on its item (and remembers it); skipped items get their note as output. */
  private mark(run: vscode.TestRun, entry: SpecEntry, r: StoredResult): void {
    const item = entry.items.get(r.id);
    if (!item) return;
    this.results.set(item.id, r);
    const message = () => {
      const m = new vscode.TestMessage(r.message ?? '');
      if (r.expected !== undefined) m.expectedOutput = r.expected;
      if (r.actual !== undefined) m.actualOutput = r.actual;
      if (item.uri && item.range) m.location = new vscode.Location(item.uri, item.range);
      return m;
    };
    switch (r.mark) {
      case 'passed':
        return run.passed(item, r.ms);
      case 'skipped':
        if (r.message) run.appendOutput(`${item.label}: ${r.message.replace(/\n/g, '\r\n')}\r\n`, item.uri && item.range ? new vscode.Location(item.uri, item.range) : undefined, item);
        return run.skipped(item);
      case 'failed':
        return run.failed(item, message(), r.ms);
      case 'errored':
        return run.errored(item, message(), r.ms);
    }
  }

  /** Runs every claim, as the Testing view's Run All does (without the workbench's own trust prompt in front). */
  runAll(): Promise<void> {
    const cancel = new vscode.CancellationTokenSource();
    return this.run(new vscode.TestRunRequest(), cancel.token).finally(() => cancel.dispose());
  }

  private async run(request: vscode.TestRunRequest, token: vscode.CancellationToken): Promise<void> {
    await this.discover();
    const run = this.controller.createTestRun(request);
    try {
      const jobs = await this.jobs(request);
      for (const job of jobs) for (const c of job.circuits) c.leaves.forEach((id) => this.with(job, id, (item) => run.enqueued(item)));
      await this.runner.run(jobs, {
        token,
        started: (job, ids) => ids.forEach((id) => this.with(job, id, (item) => run.started(item))),
        output: (line) => run.appendOutput(`${line.replace(/\n/g, '\r\n')}\r\n`),
        report: (job, results, persist = true) => {
          const entry = this.specs.get(job.uri.toString());
          if (entry?.text === job.text) for (const r of results) this.mark(run, entry, r);
          if (persist) void this.cache.set(job.uri.toString(), job.text, results);
        },
      });
    } catch (e) {
      this.log.error(`The claims' run failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    } finally {
      run.end();
    }
  }

  private with(job: SpecJob, id: string, f: (item: vscode.TestItem) => void): void {
    const item = this.specs.get(job.uri.toString())?.items.get(id);
    if (item) f(item);
  }

  /**
   * What a request asks for, spec by spec, read from each spec's present text: the leaves below the
   * chosen items (every spec's when none is chosen) less the excluded ones, grouped by circuit.
   */
  private async jobs(request: vscode.TestRunRequest): Promise<SpecJob[]> {
    const chosen = (request.include ?? [...this.specs.values()].map((s) => s.item)).map((i) => this.refs.get(i)).filter((r): r is ItemRef => !!r);
    const excluded = (request.exclude ?? []).map((i) => this.refs.get(i)).filter((r): r is ItemRef => !!r);
    const jobs: SpecJob[] = [];
    for (const key of new Set(chosen.map((r) => r.key))) {
      const out = excluded.filter((r) => r.key === key);
      if (out.some((r) => r.id === undefined)) continue;
      const uri = vscode.Uri.parse(key);
      let entry: SpecEntry | undefined;
      try {
        entry = this.update(uri, await specText(uri));
      } catch {
        this.remove(key);
      }
      if (!entry) continue;
      const ids = chosen.filter((r) => r.key === key).map((r) => r.id);
      const picked = ids.includes(undefined) ? 'all' : new Set(ids as string[]);
      const circuits = entry.tree.circuits.flatMap((circuit) => {
        const ids = pickLeaves(circuit, picked, new Set(out.map((r) => r.id!)));
        return ids.length ? [{ circuit, leaves: ids }] : [];
      });
      if (circuits.length) jobs.push({ uri, text: entry.text, circuits });
    }
    return jobs;
  }

  /** The items (after the first search for specs) and the last result of each, by item id. */
  async snapshot(): Promise<{ items: ClaimItemInfo[]; results: Map<string, StoredResult> }> {
    await this.discover();
    const info = (t: vscode.TestItem): ClaimItemInfo => {
      const children: ClaimItemInfo[] = [];
      t.children.forEach((c) => void children.push(info(c)));
      return { id: t.id, label: t.label, ...(t.range ? { line: t.range.start.line } : {}), ...(t.error ? { error: typeof t.error === 'string' ? t.error : t.error.value } : {}), children };
    };
    return { items: [...this.specs.values()].map((s) => info(s.item)), results: new Map(this.results) };
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    for (const d of this.disposables) d.dispose();
  }
}
