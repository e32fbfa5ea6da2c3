/**
 * `circuit-lens bench`: the engine against the PyTorch reference (test/reference/gpt2_reference.py) on
 * the same random GPT-2-small-shaped weights, 1x128 tokens, equal thread counts; ratios, the fraction
 * of the machine's fp32 GEMM limit, load time and peak memory. Medians of --repeats runs.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { tokensFromIds } from '../engine/model';
import { GraphBuilder } from '../engine/graph/builder';
import { openBenchModel } from './open-model';
import { parse } from '../cli/args';
import { writeFileAtomic } from '../cli/atomic';
import { measureResponsiveness } from './responsiveness';
import { benchPatching } from './patching';
import { benchLlama } from './llama';
import { benchGemma2 } from './gemma2';
import { benchSae } from './sae';
import { benchAtp } from './atp';
import { benchCircuit } from './circuit';
import { benchEap } from './eap';
import { benchGrad } from './grad';
import { benchSaeFeatures } from './sae-features';
import { medianMs } from './timing';
import { benchSetup, randomModel } from './setup';

const USAGE = 'circuit-lens bench [--threads N] [--repeats N] [--pos N] [--json FILE] [--python PATH] [--responsiveness] [--patching] [--llama | --gemma2 | --sae | --sae-features | --circuit | --grad | --eap | --atp]';
const ROOT = path.join(__dirname, '..');
const REFERENCE = path.join(ROOT, 'test', 'reference', 'gpt2_reference.py');
const SHAPE = { layers: 12, dModel: 768, heads: 12, dMlp: 3072, vocab: 50257, ctx: 1024 };

/** fp32 GEMM throughput of onnxruntime's own MatMul (1024^3) at `threads`, in GFLOP/s. */
async function ortGemmGflops(threads: number): Promise<number> {
  const n = 1024;
  const g = new GraphBuilder();
  g.op('MatMul', [g.input('a', 'float', [n, n]), g.input('b', 'float', [n, n])], {}, 'c');
  g.output('c', 'float', [n, n]);
  const s = await ort.InferenceSession.create(g.build('gemm', 17), { intraOpNumThreads: threads, extra: { session: { 'intra_op.allow_spinning': '0' } } });
  const a = new ort.Tensor('float32', Float32Array.from({ length: n * n }, () => Math.random()), [n, n]);
  const ms = await medianMs(10, () => s.run({ a, b: a }));
  await s.release();
  return (2 * n ** 3) / (ms / 1000) / 1e9;
}

