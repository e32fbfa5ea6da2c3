/** `circuit-lens hooks --model M [--hooks GLOB]`: every hook point with its TransformerLens shape. */
import { parse } from './args';
import { describeModel } from './describe';
import { withRunner } from './runner';

const USAGE = 'circuit-lens hooks --model <dir|ORG/NAME|demo> [--hooks GLOB] [--json]';

export async function hooksCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, { model: { type: 'string', default: 'demo' }, hooks: { type: 'string' }, json: { type: 'boolean' } }, USAGE);
  const facts = await withRunner({}, (c) => c.request('model/facts', { model: { ref: values.model!, baseDir: process.cwd() }, hooks: values.hooks }));
  if (values.json) {
    process.stdout.write(JSON.stringify(Object.fromEntries(facts.hooks.map((h) => [h.name, h.shape])), null, 1) + '\n');
    return;
  }
  console.log(describeModel(facts));
  const width = Math.max(...facts.hooks.map((h) => h.name.length));
  for (const h of facts.hooks) console.log(`${h.name.padEnd(width)}  [${h.shape.join(', ')}]${h.needsAttnResult ? '  (per-head results)' : ''}`);
  console.log(`${facts.hooks.length} hook points`);
}
