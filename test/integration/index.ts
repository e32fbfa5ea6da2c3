// Entry of the suite that runs inside a real VS Code extension host (code-server): the `run()` contract
// of @vscode/test-electron. Bundled to out/integration/index.js by tools/e2e/run-integration.mjs.
import Mocha from 'mocha';
import { addSuite as addClaimsSuite } from './claims.suite';
import { addSuite } from './extension.suite';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 120_000, color: false, reporter: 'spec' });
  addSuite(mocha.suite);
  addClaimsSuite(mocha.suite);
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} integration test(s) failed`)) : resolve()));
  });
}
