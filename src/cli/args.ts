/** Argument parsing shared by the subcommands: node's parseArgs, with errors turned into EngineErrors. */
import { parseArgs, ParseArgsConfig } from 'node:util';
import { fail } from '../engine/errors';
import { WeightProcessing, parseProcessingList } from '../protocol/processing';

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parse<T extends Options>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (e) {
    fail('BAD_INPUT', {}, (e as Error).message.split('\n')[0].replace(/\.$/, '') + '.', `Usage: ${usage}`);
  }
}

export function intArg(value: string | undefined, name: string, fallback: number, min = 1, max = 1 << 30): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) fail('BAD_INPUT', { field: name }, `must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}.`);
  return n;
}

/** --processing: "transformerlens", "none" or a comma-separated list of options. */
export function processingArg(value: string | undefined): WeightProcessing | undefined {
  if (value === undefined) return undefined;
  const p = parseProcessingList(value);
  if ('error' in p) fail('BAD_INPUT', { field: '--processing' }, p.error, 'Example: --processing transformerlens, or --processing foldLn,centerUnembed');
  return p;
}

export function idList(value: string, name: string): number[] {
  const parts = value.split(',').map((s) => s.trim()).filter(Boolean);
  return parts.map((s) => {
    if (!/^\d+$/.test(s)) fail('BAD_INPUT', { field: name }, `${JSON.stringify(s)} is not a token id.`, 'Example: --tokens 50256,15496,995');
    return Number(s);
  });
}
