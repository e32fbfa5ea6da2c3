// Installs code-server (a real VS Code: workbench in the browser, extension host in plain Node) into .e2e/
// for the integration and browser suites. Idempotent: does nothing when the pinned version is present.
// Offline pitfalls handled (see shared/design/real-vscode-tests.md): root postinstall (code-server's
// postinstall.sh reads npm_config_unsafe_perm itself, though npm 7+ warns that it does not know it),
// npx prompts (yes), @vscode/ripgrep's GitHub download (cache seeded from Debian's ripgrep), argon2 and
// kerberos built from source (libkrb5-dev, local node headers), and code-server's config file.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CODE_SERVER_VERSION = '4.100.3';
const RIPGREP_PACKAGE = '1.15.11';
const RIPGREP_TAG = 'v13.0.0-10';
const NATIVE_PACKAGES = ['code-server', 'argon2', 'kerberos', 'node-pty', '@vscode/ripgrep', '@parcel/watcher', '@vscode/spdlog', '@vscode/sqlite3', '@vscode/native-watchdog', '@vscode/windows-registry', '@vscode/deviceid', '@vscode/policy-watcher', 'native-keymap', 'native-is-elevated'];

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const e2eDir = join(root, '.e2e');
const installDir = join(e2eDir, 'code-server');
export const codeServerEntry = join(installDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const stamp = join(installDir, 'installed.json');

function sh(cmd, args, env = process.env, cwd = undefined) {
  execFileSync(cmd, args, { stdio: 'inherit', env, cwd });
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function aptInstall(pkgs) {
  const missing = pkgs.filter((p) => spawnSync('dpkg', ['-s', p], { stdio: 'ignore' }).status !== 0);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) throw new Error(`missing Debian packages: ${missing.join(' ')} (sudo apt-get install -y ${missing.join(' ')})`);
  console.log(`apt-get install ${missing.join(' ')}`);
  if (spawnSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit' }).status !== 0) {
    sh('apt-get', ['update', '-qq']);
    sh('apt-get', ['install', '-y', '-qq', ...missing]);
  }
}

/** Seeds @vscode/ripgrep's download cache with Debian's rg so its postinstall never goes online. */
function seedRipgrepCache() {
  const cacheDir = join(tmpdir(), `vscode-ripgrep-cache-${RIPGREP_PACKAGE}`);
  const archive = join(cacheDir, `ripgrep-${RIPGREP_TAG}-x86_64-unknown-linux-musl.tar.gz`);
  if (existsSync(archive)) return;
  mkdirSync(cacheDir, { recursive: true });
  const staging = mkdtempSync(join(tmpdir(), 'rg-'));
  sh('cp', ['/usr/bin/rg', join(staging, 'rg')]);
  sh('tar', ['-czf', archive + '.tmp', '-C', staging, 'rg']);
  renameSync(archive + '.tmp', archive);
}

export function installCodeServer() {
  if (existsSync(stamp) && JSON.parse(readFileSync(stamp, 'utf8')).version === CODE_SERVER_VERSION && existsSync(codeServerEntry)) return;
  if (process.arch !== 'x64' || process.platform !== 'linux') throw new Error('the code-server suites run on linux-x64 only');
  aptInstall(['ripgrep', 'chromium', 'libkrb5-dev', 'g++', 'make', 'python3']);
  if (!has('rg')) throw new Error('ripgrep (rg) is still missing after apt-get');
  seedRipgrepCache();
  mkdirSync(installDir, { recursive: true });
  // npm 11 blocks dependency install scripts unless package.json allows them; code-server needs its own
  // postinstall and its native modules' builds.
  const allowScripts = Object.fromEntries(NATIVE_PACKAGES.map((p) => [p, true]));
  writeFileSync(join(installDir, 'package.json'), JSON.stringify({ name: 'circuit-lens-e2e-code-server', private: true, allowScripts }, null, 2));
  const env = {
    ...process.env,
    npm_config_unsafe_perm: 'true',
    npm_config_yes: 'true',
    npm_config_nodedir: '/usr',
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
  const started = Date.now();
  console.log(`Installing code-server ${CODE_SERVER_VERSION} into ${installDir} ...`);
  // Its own folder and package.json, never the project's node_modules.
  sh('npm', ['install', '--prefix', installDir, '--no-package-lock', `code-server@${CODE_SERVER_VERSION}`], env, installDir);
  if (!existsSync(codeServerEntry)) throw new Error(`code-server did not install: ${codeServerEntry} is missing`);
  writeFileSync(stamp, JSON.stringify({ version: CODE_SERVER_VERSION }));
  console.log(`code-server installed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) installCodeServer();