export async function benchCommand(argv: string[]): Promise<void> {
  if (argv.includes('--llama')) return benchLlama(argv.filter((a) => a !== '--llama'));
  if (argv.includes('--gemma2')) return benchGemma2(argv.filter((a) => a !== '--gemma2'));
  if (argv.includes('--sae-features')) return benchSaeFeatures(argv.filter((a) => a !== '--sae-features'));
  if (argv.includes('--sae')) return benchSae(argv.filter((a) => a !== '--sae'));
  if (argv.includes('--circuit')) return benchCircuit(argv.filter((a) => a !== '--circuit'));
  if (argv.includes('--grad')) return benchGrad(argv.filter((a) => a !== '--grad'));
  if (argv.includes('--eap')) return benchEap(argv.filter((a) => a !== '--eap'));
  if (argv.includes('--atp')) return benchAtp(argv.filter((a) => a !== '--atp'));
  const { values } = parse(argv, { threads: { type: 'string' }, repeats: { type: 'string' }, pos: { type: 'string' }, json: { type: 'string' }, python: { type: 'string' }, responsiveness: { type: 'boolean' }, patching: { type: 'boolean' } }, USAGE);
  const setup = benchSetup(values, REFERENCE, 7, SHAPE.ctx);
  const { threads, repeats, pos, python, env } = setup;
  const modelDir = randomModel(setup, 'gpt2-small-random', 'GPT-2-small-shaped', ['--layers', String(SHAPE.layers), '--d-model', String(SHAPE.dModel),
    '--heads', String(SHAPE.heads), '--d-mlp', String(SHAPE.dMlp), '--vocab', String(SHAPE.vocab), '--ctx', String(SHAPE.ctx)]);

  if (values.responsiveness) {
    for (const r of await measureResponsiveness(modelDir, threads, pos)) {
      console.log(`${r.case}: ${r.wallMs.toFixed(0)} ms, event-loop delay max ${r.maxDelayMs.toFixed(1)} ms, p99 ${r.p99DelayMs.toFixed(1)} ms`);
    }
    return;
  }

  // Load time, both ways: prepacked weights (faster runs) and weights used in place (faster load, less RAM).
  const loadInPlace = await openBenchModel(modelDir, { threads, prepack: false });
  const loadInPlaceMs = loadInPlace.loadMs;
  await loadInPlace.dispose();
  const engine = await openBenchModel(modelDir, { threads, prepack: true });
  const ids = Array.from({ length: pos }, (_, i) => (i * 7919) % SHAPE.vocab);
  const batch = [tokensFromIds(engine.ckpt, ids)];
  const logitsMs = await medianMs(repeats, () => engine.trace(batch));
  const allHooks = engine.ckpt.hooks.filter((h) => !h.needsAttnResult);
  const fullMs = await medianMs(repeats, () => engine.trace(batch, { hooks: allHooks }));
  const loadPrepackMs = engine.loadMs;
  await engine.dispose();
  const enginePeakMb = process.resourceUsage().maxRSS / 1024;
  const ortGflops = await ortGemmGflops(threads);

  console.log(`running the PyTorch reference (${threads} thread${threads > 1 ? 's' : ''}) ...`);
  const ref = JSON.parse(execFileSync(python, [REFERENCE, 'bench', '--model', modelDir, '--pos', String(pos), '--threads', String(threads), '--repeats', String(repeats)], { env, encoding: 'utf8' }));

  const { dModel: d, dMlp: m, vocab: v, layers: L } = SHAPE;
  const flopsPerToken = 2 * L * (4 * d * d + 2 * d * m) + 2 * d * v; // GEMMs: qkv, out, MLP in/out; unembedding
  const gemmGflops = Math.max(ortGflops, ref.gemmGflops);
  const limitMs = ((flopsPerToken * pos) / (gemmGflops * 1e9)) * 1000;
  const weightsMb = fs.statSync(path.join(modelDir, 'model.safetensors')).size / 2 ** 20;
  const cases: { name: string; engineMs: number; referenceMs: number; ratio: number; gemmBoundMs?: number; fractionOfLimit: number }[] = [
    { name: `logits 1x${pos}`, engineMs: logitsMs, referenceMs: ref.logitsMs },
    { name: `full cache 1x${pos} (${allHooks.length} hook points)`, engineMs: fullMs, referenceMs: ref.fullCacheMs },
  ].map((c) => ({ ...c, ratio: c.engineMs / c.referenceMs, gemmBoundMs: limitMs, fractionOfLimit: limitMs / c.engineMs }));
  if (values.patching) {
    console.log('running the patching sweep (engine, then PyTorch) ...');
    const p = await benchPatching(modelDir, threads, 64, python, REFERENCE, env, gemmGflops);
    cases.push({ name: p.name, engineMs: p.engineMs, referenceMs: p.referenceMs, ratio: p.ratio, fractionOfLimit: p.fractionOfGemm });
  }
  const machine = {
    cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, threads, onnxruntime: ort.env.versions.node ?? 'unknown', torch: ref.torch,
    gemmGflopsOnnxruntime: ortGflops, gemmGflopsTorch: ref.gemmGflops, flopsPerToken,
  };
  const load = { engineInPlaceMs: loadInPlaceMs, enginePrepackedMs: loadPrepackMs, referenceMs: ref.loadMs };
  const memory = { weightsMb, enginePeakRssMb: enginePeakMb, referencePeakRssMb: ref.peakRssMb };

  console.log(`\n${machine.cpu}, ${threads} thread(s); fp32 GEMM ${ortGflops.toFixed(1)} GFLOP/s (onnxruntime), ${ref.gemmGflops.toFixed(1)} (torch ${ref.torch}); ${(flopsPerToken / 1e6).toFixed(0)} MFLOP/token`);
  console.log('case                                   engine ms   torch ms   ratio   GEMM-bound ms   of limit');
  for (const c of cases) {
    console.log(`${c.name.padEnd(38)} ${c.engineMs.toFixed(1).padStart(9)} ${c.referenceMs.toFixed(1).padStart(10)} ${c.ratio.toFixed(2).padStart(7)} ${(c.gemmBoundMs?.toFixed(1) ?? '-').padStart(15)} ${(100 * c.fractionOfLimit).toFixed(0).padStart(9)}%`);
  }
  console.log(`load (safetensors to ready session): ${loadInPlaceMs.toFixed(0)} ms in place, ${loadPrepackMs.toFixed(0)} ms prepacked; torch reference ${ref.loadMs.toFixed(0)} ms`);
  console.log(`peak RSS: engine process ${enginePeakMb.toFixed(0)} MB, reference ${ref.peakRssMb.toFixed(0)} MB; weights ${weightsMb.toFixed(0)} MB`);
  if (values.json) {
    writeFileAtomic(values.json, JSON.stringify({ machine, cases, load, memory }, null, 1) + '\n');
    console.log(`wrote ${values.json}`);
  }
}

// `npm run bench` runs this bundle directly; `circuit-lens bench` loads it (dist/bench.js).
if (require.main === module) {
  benchCommand(process.argv.slice(2)).catch((e: unknown) => {
    console.error(`circuit-lens bench: ${(e as Error)?.message ?? e}`);
    process.exitCode = 1;
  });
}
