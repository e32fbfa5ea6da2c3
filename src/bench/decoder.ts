/**
 * A decoder-only model of about 100M parameters against its PyTorch reference on the same random weights,
 * 1x128 tokens, equal thread counts: load time, full-cache trace time and ratio, the fraction of the GEMM-bound
 * limit, and peak memory against the weights' size. The cases (`--llama`, `--gemma2`) differ in their shape,
 * reference script and make-random options.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tokensFromIds } from '../engine/model';
import { openBenchModel } from './open-model';
import { parse } from '../cli/args';
import { writeFileAtomic } from '../cli/atomic';
import { medianMs } from './timing';
import { benchSetup, randomModel } from './setup';

export interface DecoderShape {
  layers: number;
  dModel: number;
  heads: number;
  kvHeads: number;
  /** Per head; may differ from dModel / heads. */
  dHead: number;
  dMlp: number;
  vocab: number;
  ctx: number;
}

export interface DecoderCase {
  /** The flag (`llama` for --llama), also the name of the cases in the output. */
  flag: string;
  /** "Llama-shaped", in messages. */
  description: string;
  /** test/reference/<script>. */
  script: string;
  /** The .bench folder of its random weights. */
  modelName: string;
  shape: DecoderShape;
  /** make-random options beyond the shape's layers, d_model, heads, d_mlp, vocab and ctx. */
  makeArgs: string[];
  /** What the output's model line adds to the shape (soft-caps, windows). */
  notes?: string;
}

const rssMb = () => process.resourceUsage().maxRSS / 1024;

/**
 * Multiply-adds of the weight GEMMs per token, times 2: q and o (n_heads * d_head wide), k and v (n_kv_heads *
 * d_head), a gated MLP's gate, up and down, and the unembedding. Attention's own q.k and pattern.v products are
 * left out (about 2% at 128 tokens).
 */
export function decoderFlopsPerToken(s: DecoderShape): number {
  const { layers: L, dModel: d, heads: h, kvHeads: kv, dHead: dh, dMlp: m, vocab: v } = s;
  return 2 * L * (2 * d * h * dh + 2 * d * kv * dh + 3 * d * m) + 2 * d * v;
}

