/**
 * Attached dictionaries inside the model graph. At a dictionary's input hook: hook_sae_input (the hook's
 * value, hook_z flattened), hook_sae_acts_pre, hook_sae_acts_post and hook_sae_recons; at the hook it
 * reconstructs (the same hook for an SAE, the output hook for a transcoder): hook_sae_error (the hook's
 * value minus the reconstruction) and hook_sae_output, which is what the model continues with: the
 * hook's own value when observing, the reconstruction when spliced. The operations follow the CPU
 * definition in src/engine/sae/encode.ts field for field.
 *
 * A feature-space intervention is the keep/add pair on hook_sae_acts_post (a' = a * keep + add), with
 * SAELens' error-term semantics (HookedSAETransformer, use_error_term): hook_sae_recons decodes a', the
 * error is the hook's value minus the reconstruction of the unintervened activations a, and the model
 * continues with x + (recons(a') - recons(a)) when observing (= recons(a') + error: only the changed
 * features' decoder contributions move the forward) and with recons(a') when spliced.
 *
 * A cross-layer transcoder (circuit-tracer's; one dictionary per source layer, attached whole: attach.ts)
 * names its hooks as per-layer transcoders do. Layer i's hook_sae_input, _acts_pre and _acts_post hang at
 * its input hook, where its features' contributions to every target it writes to (layers i..n-1) are
 * computed and queued; hook_sae_recons of layer j hangs at layer j's input hook too and is the full
 * prediction of its output hook, sum over i <= j of a_i W_dec_i[:, j - i, :] + b_dec_j (+ layer j's skip),
 * since every source i <= j reads an earlier hook. hook_sae_error and hook_sae_output hang at the output
 * hook as for any transcoder. An intervention on layer i's hook_sae_acts_post moves every target j >= i
 * by the same error-term rule: recons_j decodes the intervened features, the error and the observed
 * output's correction use the unintervened ones.
 */
import * as path from 'node:path';
import { fail } from '../errors';
import type { Linear, WeightRef } from '../params';
import { SaeHook, saeHookName, targetHook } from '../sae/attach';
import type { SparseDictionary } from '../sae/types';
import type { GraphBuilder } from './builder';
import type { HookedGraph } from './hooked-graph';
import { SaeLayout, inlined, saeMemoryPath } from './sae-layout';
import { weightInput } from './weight-input';

export class SaeGraph {
  private readonly atIn = new Map<string, { d: SparseDictionary; index: number }>();
  private readonly atOut = new Map<string, { d: SparseDictionary; index: number }>();
  /** Cross-layer transcoders: each target hook's contributions from the source layers built so far, in layer order (and from their unintervened features). */
  private readonly toTarget = new Map<string, { recons: string[]; clean: string[] }>();
  /** Each dictionary's reconstruction once its input hook is built, and (when its activations are intervened on) the unintervened one. */
  private readonly recons = new Map<number, { recons: string; clean: string }>();
  private readonly weights = new Map<string, string>();
  private readonly spliced: Set<string>;

  /** `active`: the input hooks of the dictionaries this graph computes; `splice`: those spliced. */
  constructor(private readonly g: GraphBuilder, private readonly hg: HookedGraph, private readonly layout: SaeLayout, active: readonly string[], splice: readonly string[]) {
    layout.saes.forEach(({ dict: d }, index) => {
      if (!active.includes(d.hookIn)) return;
      this.atIn.set(d.hookIn, { d, index });
      this.atOut.set(targetHook(d), { d, index });
    });
    this.spliced = new Set(splice);
  }

  /** After hook `name` has value `x`: runs the dictionaries there and returns what the model continues with. */
  at(name: string, x: string): string {
    const input = this.atIn.get(name);
    if (input) this.recons.set(input.index, this.encodeDecode(input.d, input.index, x));
    const output = this.atOut.get(name);
    if (!output) return x;
    const { d, index } = output;
    const built = this.recons.get(index);
    if (!built) fail('RUNTIME', { field: name }, `the graph reached ${name} before the dictionary's input hook ${d.hookIn}.`);
    const { recons, clean } = built;
    this.hook(d, 'hook_sae_error', (o) => this.g.op('Sub', [x, clean], {}, o));
    // Observing with intervened features: the hook's value plus what the intervention changed in the reconstruction.
    const observed = recons === clean ? x : this.g.op('Add', [x, this.g.op('Sub', [recons, clean])]);
    return this.hook(d, 'hook_sae_output', (o) => this.g.op('Identity', [this.spliced.has(d.hookIn) ? recons : observed], {}, o));
  }

