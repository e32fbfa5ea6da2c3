/**
 * How long the calling thread's event loop stalls while the engine works (in the extension host this
 * is the editor's responsiveness): the largest event-loop delay during a full-cache trace and during a
 * residual-stream patching sweep, sampled every 10 ms with perf_hooks.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { activationPatching } from '../../engine/analysis/patching';
import { tokensFromIds } from '../../engine/model';
import { Engine } from '../../worker/engine';

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

export async function measureResponsiveness(modelDir: string, threads: number, pos: number): Promise<Responsiveness[]> {
  const engine = await Engine.open(modelDir, { session: { threads } });
  try {
    const vocab = engine.ckpt.config.dVocab;
    const ids = Array.from({ length: pos }, (_, i) => (i * 7919) % vocab);
    const corrupted = ids.map((id, i) => (i === pos - 4 ? (id + 1) % vocab : id));
    const [a, b] = [ids, corrupted].map((r) => tokensFromIds(engine.ckpt, r));
    const full = engine.ckpt.hooks.filter((h) => !h.needsAttnResult);
    await engine.trace([a]); // warm-up
    return [
      await observe(`full-cache trace 1x${pos}`, () => engine.trace([a], { hooks: full })),
      await observe(`resid_pre patching sweep (${engine.ckpt.config.nLayers} layers x 16 positions)`, () =>
        activationPatching(engine, a, b, { target: 'resid_pre', metric: { kind: 'logitDiff', answer: 1, counterfactual: 2 }, positions: Array.from({ length: 16 }, (_, i) => pos - 16 + i) })),
    ];
  } finally {
    await engine.dispose();
  }
}
