/**
 * `circuit-lens bench --eap`: edge attribution on random GPT-2-small-shaped weights (12 x 12, d_model 768)
 * against one plain forward, measured once each in the same run: the time of the scores (eap: 2 forwards
 * and the gradient runs at the split inputs, as many as the layer chunks; the 32,491 dot products) and of
 * the whole analysis with its circuit's faithfulness (2 edge-ablated forwards), at 1 x --pos tokens
 * (default 64), after a first run that builds the sessions; --gradient-mb sets the gradient runs' memory
 * bound (edge-gradients.ts; a large one splits every layer in one run). It all runs in a child process whose memory
 * is sampled from outside (child-memory.ts): the peak PSS after load, and its anonymous part's growth.
 */
import { tokensFromIds } from '../engine/model';
import { edgeAttribution } from '../engine/analysis/edge-attribution';
import { intArg, parse } from '../cli/args';
import { openBenchModel } from './open-model';
import { benchSetup, randomModel } from './setup';
import { childMeasured, measureChild } from './child-memory';
import * as path from 'node:path';

const USAGE = 'circuit-lens bench --eap [--threads N] [--pos N] [--method eap|eapIg] [--steps N] [--gradient-mb N] [--in-place]';
const REFERENCE = path.join(__dirname, '..', 'test', 'reference', 'gpt2_reference.py');
const CHILD = '--eap-child';

interface ChildArgs { dir: string; threads: number; pos: number; method: 'eap' | 'eapIg'; steps: number; gradientRunBytes?: number; inPlace: boolean }

/** In the child: open the model, then (measured) the forwards and both edge-attribution runs; returns the report's lines. */
async function eapChild(a: ChildArgs): Promise<void> {
  // Prepacked by default (the fastest runs); --in-place uses the weights as the extension does.
  const model = await openBenchModel(a.dir, { threads: a.threads, prepack: !a.inPlace });
  await childMeasured(async () => {
    const ids = Array.from({ length: a.pos }, (_, i) => (i * 7919) % 50257);
    const corruptedIds = ids.map((id, i) => (i === Math.floor(a.pos / 2) ? (id + 1) % 50257 : id));
    const clean = tokensFromIds(model.ckpt, ids);
    const corrupted = tokensFromIds(model.ckpt, corruptedIds);
    await model.trace([clean], { logits: 'last' }); // warm the plain session
    // CPU time next to wall time: on a shared machine the wall clock mostly measures the other processes.
    const cpuMs = (since: NodeJS.CpuUsage) => { const u = process.cpuUsage(since); return (u.user + u.system) / 1000; };
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await model.trace([clean], { logits: 'last' });
    const forwardMs = performance.now() - t0;
    const forwardCpu = cpuMs(c0);
    const run = () => edgeAttribution(model, [{ clean, corrupted, metric: { kind: 'logitDiff', answer: 11, counterfactual: 12 } }], { method: a.method, steps: a.steps, topN: 200, ablation: 'patch', gradientRunBytes: a.gradientRunBytes });
    const cold = await run(); // builds the gradient and edge-ablation graphs' sessions
    const t1 = performance.now();
    const c1 = process.cpuUsage();
    const r = await run();
    const totalMs = performance.now() - t1;
    const totalCpu = cpuMs(c1);
    const gradRuns = r.backwards;
    return [
      `GPT-2-small-shaped, 1 x ${a.pos} tokens, ${a.threads} thread(s), weights ${a.inPlace ? 'in place' : 'prepacked'}, ${a.method}${a.method === 'eapIg' ? ` (${r.steps} steps)` : ''}: ${r.graph.edgeCount} edges, ${r.gradientChunks.length} layer chunk(s) ${JSON.stringify(r.gradientChunks)}`,
      `  one forward (last-position logits):       ${forwardMs.toFixed(0)} ms (CPU ${forwardCpu.toFixed(0)} ms)`,
      `  first run (sessions of the gradient and edge-ablation graphs built): scores ${cold.scoreMs.toFixed(0)} ms`,
      `  scores (${r.forwards - r.faithfulness.forwards} forwards, ${gradRuns} backward${gradRuns === 1 ? '' : 's'}, ${r.graph.edgeCount} dot products): ${r.scoreMs.toFixed(0)} ms = ${(r.scoreMs / forwardMs).toFixed(1)} x one forward`,
      `  with the circuit's faithfulness (${r.forwards} forwards): ${totalMs.toFixed(0)} ms (CPU ${totalCpu.toFixed(0)} ms = ${(totalCpu / forwardCpu).toFixed(1)} x one forward's CPU); faithfulness of the top 200 edges ${r.faithfulness.faithfulness.toFixed(3)}`,
    ];
  });
  await model.dispose();
}

export async function benchEap(argv: string[]): Promise<void> {
  const at = argv.indexOf(CHILD);
  if (at >= 0) return eapChild(JSON.parse(argv[at + 1]) as ChildArgs);
  const { values } = parse(argv, { threads: { type: 'string' }, pos: { type: 'string' }, python: { type: 'string' }, method: { type: 'string' }, steps: { type: 'string' }, 'gradient-mb': { type: 'string' }, 'in-place': { type: 'boolean' } }, USAGE);
  const setup = benchSetup({ ...values, pos: values.pos ?? '64' }, REFERENCE, 1, 1024);
  const dir = randomModel(setup, 'gpt2-small-random', 'GPT-2-small-shaped', ['--layers', '12', '--d-model', '768', '--heads', '12', '--d-mlp', '3072', '--vocab', '50257', '--ctx', '1024']);
  const args: ChildArgs = { dir, threads: setup.threads, pos: setup.pos, method: values.method === 'eapIg' ? 'eapIg' : 'eap', steps: Number(values.steps ?? 16), inPlace: !!values['in-place'],
    ...(values['gradient-mb'] ? { gradientRunBytes: intArg(values['gradient-mb'], '--gradient-mb', 1024, 1, 1 << 20) * 2 ** 20 } : {}) };
  const m = await measureChild<string[]>(['--eap', CHILD, JSON.stringify(args)]);
  const mb = (b: number) => (b / 2 ** 20).toFixed(0);
  for (const line of m.result) console.log(line);
  console.log(`  memory, sampled from outside the child: loaded PSS ${mb(m.loaded.pss)} MB; peak PSS ${mb(m.peak.pss)} MB (file pages ${mb(m.peak.pssFile)} MB); anonymous growth after load ${mb(Math.max(0, m.peak.pssAnon - m.loaded.pssAnon))} MB`);
}
