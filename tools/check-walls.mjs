#!/usr/bin/env node
// Checks the walls between src/ folders and webview/ (the rules are in .dependency-cruiser.cjs) with
// dependency-cruiser. Prints every violation, one a line (`rule: from -> to`, a cycle as its modules in
// order) and exits 1 when there is one of severity `error`. Info-level findings (cycles inside one folder)
// are printed but do not fail.
//
//   node tools/check-walls.mjs            # src/ and webview/ of this repository
//   node tools/check-walls.mjs --root D   # the same rules over D/src and D/webview (for trying the rules)
import { readdirSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const started = performance.now();
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const configFile = path.join(repoRoot, '.dependency-cruiser.cjs');
const FOLDERS = ['src', 'webview'];

const rootArg = process.argv.indexOf('--root');
const root = rootArg >= 0 ? path.resolve(process.argv[rootArg + 1] ?? '') : repoRoot;
// dependency-cruiser names modules relative to the working folder; the rules' paths start at the root.
process.chdir(root);

const { cruise } = await import('dependency-cruiser');
const { default: extractDepcruiseOptions } = await import('dependency-cruiser/config-utl/extract-depcruise-options');
const { default: extractTSConfig } = await import('dependency-cruiser/config-utl/extract-ts-config');

const options = await extractDepcruiseOptions(configFile);
const tsConfigFile = options.ruleSet?.options?.tsConfig?.fileName;
const folders = FOLDERS.filter((folder) => existsSync(folder));
const result = await cruise(folders, { ...options, outputType: 'json' }, {}, {
  tsConfig: tsConfigFile ? extractTSConfig(tsConfigFile) : undefined,
});
const output = typeof result.output === 'string' ? JSON.parse(result.output) : result.output;

/** Every .ts file under the folders must have been read: dependency-cruiser silently skips files it has no parser for. */
function tsFiles(folder) {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => path.relative(root, path.join(entry.parentPath ?? entry.path, entry.name)).split(path.sep).join('/'));
}
const cruised = new Set(output.modules.map((module) => module.source));
const unread = folders.flatMap(tsFiles).filter((file) => !cruised.has(file));

const lines = { error: [], warn: [], info: [] };
const seenCycles = new Set();
for (const violation of output.summary.violations) {
  const rule = violation.rule.name;
  let line;
  if (violation.cycle?.length) {
    const members = [violation.from, ...violation.cycle.map((step) => step.name)];
    // The same cycle is reported once per edge on it; print it once, starting at its smallest name.
    const ring = members.slice(0, -1);
    const start = ring.indexOf([...ring].sort()[0]);
    const rotated = [...ring.slice(start), ...ring.slice(0, start)];
    const key = `${rule}\0${rotated.join('\0')}`;
    if (seenCycles.has(key)) continue;
    seenCycles.add(key);
    line = `${rule}: ${[...rotated, rotated[0]].join(' -> ')}`;
  } else {
    line = `${rule}: ${violation.from} -> ${violation.to}`;
  }
  (lines[violation.rule.severity] ?? lines.error).push(line);
}

for (const severity of ['error', 'warn']) {
  for (const line of lines[severity].sort()) console.log(severity === 'error' ? line : `warning ${line}`);
}
for (const file of unread) console.log(`not-parsed: ${file} (dependency-cruiser has no parser for it: is @swc/core installed?)`);
if (lines.info.length > 0) {
  console.log(`info (not failures):`);
  for (const line of lines.info.sort()) console.log(`  ${line}`);
}

const failures = lines.error.length + unread.length;
const ms = Math.round(performance.now() - started);
const { totalCruised, totalDependenciesCruised } = output.summary;
console.log(
  `check:walls: ${failures === 0 ? 'ok' : `${failures} violation${failures === 1 ? '' : 's'}`}, ` +
    `${lines.warn.length} warning(s), ${lines.info.length} info; ${totalCruised} modules, ` +
    `${totalDependenciesCruised} dependencies, ${ms} ms`,
);
if (totalCruised === 0 || failures > 0) process.exitCode = 1;