  private hook(d: SparseDictionary, which: SaeHook, produce: (out: string) => string): string {
    return this.hg.hook(saeHookName(d, which), produce);
  }

  /** The fp32 value of dictionary `index`'s tensor, declared once. */
  private W(index: number, d: SparseDictionary, ref: WeightRef): string {
    const key = `${index}|${ref.location}|${ref.name}`;
    let name = this.weights.get(key);
    if (name) return name;
    const graphName = `sae${index}.${ref.name}`;
    if (this.layout.storage === 'memory') {
      name = this.g.externalInit(graphName, 'float', ref.shape, { location: saeMemoryPath(index, ref), offset: 0, length: ref.shape.reduce((a, b) => a * b, 4) });
    } else if (inlined(this.layout, d, ref)) {
      name = this.g.floatInit(graphName, ref.shape, d.source.memory.get(ref.location)!);
    } else {
      const location = path.join(path.relative(this.layout.baseDir, d.source.weights.dataDir), ref.location);
      name = weightInput(this.g, { ...ref, name: graphName, location });
    }
    this.weights.set(key, name);
    return name;
  }

  /** x [batch, pos, in] through a dictionary Linear -> [batch, pos, out] ('out-in' as Gemm with transB on a 2-D view). */
  private linear(index: number, d: SparseDictionary, x: string, lin: Linear, bias: boolean, width: number, out?: string): string {
    const g = this.g;
    const b = bias && lin.b ? this.W(index, d, lin.b) : undefined;
    if (lin.layout === 'in-out') {
      const w = this.W(index, d, lin.w);
      return b ? g.op('Add', [g.op('MatMul', [x, w]), b], {}, out) : g.op('MatMul', [x, w], {}, out);
    }
    const flat = g.op('Reshape', [x, g.constI([-1, lin.w.shape[1]])]); // [batch * pos, in]
    const y = g.op('Gemm', b ? [flat, this.W(index, d, lin.w), b] : [flat, this.W(index, d, lin.w)], { transB: 1 }); // [batch * pos, out]
    return g.op('Reshape', [y, g.op('Concat', [g.op('Shape', [x], { start: 0, end: 2 }), g.constI([width])], { axis: 0 })], {}, out);
  }

