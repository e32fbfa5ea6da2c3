// Entry of the Restricted Mode suite: runs inside code-server with workspace trust on and the workspace
// not trusted (`node tools/e2e/run-integration.mjs --suite untrusted --untrusted`).
import Mocha from 'mocha';
import { addSuite } from './untrusted.suite';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 120_000, color: false, reporter: 'spec' });
  addSuite(mocha.suite);
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} integration test(s) failed`)) : resolve()));
  });
}