export async function benchDecoder(argv: string[], k: DecoderCase): Promise<void> {
  const usage = `circuit-lens bench --${k.flag} [--threads N] [--repeats N] [--pos N] [--json FILE] [--python PATH]`;
  const { values } = parse(argv, { threads: { type: 'string' }, repeats: { type: 'string' }, pos: { type: 'string' }, json: { type: 'string' }, python: { type: 'string' } }, usage);
  const shape = k.shape;
  const reference = path.join(__dirname, '..', 'test', 'reference', k.script);
  const setup = benchSetup(values, reference, 5, shape.ctx);
  const { threads, repeats, pos, python, env } = setup;
  const modelDir = randomModel(setup, k.modelName, k.description, ['--layers', String(shape.layers), '--d-model', String(shape.dModel), '--heads', String(shape.heads),
    '--d-mlp', String(shape.dMlp), '--vocab', String(shape.vocab), '--ctx', String(shape.ctx), ...k.makeArgs]);
  const weightsMb = fs.statSync(path.join(modelDir, 'model.safetensors')).size / 2 ** 20;
  const ids = Array.from({ length: pos }, (_, i) => (i * 7919) % shape.vocab);

  // Memory first, in a process that has held nothing else: weights used in place (the default) plus one
  // full-cache trace, measured before any other trace leaves garbage behind.
  const baseMb = rssMb();
  const inPlace = await openBenchModel(modelDir, { threads, prepack: false });
  const batch = [tokensFromIds(inPlace.ckpt, ids)];
  const allHooks = inPlace.ckpt.hooks.filter((h) => !h.needsAttnResult);
  const t0 = performance.now();
  const cached = await inPlace.trace(batch, { hooks: allHooks });
  const inPlaceFullMs = performance.now() - t0;
  const peakInPlaceMb = rssMb();
  const cacheMb = cached.cache.byteSize() / 2 ** 20;
  const loadInPlaceMs = inPlace.loadMs;
  await inPlace.dispose();

  const engine = await openBenchModel(modelDir, { threads, prepack: true });
  const fullMs = await medianMs(repeats, () => engine.trace(batch, { hooks: allHooks }));
  const logitsMs = await medianMs(repeats, () => engine.trace(batch));
  const loadPrepackMs = engine.loadMs;
  const params = engine.ckpt.weights.files.reduce((n, f) => n + [...f.tensors.values()].reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0), 0);
  await engine.dispose();
  const peakMb = rssMb();

  console.log(`running the PyTorch reference (${threads} thread${threads > 1 ? 's' : ''}) ...`);
  const ref = JSON.parse(execFileSync(python, [reference, 'bench', '--model', modelDir, '--pos', String(pos), '--threads', String(threads), '--repeats', String(repeats)], { env, encoding: 'utf8' }));

  const flopsPerToken = decoderFlopsPerToken(shape);
  const limitMs = ((flopsPerToken * pos) / (ref.gemmGflops * 1e9)) * 1000;
  const cases = [
    { name: `${k.flag} logits 1x${pos}`, engineMs: logitsMs, referenceMs: ref.logitsMs },
    { name: `${k.flag} full cache 1x${pos} (${allHooks.length} hook points)`, engineMs: fullMs, referenceMs: ref.fullCacheMs },
  ].map((c) => ({ ...c, ratio: c.engineMs / c.referenceMs, gemmBoundMs: limitMs, fractionOfLimit: limitMs / c.engineMs, referenceFractionOfLimit: limitMs / c.referenceMs }));
  const memory = { weightsMb, cacheMb, baselineRssMb: baseMb, peakRssInPlaceMb: peakInPlaceMb, ratioInPlace: (peakInPlaceMb - baseMb) / weightsMb, peakRssPrepackedMb: peakMb, referencePeakRssMb: ref.peakRssMb };
  const load = { engineInPlaceMs: loadInPlaceMs, enginePrepackedMs: loadPrepackMs, referenceMs: ref.loadMs };

  console.log(`\n${k.description} model: ${(params / 1e6).toFixed(1)}M parameters (${shape.layers} layers, d_model ${shape.dModel}, ${shape.heads} heads / ${shape.kvHeads} kv heads, ` +
    `d_head ${shape.dHead}, d_mlp ${shape.dMlp}, vocab ${shape.vocab}${k.notes ? `, ${k.notes}` : ''}), fp32, ${threads} thread(s)`);
  console.log(`fp32 GEMM ${ref.gemmGflops.toFixed(1)} GFLOP/s (torch ${ref.torch}); ${(flopsPerToken / 1e6).toFixed(0)} MFLOP/token; GEMM-bound ${limitMs.toFixed(1)} ms`);
  console.log('case                                         engine ms   torch ms   ratio   engine / torch of limit');
  for (const c of cases) {
    console.log(`${c.name.padEnd(44)} ${c.engineMs.toFixed(1).padStart(9)} ${c.referenceMs.toFixed(1).padStart(10)} ${c.ratio.toFixed(2).padStart(7)}   ` +
      `${(100 * c.fractionOfLimit).toFixed(0)}% / ${(100 * c.referenceFractionOfLimit).toFixed(0)}%`);
  }
  console.log(`first full-cache trace with weights in place (no prepacking, cold): ${inPlaceFullMs.toFixed(1)} ms`);
  console.log(`load (safetensors to ready session): ${loadInPlaceMs.toFixed(0)} ms in place, ${loadPrepackMs.toFixed(0)} ms prepacked; torch reference ${ref.loadMs.toFixed(0)} ms`);
  console.log(`memory: weights ${weightsMb.toFixed(0)} MB; engine process ${baseMb.toFixed(0)} MB before loading, peak ${peakInPlaceMb.toFixed(0)} MB with weights in place and a 1x${pos} full cache of ${cacheMb.toFixed(0)} MB ` +
    `(${(peakInPlaceMb / weightsMb).toFixed(2)}x the weights; ${memory.ratioInPlace.toFixed(2)}x above the baseline), ${peakMb.toFixed(0)} MB after the prepacked runs; reference ${ref.peakRssMb.toFixed(0)} MB`);
  if (values.json) {
    writeFileAtomic(values.json, JSON.stringify({ model: shape, threads, gemmGflops: ref.gemmGflops, flopsPerToken, cases, load, memory }, null, 1) + '\n');
    console.log(`wrote ${values.json}`);
  }
}
