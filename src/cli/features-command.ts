/**
 * `circuit-lens features index`: streams a corpus through the worker with one dictionary attached and
 * writes a feature index (format in src/engine/features/index-files.ts) that the feature card reads:
 * per feature the top examples, a uniform sample, density and a histogram. A progress bar on stderr;
 * Ctrl-C (or any stop) leaves a checkpoint, and the same command continues from it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fail } from '../engine/errors';
import type { ModelRef } from '../protocol/runner';
import { intArg, parse } from './args';
import { writeFileAtomic } from './atomic';
import { describeModel, describeSaes } from './describe';
import { buildFeatureIndex } from './features-index';
import { RUNNER_FLAGS, RUNNER_USAGE, withRunner } from './runner';
import { saeArg } from './sae-args';

const USAGE = `circuit-lens features index --model <dir|ORG/NAME|demo> --sae DIR[@HOOK] --corpus FILE(.txt|.jsonl) --out DIR [--context N] [--top N] [--samples N] [--batch N] [--max-windows N] ${RUNNER_USAGE}`;

const BAR = 30;

function progressBar(windows: number, fraction: number, started: number): string {
  const filled = Math.round(fraction * BAR);
  const rate = windows / Math.max(1e-3, (performance.now() - started) / 1000);
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${(100 * fraction).toFixed(0)}%  ${windows} windows  ${rate.toFixed(1)} windows/s`;
}

export async function featuresCommand(argv: string[], signal: AbortSignal): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'index') fail('BAD_INPUT', { field: 'features' }, sub === undefined ? 'give a subcommand.' : `unknown subcommand ${JSON.stringify(sub)}.`, `Usage: ${USAGE}`);
  const { values } = parse(rest, {
    model: { type: 'string', default: 'demo' },
    sae: { type: 'string' },
    corpus: { type: 'string' },
    out: { type: 'string' },
    context: { type: 'string' },
    top: { type: 'string' },
    samples: { type: 'string' },
    batch: { type: 'string' },
    'max-windows': { type: 'string' },
    'checkpoint-every': { type: 'string' },
    ...RUNNER_FLAGS,
  }, USAGE);
  if (!values.sae) fail('BAD_INPUT', { field: '--sae' }, 'name the dictionary to index.', `Usage: ${USAGE}`);
  if (!values.corpus) fail('BAD_INPUT', { field: '--corpus' }, 'name a corpus (.txt or .jsonl with {"text": ...} lines).', `Usage: ${USAGE}`);
  if (!values.out) fail('BAD_INPUT', { field: '--out' }, 'name the folder to write the index to.', `Usage: ${USAGE}`);
  const corpus = path.resolve(values.corpus);
  if (!fs.existsSync(corpus)) fail('NOT_FOUND', { file: corpus, field: '--corpus' }, 'no such file.');
  const model: ModelRef = { ref: values.model!, baseDir: process.cwd(), saes: [saeArg(values.sae, 'observe')] };
  const out = path.resolve(values.out);

  return withRunner(values, async (client) => {
    const loaded = await client.request('model/load', { model }, { signal });
    console.log(describeModel(loaded));
    for (const line of describeSaes(loaded.saes)) console.log(line);
    const sae = loaded.saes[0];
    const context = intArg(values.context, '--context', Math.min(64, loaded.nCtx), 2, loaded.nCtx);
    // The BOS id: the first token a text gets when BOS is prepended, if that adds one.
    const [withBos, without] = await Promise.all([true, false].map((bos) => client.request('tokenize', { model, input: { text: 'a', bos } }, { signal })));
    const bos = withBos.length > without.length ? withBos[0].id : undefined;
    const started = performance.now();
    const tty = process.stderr.isTTY;
    let lastDecile = -1;
    const outcome = await buildFeatureIndex({
      out, corpus, bos,
      fingerprint: {
        model: loaded.dir, saeDir: sae.dir, hook: sae.hook, corpus, corpusBytes: fs.statSync(corpus).size, dSae: sae.dSae, context,
        top: intArg(values.top, '--top', 20, 1, 1000), samples: intArg(values.samples, '--samples', 10, 0, 1000),
      },
      // Activations cross from the worker per batch: about 16 MB of them by default.
      batch: intArg(values.batch, '--batch', Math.max(1, Math.min(32, Math.floor(2 ** 22 / (context * sae.dSae)))), 1, 4096),
      checkpointEvery: intArg(values['checkpoint-every'], '--checkpoint-every', 64, 1),
      ...(values['max-windows'] !== undefined ? { maxWindows: intArg(values['max-windows'], '--max-windows', 0, 1) } : {}),
    }, {
      tokenize: (text) => client.request('corpus/tokenize', { model, text }, { signal }),
      acts: async (windows) => (await client.request('features/acts', { model, hook: sae.hook, windows }, { signal })).data,
      write: writeFileAtomic,
      signal,
      progress: (windows, fraction) => {
        if (tty) process.stderr.write(`\r\x1b[K${progressBar(windows, fraction, started)}`);
        else if (Math.floor(fraction * 10) > lastDecile) {
          lastDecile = Math.floor(fraction * 10);
          process.stderr.write(`${progressBar(windows, fraction, started)}\n`);
        }
      },
    });
    if (tty) process.stderr.write('\n');
    if (outcome.resumedFrom) console.log(`continued from a checkpoint of ${outcome.resumedFrom} windows`);
    if (!outcome.complete) {
      console.error(`circuit-lens: stopped after ${outcome.windows} windows; the checkpoint is in ${path.join(out, 'checkpoint.json')}: run the same command again to continue.`);
      return 130;
    }
    const m = outcome.meta;
    console.log(`indexed ${m.windows} windows of ${m.context} tokens (${m.tokens} tokens without BOS), ${m.sae.dSae} features at ${m.sae.hook}: wrote ${out}`);
    return 0;
  });
}
