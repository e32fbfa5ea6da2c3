// Entry of the responsiveness measurement that runs inside code-server's extension host: the event-loop
// delay of the host while the extension's own commands (the model work in its worker thread) handle
// GPT-2-small-shaped weights.
// Started by tools/e2e/run-responsiveness.mjs (npm run bench:vscode), which writes .responsiveness.json
// into the workspace. It fails only when the work fails, never on timings.
import Mocha from 'mocha';
import { addSuite } from './responsiveness.suite';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 900_000, color: false, reporter: 'spec' });
  addSuite(mocha.suite);
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} responsiveness test(s) failed`)) : resolve()));
  });
}
