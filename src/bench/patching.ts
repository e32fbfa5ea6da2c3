/**
 * Benchmark of a residual-stream patching sweep (every layer x every position of a `pos`-token prompt)
 * on GPT-2-small-shaped weights: the engine's batched sweep against the PyTorch reference doing the same
 * patching with hooks, and the engine's achieved fraction of the machine's fp32 GEMM throughput.
 */
import { execFileSync } from 'node:child_process';
import { activationPatching } from '../engine/analysis/patching';
import { tokensFromIds } from '../engine/model';
import { openBenchModel } from './open-model';

export interface PatchingBench {
  name: string;
  engineMs: number;
  referenceMs: number;
  ratio: number;
  /** GEMM FLOPs the engine's runs needed, per second, over the machine's measured GEMM throughput. */
  fractionOfGemm: number;
}

export async function benchPatching(modelDir: string, threads: number, pos: number, python: string, reference: string, env: NodeJS.ProcessEnv, gemmGflops: number): Promise<PatchingBench> {
  const engine = await openBenchModel(modelDir, { threads, prepack: true });
  let engineMs: number;
  const { nLayers: L, dModel: d, dMlp: m, dVocab: V } = engine.ckpt.config;
  try {
    const ids = Array.from({ length: pos }, (_, i) => (i * 7919) % V);
    const corrupted = ids.map((id, i) => (i === pos - 4 ? (id + 1) % V : id));
    const [clean, bad] = [ids, corrupted].map((r) => tokensFromIds(engine.ckpt, r));
    await engine.trace([clean]); // warm-up
    const t0 = performance.now();
    await activationPatching(engine, clean, bad, { target: 'resid_pre', metric: { kind: 'logitDiff', answer: 1, counterfactual: 2 } });
    engineMs = performance.now() - t0;
  } finally {
    await engine.dispose();
  }
  // What the engine ran: the clean and corrupted runs, then for each layer l, pos + 2 rows through
  // blocks l..L-1 only (they start from the runs' own residual stream), each unembedding its last
  // position only.
  const layerFlops = 2 * (4 * d * d + 2 * d * m); // per token and block
  let flops = 2 * (pos * L * layerFlops + 2 * d * V);
  for (let l = 0; l < L; l++) flops += (pos + 2) * (pos * (L - l) * layerFlops + 2 * d * V);
  const ref = JSON.parse(execFileSync(python, [reference, 'bench-patch', '--model', modelDir, '--pos', String(pos), '--threads', String(threads)], { env, encoding: 'utf8' }));
  return {
    name: `resid_pre patching sweep ${L} layers x ${pos} positions`,
    engineMs,
    referenceMs: ref.sweepMs,
    ratio: engineMs / ref.sweepMs,
    fractionOfGemm: flops / (engineMs / 1000) / (gemmGflops * 1e9),
  };
}
