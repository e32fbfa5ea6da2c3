// Makes a platform-specific VSIX: `npm run package [-- --target linux-x64]` (default: this machine's).
// The VSIX holds the production bundles, media/ (schema, template, bundled models) and onnxruntime-node
// with only the target platform's native binaries. Writes circuit-lens-<version>-<target>.vsix.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TARGETS = ['linux-x64', 'linux-arm64', 'darwin-arm64', 'win32-x64', 'win32-arm64'];
const i = process.argv.indexOf('--target');
const target = i > 0 ? process.argv[i + 1] : `${process.platform}-${process.arch}`;
if (!TARGETS.includes(target)) {
  console.error(`--target must be one of ${TARGETS.join(', ')} (onnxruntime-node ships binaries for those), got ${target}.`);
  process.exit(2);
}
const [os, arch] = target.split('-');

const started = Date.now();
execFileSync(process.execPath, [join(root, 'tools/build.mjs'), '--production'], { cwd: root, stdio: 'inherit' });

// README images stay relative links (docs/ does not ship): the repository has no public URL to point them at.
// The project's .vscodeignore plus the target platform's onnxruntime binaries (vsce lets any negation
// win over every exclusion, so the other platforms' folders are simply never negated).
const ignore = [
  readFileSync(join(root, '.vscodeignore'), 'utf8').trimEnd(),
  `!node_modules/onnxruntime-node/bin/napi-v*/${os}/${arch}/**`,
  '',
].join('\n');
const ignoreFile = join(tmpdir(), `circuit-lens-vscodeignore-${target}`);
writeFileSync(ignoreFile, ignore);

const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const out = join(root, `circuit-lens-${version}-${target}.vsix`);
rmSync(out, { force: true });
const vsce = join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
try {
  execFileSync(process.execPath, [vsce, 'package', '--target', target, '--ignoreFile', ignoreFile, '--out', out, '--allow-missing-repository', '--no-rewrite-relative-links'], { cwd: root, stdio: 'inherit' });
} finally {
  rmSync(ignoreFile, { force: true });
  // Leave dist/ as `npm run build` makes it (with source maps) for the tests and the debugger.
  execFileSync(process.execPath, [join(root, 'tools/build.mjs')], { cwd: root, stdio: 'inherit' });
}
const mb = statSync(out).size / 2 ** 20;
console.log(`${out}: ${mb.toFixed(1)} MB (${os}/${arch} binaries only) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