  /**
   * The dictionary's hooks from its input value x; returns the reconstruction (shaped as the target hook)
   * and, when hook_sae_acts_post carries an intervention, the reconstruction of the unintervened activations.
   */
  private encodeDecode(d: SparseDictionary, index: number, x: string): { recons: string; clean: string } {
    const g = this.g;
    const sx = d.reshapeActivations === 'hook_z' ? g.op('Reshape', [x, g.constI([0, 0, d.dIn])]) : x; // [batch, pos, d_in]
    const saeIn = this.hook(d, 'hook_sae_input', (o) => g.op('Identity', [sx], {}, o));
    const { xn, restore } = this.normalize(d, saeIn);
    const centred = d.applyBDecToInput && d.decoder.b ? g.op('Sub', [xn, this.W(index, d, d.decoder.b)]) : xn;
    const a = d.activation;
    let gate: string | undefined;
    // The pre-activations are written straight to the hook's tensor (no copy of [batch, pos, d_sae]).
    const actsPre = this.hook(d, 'hook_sae_acts_pre', (o) => {
      if (a.kind !== 'gated') return this.linear(index, d, centred, d.encoder, true, d.dSae, o);
      gate = this.linear(index, d, centred, d.encoder, true, d.dSae); // [batch, pos, d_sae]
      const scale = g.op('Exp', [this.W(index, d, a.rMag)]); // [d_sae]
      const wMag = g.op('Mul', [this.W(index, d, d.encoder.w), d.encoder.layout === 'in-out' ? scale : g.op('Unsqueeze', [scale, g.constI([1])])]);
      const y = d.encoder.layout === 'in-out' ? g.op('MatMul', [centred, wMag])
        : g.op('Reshape', [g.op('Gemm', [g.op('Reshape', [centred, g.constI([-1, d.dIn])]), wMag], { transB: 1 }), g.op('Concat', [g.op('Shape', [centred], { start: 0, end: 2 }), g.constI([d.dSae])], { axis: 0 })]);
      return g.op('Add', [y, this.W(index, d, a.bMag)], {}, o);
    }); // [batch, pos, d_sae]
    const decNorm = d.rescaleActsByDecoderNorm ? this.decoderNorm(index, d) : undefined; // [d_sae]
    const zero = () => g.constF([0], []);
    let topk: { values: string; indices: string } | undefined;
    const activate = (o: string): string => {
      switch (a.kind) {
        case 'relu':
          return g.op('Relu', [actsPre], {}, o);
        case 'gated':
          return g.op('Where', [g.op('Greater', [gate!, zero()]), g.op('Relu', [actsPre]), zero()], {}, o);
        case 'jumprelu': {
          const on = g.op('Greater', [actsPre, this.W(index, d, a.threshold)]);
          return g.op('Where', [on, a.semantics === 'saelens' ? g.op('Relu', [actsPre]) : actsPre, zero()], {}, o);
        }
        case 'topk': {
          const z = decNorm ? g.op('Mul', [actsPre, decNorm]) : actsPre;
          const [values, indices] = [g.tmp('topk_values'), g.tmp('topk_indices')];
          g.op('TopK', [z, g.constI([a.k])], { axis: -1, largest: 1, sorted: 1 }, [values, indices]); // [batch, pos, k]
          const kept = a.semantics === 'saelens' ? g.op('Relu', [values]) : values;
          topk = { values: kept, indices };
          const zeros = g.op('ConstantOfShape', [g.op('Shape', [z])], { value: { tensor: { dataType: 1, dims: [1], floatData: [0] } } });
          return g.op('ScatterElements', [zeros, indices, kept], { axis: -1 }, o);
        }
      }
    };
    let cleanActs = '';
    const acts = this.hook(d, 'hook_sae_acts_post', (o) => (cleanActs = activate(o))); // [batch, pos, d_sae], after any intervention
    // acts [batch, pos, d_sae] -> the reconstruction, shaped as the target hook.
    let skip: string | undefined;
    const decode = (decoded: string): string => {
      let y = restore(decoded); // [batch, pos, d_out]
      if (d.skip) y = g.op('Add', [y, (skip ??= this.linear(index, d, saeIn, d.skip, false, d.dOut))]);
      return d.reshapeActivations === 'hook_z' && d.kind === 'sae' ? g.op('Reshape', [y, g.op('Shape', [x])]) : y;
    };
    const post = saeHookName(d, 'hook_sae_acts_post');
    if (d.crossLayer) return this.crossLayerRecons(d, index, { acts, clean: cleanActs, intervened: this.hg.has(post) }, decNorm, decode);
    const dense = (v: string) => decode(this.linear(index, d, decNorm ? g.op('Div', [v, decNorm]) : v, d.decoder, true, d.dOut));
    // TopK decodes its k active rows of W_dec ([d_sae, d_out]) instead of the whole matrix, for the unintervened activations,
    // unless their gradient is asked for (then they feed the decoder, as in SAELens).
    const sparse = topk && d.decoder.layout === 'in-out' && !this.hg.wantsGrad(post) ? topk : undefined;
    const unintervened = () => (sparse ? decode(this.decodeRows(index, d, sparse.values, sparse.indices, decNorm)) : dense(cleanActs));
    if (!this.hg.has(post)) {
      const recons = this.hook(d, 'hook_sae_recons', (o) => g.op('Identity', [unintervened()], {}, o));
      return { recons, clean: recons };
    }
    const clean = unintervened();
    return { recons: this.hook(d, 'hook_sae_recons', (o) => g.op('Identity', [dense(acts)], {}, o)), clean };
  }

  /**
   * A cross-layer transcoder's source layer, at its input hook: queues its features' contribution to each
   * target it writes to (acts @ W_dec[:, t, :], one MatMul over every target, split) and returns the full
   * prediction of its own target, summed as encode.ts crossLayerReconstruct does: decode(own contribution +
   * b_dec) (+ skip) plus each earlier layer's contribution; beside it the prediction from unintervened features.
   */
  private crossLayerRecons(d: SparseDictionary, index: number, a: { acts: string; clean: string; intervened: boolean }, decNorm: string | undefined, decode: (y: string) => string): { recons: string; clean: string } {
    const g = this.g;
    const targets = d.crossLayer!.hooksOut;
    const w = g.op('Reshape', [this.W(index, d, d.decoder.w), g.constI([d.dSae, targets.length * d.dOut])]); // [d_sae, n_targets * d_out]
    const contributions = (acts: string): string[] => {
      const y = g.op('MatMul', [decNorm ? g.op('Div', [acts, decNorm]) : acts, w]); // [batch, pos, n_targets * d_out]
      if (targets.length === 1) return [y];
      const parts = targets.map(() => g.tmp('clt_contribution'));
      g.op('Split', [y, g.constI(targets.map(() => d.dOut))], { axis: 2 }, parts); // n_targets x [batch, pos, d_out]
      return parts;
    };
    const edited = contributions(a.acts);
    const clean = a.intervened ? contributions(a.clean) : edited;
    targets.forEach((hook, t) => {
      const q = this.toTarget.get(hook) ?? { recons: [], clean: [] };
      q.recons.push(edited[t]);
      q.clean.push(clean[t]);
      this.toTarget.set(hook, q);
    });
    const q = this.toTarget.get(targets[0])!;
    if (q.recons.length !== d.layer! + 1) fail('RUNTIME', { file: d.dir, field: d.hookIn }, `the graph reached layer ${d.layer}'s input hook with ${q.recons.length - 1} of the ${d.layer} earlier layers' features computed.`);
    const b = d.decoder.b ? this.W(index, d, d.decoder.b) : undefined;
    const predict = (parts: string[]): string => {
      const own = parts[parts.length - 1];
      return parts.slice(0, -1).reduce((sum, c) => g.op('Add', [sum, c]), decode(b ? g.op('Add', [own, b]) : own)); // [batch, pos, d_out]
    };
    const recons = this.hook(d, 'hook_sae_recons', (o) => g.op('Identity', [predict(q.recons)], {}, o));
    return { recons, clean: q.recons.every((c, i) => c === q.clean[i]) ? recons : predict(q.clean) };
  }

