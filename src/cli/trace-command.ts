/**
 * `circuit-lens trace`: tokens, top-k next-token predictions, optional JSON report and .npy cache, through
 * the runner's `trace` request (the one the editor's palette trace makes).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fail } from '../engine/errors';
import { encodeNpy } from '../protocol/npy';
import type { ModelRef, PromptInput } from '../protocol/runner';
import type { TensorData } from '../protocol/tensor';
import { idList, intArg, parse, processingArg } from './args';
import { writeFileAtomic } from './atomic';
import { describeCheck, describeModel, describeProcessing, describeSaes, quote, warnSaeChecks } from './describe';
import { RUNNER_FLAGS, RUNNER_USAGE, withRunner } from './runner';
import { saeArgs } from './sae-args';

const USAGE = `circuit-lens trace --model <dir|ORG/NAME|demo> (--prompt TEXT | --tokens 1,2,3) [--processing transformerlens|OPTIONS] [--no-bos] [--top-k N] [--json FILE] [--save-cache DIR] [--hooks GLOB] [--sae DIR[@HOOK] ...] [--sae-splice] ${RUNNER_USAGE}`;

export async function traceCommand(argv: string[], signal: AbortSignal): Promise<void> {
  const { values } = parse(argv, {
    model: { type: 'string', default: 'demo' },
    prompt: { type: 'string' },
    tokens: { type: 'string' },
    'no-bos': { type: 'boolean' },
    'top-k': { type: 'string' },
    json: { type: 'string' },
    'save-cache': { type: 'string' },
    hooks: { type: 'string' },
    processing: { type: 'string' },
    sae: { type: 'string', multiple: true },
    'sae-splice': { type: 'boolean' },
    ...RUNNER_FLAGS,
  }, USAGE);
  if ((values.prompt === undefined) === (values.tokens === undefined)) fail('BAD_INPUT', { field: '--prompt' }, 'give exactly one of --prompt TEXT or --tokens 1,2,3.', `Usage: ${USAGE}`);
  const k = intArg(values['top-k'], '--top-k', 10, 1, 1000);
  const input: PromptInput = values.prompt !== undefined ? { text: values.prompt, bos: !values['no-bos'] } : { ids: idList(values.tokens!, '--tokens') };
  const processing = processingArg(values.processing);
  if (values['sae-splice'] && !values.sae?.length) fail('BAD_INPUT', { field: '--sae-splice' }, 'needs a dictionary to splice.', 'Add --sae DIR[@HOOK].');
  const saes = saeArgs(values.sae, values['sae-splice']);
  const model: ModelRef = { ref: values.model!, baseDir: process.cwd(), ...(processing ? { processing } : {}), ...(saes.length ? { saes } : {}) };
  const globs = values.hooks ?? (values['save-cache'] ? '*' : undefined);

  await withRunner(values, async (client) => {
    const loaded = await client.request('model/load', { model }, { signal });
    const scan = client.request('model/scan', { model }, { signal }); // in its own thread, while the model runs
    scan.catch(() => undefined);
    const trace = await client.request('trace', { model, input, hooks: globs, topK: k, keep: !!values['save-cache'], ...(saes.length ? { checkSaes: true } : {}) }, { signal });
    const { tokens, top } = trace;
    console.log(describeModel(loaded));
    console.log(describeProcessing(loaded.processing, loaded.processingNotes));
    for (const line of describeSaes(loaded.saes)) console.log(line);
    for (const c of trace.saeChecks ?? []) for (const line of describeCheck(c)) console.log(`self-check ${line}`);
    warnSaeChecks(trace.saeChecks ?? []);
    console.log(`backend ${loaded.backend}, loaded in ${loaded.loadMs.toFixed(0)} ms, forward ${trace.runMs.toFixed(0)} ms${loaded.backendNote ? `\n${loaded.backendNote}` : ''}`);
    console.log(`tokens (${tokens.length}):`);
    tokens.forEach((t, i) => console.log(`  ${String(i).padStart(4)}  ${String(t.id).padStart(6)}  ${quote(t.text).padEnd(18)} [${t.start}, ${t.end})`));
    console.log(`top-${k} next-token predictions after ${quote(tokens[tokens.length - 1].text)}:`);
    top.forEach((t, i) => console.log(`  ${String(i + 1).padStart(3)}. ${quote(t.text).padEnd(18)} p=${t.prob.toFixed(4)}  logit=${t.logit.toFixed(3)}`));

    const shapes = Object.fromEntries(trace.hooks.map((h) => [h.name, h.shape]));
    if (values.json) {
      const report = { model: trace.model, tokens: tokens.map(({ id, text, start, end }) => ({ id, text, start, end })), topk: top, hooks: shapes };
      writeFileAtomic(values.json, JSON.stringify(report, null, 1) + '\n');
      console.log(`wrote ${values.json}`);
    }
    if (values['save-cache']) {
      const dir = values['save-cache'];
      fs.mkdirSync(dir, { recursive: true });
      for (const h of trace.hooks) {
        const t = (await client.request('run/slice', { runId: trace.runId!, slice: { kind: 'hook', hook: h.name } }, { signal })) as TensorData;
        writeFileAtomic(path.join(dir, `${h.name}.npy`), encodeNpy(t));
      }
      console.log(`saved ${trace.hooks.length} hook points as .npy to ${dir}`);
    } else if (trace.hooks.length) {
      for (const [name, shape] of Object.entries(shapes)) console.log(`  cached ${name} [${shape.join(', ')}]`);
    }
    const nonFinite = await scan;
    if (nonFinite.message) console.error(`circuit-lens: warning: ${nonFinite.message}`);
  });
}
