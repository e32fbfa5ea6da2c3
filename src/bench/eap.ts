/**
 * `circuit-lens bench --eap`: edge attribution on random GPT-2-small-shaped weights (12 x 12, d_model 768)
 * against one plain forward, measured once each in the same run: the time of EAP's scores (2 forwards, 1
 * backward at the split inputs, the 32,491 dot products) and of the whole analysis with its circuit's
 * faithfulness (2 edge-ablated forwards), at 1 x --pos tokens (default 64), after a first run that builds
 * the sessions, and the process's peak memory.
 */
import { tokensFromIds } from '../engine/model';
import { edgeAttribution } from '../engine/analysis/edge-attribution';
import { parse } from '../cli/args';
import { openBenchModel } from './open-model';
import { benchSetup, randomModel } from './setup';
import * as path from 'node:path';

const USAGE = 'circuit-lens bench --eap [--threads N] [--pos N] [--method eap|eapIg] [--steps N]';
const REFERENCE = path.join(__dirname, '..', 'test', 'reference', 'gpt2_reference.py');

export async function benchEap(argv: string[]): Promise<void> {
  const { values } = parse(argv, { threads: { type: 'string' }, pos: { type: 'string' }, python: { type: 'string' }, method: { type: 'string' }, steps: { type: 'string' } }, USAGE);
  const setup = benchSetup({ ...values, pos: values.pos ?? '64' }, REFERENCE, 1, 1024);
  const dir = randomModel(setup, 'gpt2-small-random', 'GPT-2-small-shaped', ['--layers', '12', '--d-model', '768', '--heads', '12', '--d-mlp', '3072', '--vocab', '50257', '--ctx', '1024']);
  const method = values.method === 'eapIg' ? 'eapIg' : 'eap';
  const model = await openBenchModel(dir, { threads: setup.threads, prepack: true });
  try {
    const ids = Array.from({ length: setup.pos }, (_, i) => (i * 7919) % 50257);
    const corruptedIds = ids.map((id, i) => (i === Math.floor(setup.pos / 2) ? (id + 1) % 50257 : id));
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
    const run = () => edgeAttribution(model, [{ clean, corrupted, metric: { kind: 'logitDiff', answer: 11, counterfactual: 12 } }], { method, steps: Number(values.steps ?? 16), topN: 200, ablation: 'patch' });
    const cold = await run(); // builds the gradient and edge-ablation graphs' sessions
    const t1 = performance.now();
    const c1 = process.cpuUsage();
    const r = await run();
    const totalMs = performance.now() - t1;
    const totalCpu = cpuMs(c1);
    const peakMb = process.resourceUsage().maxRSS / 1024;
    console.log(`GPT-2-small-shaped, 1 x ${setup.pos} tokens, ${setup.threads} thread(s), ${method}${method === 'eapIg' ? ` (${r.steps} steps)` : ''}: ${r.graph.edgeCount} edges`);
    console.log(`  one forward (last-position logits):       ${forwardMs.toFixed(0)} ms (CPU ${forwardCpu.toFixed(0)} ms)`);
    console.log(`  first run (sessions of the gradient and edge-ablation graphs built): scores ${cold.scoreMs.toFixed(0)} ms`);
    console.log(`  scores (${r.forwards - r.faithfulness.forwards} forwards, ${r.backwards} backward${r.backwards === 1 ? '' : 's'}, ${r.graph.edgeCount} dot products): ${r.scoreMs.toFixed(0)} ms = ${(r.scoreMs / forwardMs).toFixed(1)} x one forward`);
    console.log(`  with the circuit's faithfulness (${r.forwards} forwards): ${totalMs.toFixed(0)} ms (CPU ${totalCpu.toFixed(0)} ms = ${(totalCpu / forwardCpu).toFixed(1)} x one forward's CPU); faithfulness of the top 200 edges ${r.faithfulness.faithfulness.toFixed(3)}`);
    console.log(`  peak RSS ${peakMb.toFixed(0)} MB`);
  } finally {
    await model.dispose();
  }
}