  /** sum_j values[j] / decNorm[f_j] * W_dec[f_j] + b_dec over the k active features f_j: [batch, pos, k] -> [batch, pos, d_out]. */
  private decodeRows(index: number, d: SparseDictionary, values: string, indices: string, decNorm: string | undefined): string {
    const g = this.g;
    const scaled = decNorm ? g.op('Div', [values, g.op('Gather', [decNorm, indices], { axis: 0 })]) : values; // [batch, pos, k]
    const rows = g.op('Gather', [this.W(index, d, d.decoder.w), indices], { axis: 0 }); // [batch, pos, k, d_out]
    const weighted = g.op('MatMul', [g.op('Unsqueeze', [scaled, g.constI([2])]), rows]); // [batch, pos, 1, k] @ [batch, pos, k, d_out] -> [batch, pos, 1, d_out]
    const sum = g.op('Squeeze', [weighted, g.constI([2])]); // [batch, pos, d_out]
    return d.decoder.b ? g.op('Add', [sum, this.W(index, d, d.decoder.b)]) : sum;
  }

  /** ||W_dec row|| per feature [d_sae] (folded to a constant by onnxruntime). */
  private decoderNorm(index: number, d: SparseDictionary): string {
    const w = this.W(index, d, d.decoder.w);
    const axes = d.crossLayer ? [1, 2] : [d.decoder.layout === 'in-out' ? 1 : 0]; // a cross-layer W_dec [d_sae, n_targets, d_out]: over every target
    return this.g.op('ReduceL2', [w], { axes, keepdims: 0 });
  }

  /** The normalised input and the map restoring the output's scale (types.ts InputNormalization). */
  private normalize(d: SparseDictionary, x: string): { xn: string; restore: (y: string) => string } {
    const g = this.g;
    const m = d.normalization;
    const scale = (s: number) => (y: string) => (s === 1 ? y : g.op('Mul', [y, g.constF([s], [])]));
    switch (m.kind) {
      case 'none':
        return { xn: x, restore: (y) => y };
      case 'expected_average_only_in': {
        const s = m.scalingFactor ?? 1;
        return { xn: scale(s)(x), restore: scale(1 / s) };
      }
      case 'dataset_wise':
        return { xn: scale(Math.sqrt(d.dIn) / m.normIn)(x), restore: scale(m.normOut / Math.sqrt(d.dOut)) };
      case 'constant_norm_rescale': {
        const n = g.op('ReduceL2', [x], { axes: [-1], keepdims: 1 }); // [batch, pos, 1]
        const f = g.op('Div', [g.constF([Math.sqrt(d.dIn)], []), n]);
        return { xn: g.op('Mul', [x, f]), restore: (y) => g.op('Div', [y, f]) };
      }
      case 'layer_norm': {
        const mu = g.op('ReduceMean', [x], { axes: [-1], keepdims: 1 }); // [batch, pos, 1]
        const c = g.op('Sub', [x, mu]);
        const sd = g.op('Sqrt', [g.op('Div', [g.op('ReduceSumSquare', [c], { axes: [-1], keepdims: 1 }), g.constF([d.dIn - 1], [])])]);
        return { xn: g.op('Div', [c, g.op('Add', [sd, g.constF([m.eps], [])])]), restore: (y) => g.op('Add', [g.op('Mul', [y, sd]), mu]) };
      }
    }
  }
}
