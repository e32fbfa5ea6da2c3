/** `circuit-lens hooks --model M [--hooks GLOB]`: every hook point with its TransformerLens shape. */
import { openCheckpoint } from '../engine/model';
import { selectHooks } from '../engine/hooks';
import { parse } from './args';
import { describeModel } from './describe';
import { BUNDLED_MODELS_DIR } from './paths';

const USAGE = 'circuit-lens hooks --model <dir|ORG/NAME|demo> [--hooks GLOB] [--json]';

export function hooksCommand(argv: string[]): void {
  const { values } = parse(argv, { model: { type: 'string', default: 'demo' }, hooks: { type: 'string' }, json: { type: 'boolean' } }, USAGE);
  const ckpt = openCheckpoint(values.model!, { bundledModelsDir: BUNDLED_MODELS_DIR });
  const hooks = values.hooks ? selectHooks(ckpt.hooks, values.hooks) : ckpt.hooks;
  if (values.json) {
    process.stdout.write(JSON.stringify(Object.fromEntries(hooks.map((h) => [h.name, h.shape])), null, 1) + '\n');
    return;
  }
  console.log(describeModel(ckpt));
  const width = Math.max(...hooks.map((h) => h.name.length));
  for (const h of hooks) console.log(`${h.name.padEnd(width)}  [${h.shape.join(', ')}]${h.needsAttnResult ? '  (per-head results)' : ''}`);
  console.log(`${hooks.length} hook points`);
}
