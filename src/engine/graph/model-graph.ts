/**
 * The instrumented model graph for every family: Hugging Face's forward (TransformerLens'
 * from_pretrained_no_processing: no folded norms, no centering), with every TransformerLens hook point a
 * named graph output and optional interventions (see hooked-graph.ts). Weights stay in the safetensors
 * files as external data. What differs between families comes from the config (norm kind, positions,
 * parallel attention and MLP, gated MLP, key/value heads, attention windows, q/k norms, post or sandwich norms,
 * embedding scale, query scale, soft-caps, per-layer rotary settings) and the params' layouts.
 */
import { GraphBuilder } from './builder';
import { GraphVariant, HookedGraph, START_INPUT, allLayers, hookLayer, splitsLayer } from './hooked-graph';
import type { ModelConfig } from '../model-config';
import { hookPoints, splitInputHooks } from '../hooks';
import { fail } from '../errors';
import type { BlockParams, ModelParams } from '../params';
import { activation } from './activation';
import { GraphContext } from './context';
import { normalize, plainNorm } from './norm';
import { applyRotary, rotaryTables } from './rotary';
import { withSaeHooks } from '../sae/attach';
import { SaeGraph } from './sae-graph';
import type { SaeLayout } from './sae-layout';
import { headWeights, perHeadCopy, projectPerHead } from './split-inputs';
import { EdgeAblationGraph } from './edge-ablation';
import { emitHookGradients } from './autodiff/hook-gradients';

/** Opset 17: LayerNormalization with its Mean/InvStdDev outputs. */
const OPSET = 17;

/** Attention masks by window (0: plain causal), built once per graph. */
class Masks {
  private readonly masks = new Map<number, string>();
  private readonly lower: string;

  constructor(private readonly g: GraphBuilder, posLen: string) {
    const square = g.op('Concat', [posLen, posLen], { axis: 0 });
    const ones = g.op('ConstantOfShape', [square], { value: { tensor: { dataType: 1, dims: [1], floatData: [1] } } }); // [pos, pos]
    this.lower = g.op('Trilu', [ones], { upper: 0 }); // 1 on and below the diagonal
  }

  /** [pos, pos] bool, true where query q may attend to key k: k <= q, and q - k < window when windowed. */
  get(window: number | null): string {
    const key = window ?? 0;
    let m = this.masks.get(key);
    if (!m) {
      const band = window === null ? this.lower : this.g.op('Trilu', [this.lower, this.g.constI([1 - window], [])], { upper: 1 });
      this.masks.set(key, (m = this.g.op('Cast', [band], { to: 9 })));
    }
    return m;
  }
}

/** Attention's input: one normalised tensor [batch, pos, d_model], or split q/k/v inputs [batch, pos, heads, d_model]. */
type AttnInput = string | [string, string, string];

