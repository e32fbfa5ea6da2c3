/**
 * `circuit-lens sae check`: attaches the dictionaries to the model and runs the runner's self-check on a
 * sample (the given prompts, else the bundled public-domain text): FVU, cosine, L0, dead features, the
 * loss recovered when spliced; mis-load warnings on stderr naming the likely cause.
 */
import * as fs from 'node:fs';
import { fail } from '../engine/errors';
import { sampleParagraphs } from '../engine/sae/sample';
import type { ModelRef, PromptInput } from '../protocol/runner';
import { idList, intArg, parse, processingArg } from './args';
import { writeFileAtomic } from './atomic';
import { describeCheck, describeModel, describeProcessing, describeSaes, warnSaeChecks } from './describe';
import { SAE_SAMPLE } from './paths';
import { RUNNER_FLAGS, RUNNER_USAGE, withRunner } from './runner';
import { saeArgs } from './sae-args';

const USAGE = `circuit-lens sae check --model <dir|ORG/NAME|demo> --sae <DIR[@HOOK]|demo> [--sae ...] [--prompt TEXT ...] [--tokens 1,2,3 ...] [--max-tokens N] [--processing transformerlens|OPTIONS] [--json FILE] ${RUNNER_USAGE}`;

/** The bundled sample's paragraphs (blank lines between them; '#' lines are its header). */
export function samplePrompts(file = SAE_SAMPLE): PromptInput[] {
  return sampleParagraphs(fs.readFileSync(file, 'utf8')).map((p) => ({ text: p }));
}

export async function saeCommand(argv: string[], signal: AbortSignal): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'check') fail('BAD_INPUT', { field: 'sae' }, sub === undefined ? 'give a subcommand.' : `unknown subcommand ${JSON.stringify(sub)}.`, `Usage: ${USAGE}`);
  const { values } = parse(rest, {
    model: { type: 'string', default: 'demo' },
    sae: { type: 'string', multiple: true },
    prompt: { type: 'string', multiple: true },
    tokens: { type: 'string', multiple: true },
    'max-tokens': { type: 'string' },
    processing: { type: 'string' },
    json: { type: 'string' },
    ...RUNNER_FLAGS,
  }, USAGE);
  const saes = saeArgs(values.sae, false);
  if (saes.length === 0) fail('BAD_INPUT', { field: '--sae' }, 'name a dictionary to check.', `Usage: ${USAGE}`);
  const processing = processingArg(values.processing);
  const model: ModelRef = { ref: values.model!, baseDir: process.cwd(), saes, ...(processing ? { processing } : {}) };
  const given: PromptInput[] = [...(values.prompt ?? []).map((text) => ({ text })), ...(values.tokens ?? []).map((t) => ({ ids: idList(t, '--tokens') }))];
  const prompts = given.length ? given : samplePrompts();
  const maxTokens = values['max-tokens'] === undefined ? undefined : intArg(values['max-tokens'], '--max-tokens', 128, 2);

  await withRunner(values, async (client) => {
    const loaded = await client.request('model/load', { model }, { signal });
    console.log(describeModel(loaded));
    console.log(describeProcessing(loaded.processing, loaded.processingNotes));
    for (const line of describeSaes(loaded.saes)) console.log(line);
    const checks = await client.request('sae/check', { model, prompts, ...(maxTokens ? { maxTokens } : {}) }, { signal });
    console.log(`sample: ${given.length ? 'the given prompts' : `the bundled text (${SAE_SAMPLE})`}`);
    for (const c of checks) for (const line of describeCheck(c)) console.log(line);
    warnSaeChecks(checks);
    if (values.json) {
      writeFileAtomic(values.json, JSON.stringify({ model: loaded.name, saes: loaded.saes, checks }, null, 1) + '\n');
      console.log(`wrote ${values.json}`);
    }
  });
}
