/**
 * `circuit-lens bench --circuit`: a circuit test (3 claims: faithfulness, minimality, completeness, mean
 * ablation) over a 32-prompt dataset on GPT-2-small-shaped random weights, against the forward passes it
 * needs run bare. The circuit test counts its sequence forwards (the reference prompts, the full model,
 * then one per prompt and ablated set); the bare figure runs that many sequences as plain batched
 * forwards of the same prompts (logits of the last position, no hooks, no interventions), in the same
 * process and thread count. The target: the circuit test at most 3x the bare forwards.
 */
import * as path from 'node:path';
import { tokensFromIds } from '../engine/model';
import { seededRandom } from '../engine/math';
import type { Dataset } from '../engine/datasets/load';
import { runCircuitTest } from '../engine/analysis/run-circuit-test';
import { parseSpec } from '../engine/spec/parse';
import { parse } from '../cli/args';
import { writeFileAtomic } from '../cli/atomic';
import { openBenchModel } from './open-model';
import { benchSetup, randomModel } from './setup';

const USAGE = 'circuit-lens bench --circuit [--threads N] [--pos N] [--prompts N] [--json FILE] [--python PATH]';
const ROOT = path.join(__dirname, '..');
const HEADS = ['0.1', '4.7', '9.9', '11.3'];

/** `count` prompts of BOS and `pos - 1` seeded random tokens, each with its own answer and counterfactual. */
function randomDataset(ckpt: Parameters<typeof tokensFromIds>[0], count: number, pos: number): Dataset {
  const { dVocab } = ckpt.config;
  const next = seededRandom(3);
  const token = () => Math.floor(next() * (dVocab - 1));
  const rows = Array.from({ length: count }, (_, i) => ({
    tokens: tokensFromIds(ckpt, [dVocab - 1, ...Array.from({ length: pos - 1 }, token)]),
    answer: token(), counterfactual: token(), origin: `bench prompt ${i}`,
  }));
  return { name: 'bench', rows, length: pos, description: `${count} prompts of BOS and ${pos - 1} random tokens` };
}

export async function benchCircuit(argv: string[]): Promise<void> {
  const { values } = parse(argv, { threads: { type: 'string' }, pos: { type: 'string' }, prompts: { type: 'string' }, json: { type: 'string' }, python: { type: 'string' } }, USAGE);
  const setup = benchSetup({ ...values, pos: values.pos ?? '64' }, path.join(ROOT, 'test', 'reference', 'gpt2_reference.py'), 1, 1024);
  const count = Number(values.prompts ?? 32);
  const modelDir = randomModel(setup, 'gpt2-small-random', 'GPT-2-small-shaped', ['--layers', '12', '--d-model', '768', '--heads', '12', '--d-mlp', '3072', '--vocab', '50257', '--ctx', '1024']);
  const engine = await openBenchModel(modelDir, { threads: setup.threads, prepack: true });
  try {
    const ds = randomDataset(engine.ckpt, count, setup.pos);
    const text = JSON.stringify({
      datasets: { bench: { generate: 'repeatedRandomTokens' } },
      analyses: [{ kind: 'circuit', dataset: 'bench', ablation: 'mean', components: { heads: HEADS }, claims: { faithfulness: { min: 0 }, minimality: { min: -1e9 }, completeness: { max: 1e9 } } }],
    });
    const a = parseSpec(text).spec.analyses[0];
    if (a.kind !== 'circuit') throw new Error('the bench spec has no circuit');
    const batch = ds.rows.map((r) => r.tokens);
    await engine.trace(batch.slice(0, 1), { logits: 'last' }); // warm-up: the plain session exists for both figures
    console.log(`circuit test: heads ${HEADS.join(', ')}, 3 claims, mean ablation, ${count} prompts x ${setup.pos} tokens, ${setup.threads} thread(s) ...`);
    const t0 = performance.now();
    const out = await runCircuitTest({ tracer: engine, dataset: () => ds }, a);
    const circuitMs = performance.now() - t0;
    const passes = out.notes!['forward passes'] as number;
    console.log(`bare forwards: ${passes} sequences of ${setup.pos} tokens in batches of ${count} ...`);
    const t1 = performance.now();
    for (let done = 0; done < passes; done += count) await engine.trace(batch.slice(0, Math.min(count, passes - done)), { logits: 'last' });
    const forwardMs = performance.now() - t1;
    const ratio = circuitMs / forwardMs;
    const claims = out.claims!.map((c) => `${c.claim} ${c.value.toFixed(3)}`).join(', ');
    console.log(`\ncircuit test ${(circuitMs / 1000).toFixed(1)} s; its ${passes} forward passes alone ${(forwardMs / 1000).toFixed(1)} s; ratio ${ratio.toFixed(2)} (target at most 3)`);
    console.log(`claims: ${claims}; faithfulness ${(out.notes!.faithfulness as number).toFixed(3)}`);
    if (values.json) {
      writeFileAtomic(values.json, JSON.stringify({ prompts: count, pos: setup.pos, threads: setup.threads, heads: HEADS, forwardPasses: passes, circuitMs, forwardMs, ratio }, null, 1) + '\n');
      console.log(`wrote ${values.json}`);
    }
  } finally {
    await engine.dispose();
  }
}
