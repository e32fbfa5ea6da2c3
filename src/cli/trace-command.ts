/**
 * `circuit-lens trace`: tokens, top-k next-token predictions, optional JSON report and .npy cache.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fail } from '../engine/errors';
import { concreteShape, selectHooks } from '../engine/hooks';
import { softmax, topK } from '../engine/math';
import { tokensFromIds } from '../engine/model';
import { encodeNpy } from '../engine/npy';
import { Engine } from '../worker/engine';
import { idList, intArg, parse } from './args';
import { writeFileAtomic } from './atomic';
import { describeNonFinite } from '../engine/non-finite';
import { describeModel, quote } from './describe';
import { BUNDLED_MODELS_DIR } from './paths';

const USAGE = 'circuit-lens trace --model <dir|ORG/NAME|demo> (--prompt TEXT | --tokens 1,2,3) [--no-bos] [--top-k N] [--json FILE] [--save-cache DIR] [--hooks GLOB] [--threads N] [--backend auto|cpu|cuda]';

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
    threads: { type: 'string' },
    backend: { type: 'string', default: 'auto' },
  }, USAGE);
  if ((values.prompt === undefined) === (values.tokens === undefined)) fail('BAD_INPUT', { field: '--prompt' }, 'give exactly one of --prompt TEXT or --tokens 1,2,3.', `Usage: ${USAGE}`);
  const backend = values.backend;
  if (backend !== 'auto' && backend !== 'cpu' && backend !== 'cuda') fail('BAD_INPUT', { field: '--backend' }, `must be auto, cpu or cuda, got ${quote(backend ?? '')}.`);
  const k = intArg(values['top-k'], '--top-k', 10, 1, 1000);
  const threads = values.threads === undefined ? undefined : intArg(values.threads, '--threads', 1, 1, 256);

  const engine = await Engine.open(values.model!, { resolve: { bundledModelsDir: BUNDLED_MODELS_DIR }, session: { threads, backend }, signal });
  try {
    const nonFiniteScan = engine.nonFiniteWeights(); // in its own thread, while the model runs
    const ckpt = engine.ckpt;
    const tokens = values.prompt !== undefined ? engine.tokenize(values.prompt, !values['no-bos']) : tokensFromIds(ckpt, idList(values.tokens!, '--tokens'));
    const globs = values.hooks ?? (values['save-cache'] ? '*' : undefined);
    const hooks = globs ? selectHooks(ckpt.hooks, globs) : [];
    const trace = await engine.trace([tokens], { hooks, signal });

    const vocab = ckpt.config.dVocab;
    const last = trace.logits.data.subarray((tokens.length - 1) * vocab, tokens.length * vocab);
    const probs = softmax(last);
    const decode = (id: number) => (ckpt.tokenizer ? ckpt.tokenizer.decode([id]) : `<${id}>`);
    const top = topK(last, k).map(({ index, value }) => ({ id: index, text: decode(index), prob: probs[index], logit: value }));

    console.log(describeModel(ckpt));
    console.log(`backend ${engine.loadInfo.backend}, loaded in ${engine.loadInfo.loadMs.toFixed(0)} ms, forward ${trace.runMs.toFixed(0)} ms${engine.loadInfo.backendNote ? `\n${engine.loadInfo.backendNote}` : ''}`);
    console.log(`tokens (${tokens.length}):`);
    tokens.forEach((t, i) => console.log(`  ${String(i).padStart(4)}  ${String(t.id).padStart(6)}  ${quote(t.text).padEnd(18)} [${t.start}, ${t.end})`));
    console.log(`top-${k} next-token predictions after ${quote(tokens[tokens.length - 1].text)}:`);
    top.forEach((t, i) => console.log(`  ${String(i + 1).padStart(3)}. ${quote(t.text).padEnd(18)} p=${t.prob.toFixed(4)}  logit=${t.logit.toFixed(3)}`));

    const shapes = Object.fromEntries(hooks.map((h) => [h.name, concreteShape(h.shape, 1, tokens.length)]));
    if (values.json) {
      const report = { model: ckpt.name, tokens: tokens.map(({ id, text, start, end }) => ({ id, text, start, end })), topk: top, hooks: shapes };
      writeFileAtomic(values.json, JSON.stringify(report, null, 1) + '\n');
      console.log(`wrote ${values.json}`);
    }
    if (values['save-cache']) {
      const dir = values['save-cache'];
      fs.mkdirSync(dir, { recursive: true });
      for (const h of hooks) writeFileAtomic(path.join(dir, `${h.name}.npy`), encodeNpy(trace.cache.get(h.name)));
      console.log(`saved ${hooks.length} hook points as .npy to ${dir}`);
    } else if (hooks.length) {
      for (const [name, shape] of Object.entries(shapes)) console.log(`  cached ${name} [${shape.join(', ')}]`);
    }
    const nonFinite = await nonFiniteScan;
    if (nonFinite.length > 0) console.error(`circuit-lens: warning: ${describeNonFinite(ckpt.name, nonFinite)}`);
  } finally {
    await engine.dispose();
  }
}