/** `saes`: dictionaries attached at hook points, and where their tensors are (sae-layout.ts). */
export function buildModelGraph(c: ModelConfig, w: ModelParams, variant: GraphVariant, saes?: SaeLayout): Uint8Array {
  const g = new GraphBuilder();
  const ctx = new GraphContext(g, saes?.modelPrefix);
  const split = (l: number) => splitsLayer(variant, l);
  const points = [...hookPoints(c), ...splitInputHooks(c).filter((p) => split(hookLayer(p.name)!))];
  const hg = new HookedGraph(g, saes ? withSaeHooks(points, saes.saes) : points, variant);
  const ln1Observes = !c.postNorms && variant.interventions.find((n) => /\.ln1\.hook_/.test(n) && split(hookLayer(n)!));
  if (ln1Observes) fail('BAD_INPUT', { field: ln1Observes }, 'with split inputs, ln1 runs on each query, key and value input on its own, and its hooks only observe the norm of resid_pre.', 'Intervene on hook_q_input, hook_k_input or hook_v_input instead.');
  if (saes && variant.saes?.length) {
    const sg = new SaeGraph(g, hg, saes, variant.saes, variant.saeSplice ?? []);
    hg.attach((name, x) => sg.at(name, x));
  }
  const hook = hg.hook.bind(hg);
  const { dModel: d, nHeads: h, nKvHeads: kv, dHead: dh } = c;

  const start = variant.startLayer ?? 0;
  if (variant.edgeAblation && (allLayers(c.nLayers).some((l) => !split(l)) || !variant.attnResult || variant.startLayer !== undefined || c.postNorms || c.sandwichNorms)) {
    fail('BAD_INPUT', { field: 'edgeAblation' }, 'edge ablation needs every layer\'s inputs split and per-head results, from the tokens, on a model whose residual is the sum of its heads\' and MLPs\' outputs (no post or sandwich norms).');
  }
  const edges = variant.edgeAblation ? new EdgeAblationGraph(g, 1 + c.nLayers * (h + 1), d) : undefined;
  let resid: string;
  if (variant.startLayer !== undefined) {
    resid = ctx.startFromResidual(START_INPUT, d); // blocks.start.hook_resid_pre [batch, pos, d_model]
  } else {
    const embed = hook('hook_embed', (o) => { // [batch, pos, d_model]
      if (!c.embedScale) return g.op('Gather', [ctx.W(w.embed), ctx.ids], { axis: 0 }, o);
      // Gemma: times sqrt(d_model) in the activation dtype (fp32 here); TransformerLens folds it into W_E, so hook_embed includes it.
      return g.op('Mul', [g.op('Gather', [ctx.W(w.embed), ctx.ids], { axis: 0 }), g.constF([c.embedScale], [])], {}, o);
    });
    if (w.posEmbed) {
      const posRows = g.op('Slice', [ctx.W(w.posEmbed), g.constI([0]), ctx.posLen, g.constI([0])]); // [pos, d_model]
      const posEmbed = hook('hook_pos_embed', (o) => g.op('Expand', [posRows, g.op('Shape', [embed])], {}, o)); // [batch, pos, d_model]
      resid = hook('blocks.0.hook_resid_pre', (o) => g.op('Add', [embed, posEmbed], {}, o));
    } else {
      resid = hg.alias('blocks.0.hook_resid_pre', embed);
    }
  }

  edges?.addSources(g.op('Unsqueeze', [resid, g.constI([2])]), 1); // the embeddings: [batch, pos, 1, d_model]
  /** Sources before layer l's attention: the embeddings and every earlier head and MLP. */
  const sourcesBefore = (l: number) => 1 + l * (h + 1);
  const masks = new Masks(g, ctx.posLen);
  // Rotary tables once per distinct setting: sliding-window layers use rotaryLocal where the config has one (Gemma 3).
  const globalRotary = c.rotary ? { dims: c.rotary.dims, tables: rotaryTables(ctx, c.rotary) } : null;
  const localRotary = c.rotaryLocal ? { dims: c.rotaryLocal.dims, tables: rotaryTables(ctx, c.rotaryLocal) } : globalRotary;
  const rotaryOf = (l: number) => (c.attnWindows[l] !== null ? localRotary : globalRotary);
  const minusInf = g.constF([-Infinity], []);
  const headsShape = (n: number) => g.constI([0, 0, n, dh]);
  const norm = (x: string, n: BlockParams['ln1'], prefix: string, out?: string) => normalize(ctx, hg, c.normalization, c.lnEps, x, n, prefix, out);

  /**
   * q, k, v [batch, pos, heads, d_head] (k and v with the key/value heads), before rotary, from the
   * normalised input x [batch, pos, d_model], or from split inputs (each [batch, pos, heads, d_model], normalised).
   */
  const projectQkv = (x: AttnInput, b: BlockParams, p: string): [string, string, string] => {
    const names = ['attn.hook_q', 'attn.hook_k', 'attn.hook_v'].map((n) => p + n);
    const heads = [h, kv, kv];
    if (typeof x !== 'string') return x.map((xi, i) => hook(names[i], (o) => projectPerHead(ctx, xi, headWeights(ctx, b.qkv, i as 0 | 1 | 2, heads[i], h, dh), o))) as [string, string, string];
    if (b.qkv.kind === 'separate') {
      const lin = [b.qkv.q, b.qkv.k, b.qkv.v];
      return names.map((n, i) => hook(n, (o) => g.op('Reshape', [ctx.linear(x, lin[i]), headsShape(heads[i])], {}, o))) as [string, string, string];
    }
    const fused = ctx.linear(x, b.qkv.proj); // [batch, pos, 3 * n_heads * d_head]
    const parts = [g.tmp('q'), g.tmp('k'), g.tmp('v')];
    if (b.qkv.order === 'blocks') {
      g.op('Split', [fused, g.constI([h * dh, h * dh, h * dh])], { axis: 2 }, parts);
    } else {
      // GPT-NeoX: [head, (q | k | v), d_head]
      g.op('Split', [g.op('Reshape', [fused, g.constI([0, 0, h, 3 * dh])]), g.constI([dh, dh, dh])], { axis: 3 }, parts);
    }
    return names.map((n, i) => hook(n, (o) => g.op('Reshape', [parts[i], headsShape(h)], {}, o))) as [string, string, string];
  };

  /**
   * [batch, kv_heads, a, b] -> [batch, n_heads, a, b] (`target` gives a and b, one of them -1): each
   * key/value head serves n_heads / kv_heads consecutive query heads.
   */
  const repeatKv = (x: string, target: [number, number]): string => {
    if (kv === h) return x;
    const expanded = g.op('Expand', [g.op('Unsqueeze', [x, g.constI([2])]), g.constI([1, 1, h / kv, 1, 1])]); // [batch, kv, rep, a, b]
    return g.op('Reshape', [expanded, g.constI([0, h, ...target])]);
  };

  /** The attention output [batch, pos, d_model], before any post norm, into tensor `out` when given. */
  const attention = (x: AttnInput, b: BlockParams, l: number, p: string, out?: string): string => {
    let [q, k, v] = projectQkv(x, b, p);
    if (b.qNorm && b.kNorm && c.qkNormOverProjection) {
      // OLMo 2: RMSNorm over the whole projection (the heads flattened again), after hook_q / hook_k and before rotary.
      const whole = (x: string, n: BlockParams['ln1'], heads: number, prefix: string) =>
        g.op('Reshape', [norm(g.op('Reshape', [x, g.constI([0, 0, heads * dh])]), n, prefix), headsShape(heads)]);
      q = whole(q, b.qNorm, h, p + 'attn.q_norm');
      k = whole(k, b.kNorm, kv, p + 'attn.k_norm');
    } else if (b.qNorm && b.kNorm) {
      // Qwen3: RMSNorm over each head's d_head, after hook_q / hook_k and before rotary.
      q = norm(q, b.qNorm, p + 'attn.q_norm');
      k = norm(k, b.kNorm, p + 'attn.k_norm');
    }
    const rot = rotaryOf(l);
    if (rot) {
      q = hook(p + 'attn.hook_rot_q', (o) => applyRotary(ctx, q, rot.tables, rot.dims, dh, o));
      k = hook(p + 'attn.hook_rot_k', (o) => applyRotary(ctx, k, rot.tables, rot.dims, dh, o));
    }
    const qT = g.op('Transpose', [q], { perm: [0, 2, 1, 3] }); // [batch, head, pos, d_head]
    const kT = repeatKv(g.op('Transpose', [k], { perm: [0, 2, 3, 1] }), [dh, -1]); // [batch, head, d_head, pos]
    const vT = repeatKv(g.op('Transpose', [v], { perm: [0, 2, 1, 3] }), [-1, dh]); // [batch, head, pos, d_head]
    let scale = c.queryPreAttnScalar ? c.queryPreAttnScalar ** -0.5 : c.scaleAttnWeights ? 1 / Math.sqrt(dh) : 1;
    if (c.scaleAttnByInverseLayerIdx) scale /= l + 1;
    const qk = g.op('MatMul', [qT, kT]); // [batch, head, query_pos, key_pos]
    const scaled = scale === 1 ? qk : g.op('Mul', [qk, g.constF([scale], [])]);
    // Gemma 2: tanh(s / cap) * cap, before the mask.
    const raw = c.attnSoftcap ? g.op('Mul', [g.op('Tanh', [g.op('Div', [scaled, g.constF([c.attnSoftcap], [])])]), g.constF([c.attnSoftcap], [])]) : scaled;
    const scores = hook(p + 'attn.hook_attn_scores', (o) => g.op('Where', [masks.get(c.attnWindows[l]), raw, minusInf], {}, o));
    const pattern = hook(p + 'attn.hook_pattern', (o) => g.op('Softmax', [scores], { axis: -1 }, o));
    const z = hook(p + 'attn.hook_z', (o) => g.op('Transpose', [g.op('MatMul', [pattern, vT])], { perm: [0, 2, 1, 3] }, o)); // [batch, pos, head, d_head]
    const zFlat = () => g.op('Reshape', [z, g.constI([0, 0, h * dh])]); // [batch, pos, head * d_head]
    if (!variant.attnResult) return ctx.linear(zFlat(), b.out, out); // [batch, pos, d_model]
    const wO = b.out.layout === 'in-out'
      ? g.op('Reshape', [ctx.W(b.out.w), g.constI([h, dh, d])])
      : g.op('Transpose', [g.op('Reshape', [ctx.W(b.out.w), g.constI([d, h, dh])])], { perm: [1, 2, 0] }); // [head, d_head, d_model]
    const zT = g.op('Transpose', [z], { perm: [0, 2, 1, 3] }); // [batch, head, pos, d_head]
    const result = hook(p + 'attn.hook_result', (o) => g.op('Transpose', [g.op('MatMul', [zT, wO])], { perm: [0, 2, 1, 3] }, o)); // [batch, pos, head, d_model]
    edges?.addSources(result, h);
    if (!hg.has(p + 'attn.hook_result') && !hg.wantsGrad(p + 'attn.hook_result')) return ctx.linear(zFlat(), b.out, out);
    // With an intervention on the per-head results, or their gradient asked for, the attention output is their sum (as TransformerLens).
    const sum = g.op('ReduceSum', [result, g.constI([2])], { keepdims: 0 }, b.out.b ? undefined : out);
    return b.out.b ? g.op('Add', [sum, ctx.W(b.out.b)], {}, out) : sum;
  };

  /** The MLP output [batch, pos, d_model], before any post norm, into tensor `out` when given. */
  const mlp = (x: string, b: BlockParams, p: string, out?: string): string => {
    let post: string;
    if (b.mlpGate) {
      const gate = hook(p + 'mlp.hook_pre', (o) => ctx.linear(x, b.mlpGate!, o)); // [batch, pos, d_mlp]
      const linear = hook(p + 'mlp.hook_pre_linear', (o) => ctx.linear(x, b.mlpIn, o));
      post = hook(p + 'mlp.hook_post', (o) => g.op('Mul', [activation(g, c.act, gate), linear], {}, o));
    } else {
      const pre = hook(p + 'mlp.hook_pre', (o) => ctx.linear(x, b.mlpIn, o)); // [batch, pos, d_mlp]
      post = hook(p + 'mlp.hook_post', (o) => activation(g, c.act, pre, o));
    }
    return ctx.linear(post, b.mlpOut, out); // [batch, pos, d_model]
  };

  /** hook_attn_out: the attention output, after ln1_post with sandwich norms (what is added to the residual stream). */
  const attnOut = (x: AttnInput, b: BlockParams, l: number, p: string): string => hook(p + 'hook_attn_out', (o) =>
    c.sandwichNorms ? norm(attention(x, b, l, p), b.ln1Post!, p + 'ln1_post', o) : attention(x, b, l, p, o));
  /** hook_mlp_out: the MLP output, after ln2_post with sandwich norms. */
  const mlpOut = (x: string, b: BlockParams, p: string): string => hook(p + 'hook_mlp_out', (o) =>
    c.sandwichNorms ? norm(mlp(x, b, p), b.ln2Post!, p + 'ln2_post', o) : mlp(x, b, p, o));

  /**
   * What attention reads from resid [batch, pos, d_model]: ln1 of it (none with post norms), or with the
   * layer split hook_q_input / hook_k_input / hook_v_input, each normalised on its own (ln1's hooks then observe
   * the norm of resid itself).
   */
  const attnInput = (resid: string, b: BlockParams, p: string): AttnInput => {
    const normed = (x: string) => (c.postNorms ? x : plainNorm(ctx, c.normalization, c.lnEps, x, b.ln1));
    const l = Number(p.split('.')[1]);
    if (!split(l)) return c.postNorms ? resid : norm(resid, b.ln1, p + 'ln1');
    if (!c.postNorms) norm(resid, b.ln1, p + 'ln1');
    // Edge ablation: q heads, then k and v key/value heads, each its residual minus its ablated edges' corrections.
    const corr = edges?.correction(`${l}.attn`, h + 2 * kv, sourcesBefore(l)); // [batch, pos, h + 2 kv, d_model]
    const bounds = [0, h, h + kv, h + 2 * kv];
    const parts = (['q', 'k', 'v'] as const).map((part, i) => normed(hook(`${p}hook_${part}_input`, (o) => {
      const heads = i === 0 ? h : kv;
      if (!corr) return perHeadCopy(ctx, resid, heads, o);
      const mine = g.op('Slice', [corr, g.constI([bounds[i]]), g.constI([bounds[i + 1]]), g.constI([2])]); // [batch, pos, heads, d_model]
      return g.op('Sub', [g.op('Unsqueeze', [resid, g.constI([2])]), mine], {}, o);
    })));
    return parts as [string, string, string];
  };
  /**
   * What the MLP of layer l reads: x, or with layer l split hook_mlp_in, a copy of it (with edge ablation,
   * minus its ablated edges' correction; the layer's own heads are sources unless attention and MLP are parallel).
   */
  const mlpInput = (x: string, l: number): string => {
    if (!split(l)) return x;
    const corr = edges?.correction(`${l}.mlp`, 1, sourcesBefore(l) + (c.parallelAttnMlp ? 0 : h)); // [batch, pos, 1, d_model]
    return hook(`blocks.${l}.hook_mlp_in`, (o) => (corr ? g.op('Sub', [x, g.op('Squeeze', [corr, g.constI([2])])], {}, o) : g.op('Identity', [x], {}, o)));
  };
  /** An MLP output as an edge source. */
  const mlpSource = (out: string): string => {
    edges?.addSources(g.op('Unsqueeze', [out, g.constI([2])]), 1);
    return out;
  };

  /** resid_post of layer l from its sum; the last one is the logits' input: with edge ablation, minus its ablated edges' correction. */
  const residPost = (l: number, sum: (out?: string) => string, out: string): string => {
    if (!edges || l !== c.nLayers - 1) return sum(out);
    return g.op('Sub', [sum(), g.op('Squeeze', [edges.correction('logits', 1, sourcesBefore(c.nLayers)), g.constI([2])])], {}, out);
  };

  for (let l = start; l < c.nLayers; l++) {
    const b = w.blocks[l];
    const p = `blocks.${l}.`;
    if (l > 0 || variant.startLayer !== undefined) resid = hg.alias(p + 'hook_resid_pre', resid);
    if (c.postNorms) {
      // OLMo 2: x + ln1(attn(x)), then x + ln2(mlp(x)); hook_attn_out / hook_mlp_out are before the norms.
      const added = norm(attnOut(attnInput(resid, b, p), b, l, p), b.ln1, p + 'ln1');
      const pre = resid;
      const mid = hook(p + 'hook_resid_mid', (o) => g.op('Add', [pre, added], {}, o));
      const mlpAdded = norm(mlpOut(mlpInput(mid, l), b, p), b.ln2, p + 'ln2');
      resid = hook(p + 'hook_resid_post', (o) => g.op('Add', [mid, mlpAdded], {}, o));
      continue;
    }
    const attended = attnOut(attnInput(resid, b, p), b, l, p);
    if (c.parallelAttnMlp) {
      // GPT-NeoX: attention and MLP both read resid_pre; no resid_mid.
      const mlpAdded = mlpSource(mlpOut(norm(mlpInput(resid, l), b.ln2, p + 'ln2'), b, p));
      const pre = resid;
      resid = hook(p + 'hook_resid_post', (o) => residPost(l, (out) => g.op('Add', [g.op('Add', [attended, mlpAdded]), pre], {}, out), o));
    } else {
      const mid = hook(p + 'hook_resid_mid', (o) => g.op('Add', [resid, attended], {}, o));
      const mlpAdded = mlpSource(mlpOut(norm(mlpInput(mid, l), b.ln2, p + 'ln2'), b, p));
      resid = hook(p + 'hook_resid_post', (o) => residPost(l, (out) => g.op('Add', [mid, mlpAdded], {}, out), o));
    }
  }

  const xf = normalize(ctx, hg, c.normalization, c.lnEps, resid, w.finalNorm, 'ln_final'); // [batch, pos, d_model]
  hg.logits(xf, ctx.W(w.unembed), d, c.dVocab, w.unembedBias && ctx.W(w.unembedBias), c.finalLogitSoftcap);
  emitHookGradients(hg, variant, c.dVocab);
  hg.declareOutputs();
  return g.build(c.architecture, OPSET);
}
