// Entry of the second half of the reload suite (claims-reload.suite.ts), in the same window reloaded.
import { addAfterReload } from './claims-reload.suite';
import { runSuites } from './vscode-helpers';

export const run = () => runSuites(addAfterReload);
