/**
 * circuit-lens: the engine from a terminal. Errors the user can fix print one line and exit with 2.
 */
import { EngineError } from '../engine/errors';
import { hooksCommand } from './hooks-command';
import { traceCommand } from './trace-command';
import { saeCommand } from './sae-command';
import { featuresCommand } from './features-command';
import * as path from 'node:path';
import { runCommand } from './run-command';
import { testCommand } from './test-command';

const HELP = `circuit-lens: trace transformer language models and read every TransformerLens hook point.

Usage:
  circuit-lens trace --model <dir|ORG/NAME|demo> (--prompt TEXT | --tokens 1,2,3) [--no-bos] [--top-k N]
                     [--json FILE] [--save-cache DIR] [--hooks GLOB] [--threads N] [--backend auto|cpu|cuda]
                     [--memory-limit MB] [--sae DIR[@HOOK] ...] [--sae-splice]
  circuit-lens sae check --model M --sae DIR[@HOOK] [--sae ...] [--prompt TEXT ...] [--tokens 1,2,3 ...]
                     [--max-tokens N] [--json FILE]   (FVU, cosine, L0, dead features, CE loss recovered;
                     mis-load warnings on stderr; default sample: media/sae-sample.txt)
  circuit-lens features index --model M --sae DIR[@HOOK] --corpus FILE(.txt|.jsonl) --out DIR [--context N]
                     [--top N] [--samples N] [--batch N] [--max-windows N]   (per feature: top and sampled
                     examples, density, histogram; resumable: rerun the same command to continue)
  circuit-lens run SPEC [--analysis NAME] [--json FILE] [--html FILE] [--model M] [--threads N]
                     [--backend auto|cpu|cuda] [--memory-limit MB]
  circuit-lens test [SPEC ...] [--junit FILE] [--json FILE] [--model M] [--threads N] [--backend auto|cpu|cuda]
                     [--memory-limit MB]   (checks the claims of every circuit analysis; default: every
                     *.circuit.json below this folder; exit 0 all hold, 1 any fails, 2 any spec has an error)
  circuit-lens hooks --model <dir|ORG/NAME|demo> [--hooks GLOB] [--json]
  circuit-lens bench [--json FILE] [--threads N] [--repeats N] [--quick] [--llama | --gemma2]

--model takes a Hugging Face checkpoint folder, a models--ORG--NAME cache folder, ORG/NAME from the
Hugging Face cache, or a bundled model name. Hook globs: * any characters, ? one, commas between globs.
--memory-limit: the largest activation cache one run may hold, in MB (default 8192).`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  switch (command) {
    case 'trace':
      await traceCommand(rest, abort.signal);
      return 0;
    case 'hooks':
      await hooksCommand(rest);
      return 0;
    case 'sae':
      await saeCommand(rest, abort.signal);
      return 0;
    case 'test':
      return testCommand(rest, abort.signal);
    case 'features':
      return featuresCommand(rest, abort.signal);
    case 'run':
      await runCommand(rest, abort.signal);
      return 0;
    case 'bench': {
      // A developer tool in its own bundle: it runs models in this thread to time them against PyTorch.
      const bench = require(path.join(__dirname, 'bench.js')) as typeof import('../bench/main');
      await bench.benchCommand(rest);
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(HELP);
      return 0;
    default:
      console.error(`circuit-lens: unknown command ${JSON.stringify(command)}.\n\n${HELP}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof EngineError) {
      console.error(`circuit-lens: ${e.message}`);
      process.exitCode = 2;
    } else {
      console.error(`circuit-lens: internal error: ${(e as Error)?.message ?? e}${process.env.CIRCUIT_LENS_DEBUG ? `\n${(e as Error)?.stack}` : ' (set CIRCUIT_LENS_DEBUG=1 for details)'}`);
      process.exitCode = 1;
    }
  },
);
