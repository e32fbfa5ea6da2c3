/**
 * How long the calling thread's event loop stalls while the worker runs a model (in the extension host
 * this is the editor's responsiveness): the largest event-loop delay during a full-cache trace and a
 * residual-stream patching sweep, through the same runner client and requests the editor uses, sampled
 * every 10 ms with perf_hooks.
 */
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { RunnerClient } from '../client/runner-client';

export interface Responsiveness {
  case: string;
  wallMs: number;
  maxDelayMs: number;
  p99DelayMs: number;
}

async function observe(name: string, work: () => Promise<unknown>): Promise<Responsiveness> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const t0 = performance.now();
  await work();
  const wallMs = performance.now() - t0;
  h.disable();
  // Each sample is the whole time between two 10 ms timer ticks (so at least 10 ms): a stall shows as about
  // max - 10 ms. A stall that starts before the first tick is not seen (bench:vscode also tracks interval gaps).
  return { case: name, wallMs, maxDelayMs: h.max / 1e6, p99DelayMs: h.percentile(99) / 1e6 };
}

/** A spec patching the residual stream at the last 16 positions of two prompts of equal token length. */
function sweepSpec(clean: string, corrupted: string, positions: number[]): string {
  return JSON.stringify({
    prompts: [{ name: 'clean', text: clean, answer: ' the', counterfactual: ' a' }, { name: 'corrupted', text: corrupted }],
    analyses: [{ kind: 'patching', prompt: 'clean', corrupted: 'corrupted', target: 'resid_pre', positions }],
  });
}

export async function measureResponsiveness(modelDir: string, threads: number, pos: number): Promise<Responsiveness[]> {
  const client = new RunnerClient({ workerPath: path.join(__dirname, 'worker.js'), config: { bundledModelsDir: '', trusted: true, backend: 'cpu', threads, keptBytes: 0 } });
  try {
    const model = { ref: modelDir };
    const facts = await client.request('model/load', { model });
    const ids = Array.from({ length: pos }, (_, i) => (i * 7919) % facts.dVocab);
    const full = facts.hooks.filter((h) => !h.needsAttnResult).map((h) => h.name).join(',');
    await client.request('trace', { model, input: { ids } }); // warm-up
    const cases = [await observe(`full-cache trace 1x${pos}`, () => client.request('trace', { model, input: { ids }, hooks: full }))];
    if (facts.hasTokenizer) {
      // Text prompts of `pos` tokens (BOS included): the same word repeated, the corrupted one differs near the end.
      const words = Array.from({ length: pos - 1 }, (_, i) => (i === pos - 5 ? ' dog' : ' the'));
      const clean = words.join('');
      const spec = sweepSpec(clean, clean.replace(/ dog/, ' cat'), Array.from({ length: 16 }, (_, i) => pos - 16 + i));
      cases.push(await observe(`resid_pre patching sweep (${facts.nLayers} layers x 16 positions)`, () => client.request('analysis/run', { spec: { text: spec, path: path.join(modelDir, 'sweep.circuit.json') }, analysis: 0, model })));
    }
    return cases;
  } finally {
    await client.dispose();
  }
}
