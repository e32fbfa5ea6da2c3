// Runs every test file under test/ (except the in-VS Code suites) with node's test runner and tsx.
// Installs Debian's python3-torch for the reference tests when it is missing and we are root.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const python = process.env.CIRCUIT_LENS_PYTHON ?? '/usr/bin/python3';
function hasTorch() {
  return spawnSync(python, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;
}
if (!hasTorch()) {
  if (process.getuid?.() !== 0) {
    console.error(`The reference tests need PyTorch for ${python}: sudo apt-get install -y python3-torch python3-numpy libopenblas0-pthread`);
    process.exit(1);
  }
  console.log('Installing Debian python3-torch for the reference tests...');
  const install = () => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'python3-torch', 'python3-numpy', 'libopenblas0-pthread'], { stdio: 'inherit' }).status === 0;
  if (!install()) {
    execFileSync('apt-get', ['update'], { stdio: 'inherit' });
    if (!install()) process.exit(1);
  }
}

const only = process.argv.slice(2);
function collect(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return ['integration', 'e2e', 'reference', 'helpers'].includes(f) ? [] : collect(p);
    return p.endsWith('.test.ts') ? [p] : [];
  });
}
const files = only.length ? only : collect('test');
// A hang (a tokenizer looping on a malformed file, say) fails its test after 10 minutes instead of stalling CI.
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=600000', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
