// Entry of the first half of the reload suite (claims-reload.suite.ts): runs the claims.
import { addBeforeReload } from './claims-reload.suite';
import { runSuites } from './vscode-helpers';

export const run = () => runSuites(addBeforeReload);
