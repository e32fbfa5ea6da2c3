/**
 * The instrumented GPT-2 graph: the model of Hugging Face's GPT2LMHeadModel (TransformerLens'
 * from_pretrained_no_processing: no folded layer norms, no centering), with every TransformerLens hook
 * point a named graph output and optional interventions (see hooked-graph.ts). Weights stay in the
 * safetensors file as external data.
 */
import { GraphBuilder } from '../graph/builder';
import { GraphVariant, HookedGraph, START_INPUT } from '../graph/hooked-graph';
import type { ModelConfig } from '../config';
import { gpt2HookPoints } from '../hooks';
import type { Gpt2Weights, WeightRef } from './weights';
import { weightInput } from './weight-input';

/** Opset 17: LayerNormalization with its Mean/InvStdDev outputs. */
const OPSET = 17;

export function buildGpt2Graph(c: ModelConfig, w: Gpt2Weights, variant: GraphVariant): Uint8Array {
  const g = new GraphBuilder();
  const hg = new HookedGraph(g, gpt2HookPoints(c), variant);
  const hook = hg.hook.bind(hg);
  const { dModel: d, nHeads: h, dHead: dh } = c;

  const cache = new Map<string, string>();
  const W = (ref: WeightRef): string => {
    let name = cache.get(ref.name);
    if (!name) cache.set(ref.name, (name = weightInput(g, ref)));
    return name;
  };

  const start = variant.startLayer ?? 0;
  let resid: string;
  let posLen: string;
  if (variant.startLayer === undefined) {
    const ids = g.input('input_ids', 'int64', ['batch', 'pos']); // [batch, pos]
    posLen = g.op('Shape', [ids], { start: 1, end: 2 }); // [1] = (pos)
    const embed = hook('hook_embed', (o) => g.op('Gather', [W(w.wte), ids], { axis: 0 }, o)); // [batch, pos, d_model]
    const posRows = g.op('Slice', [W(w.wpe), g.constI([0]), posLen, g.constI([0])]); // [pos, d_model]
    const posEmbed = hook('hook_pos_embed', (o) => g.op('Expand', [posRows, g.op('Shape', [embed])], {}, o)); // [batch, pos, d_model]
    resid = hook('blocks.0.hook_resid_pre', (o) => g.op('Add', [embed, posEmbed], {}, o)); // [batch, pos, d_model]
  } else {
    resid = g.input(START_INPUT, 'float', ['batch', 'pos', d]); // blocks.start.hook_resid_pre
    posLen = g.op('Shape', [resid], { start: 1, end: 2 });
  }

  // Causal mask, shared by all layers: true on and below the diagonal.
  const square = g.op('Concat', [posLen, posLen], { axis: 0 });
  const ones = g.op('ConstantOfShape', [square], { value: { tensor: { dataType: 1, dims: [1], floatData: [1] } } });
  const causal = g.op('Cast', [g.op('Trilu', [ones], { upper: 0 })], { to: 9 }); // [pos, pos] bool
  const minusInf = g.constF([-Infinity], []);

  /** LayerNorm with TransformerLens' hook_scale (sqrt(var + eps), [batch, pos, 1]) and hook_normalized. */
  const layerNorm = (x: string, wRef: WeightRef, bRef: WeightRef, prefix: string): string => {
    const invStd = g.tmp('invstd');
    const y = hook(`${prefix}.hook_normalized`, (o) =>
      g.op('LayerNormalization', [x, W(wRef), W(bRef)], { axis: -1, epsilon: { floatValue: c.lnEps } }, [o, g.tmp('mean'), invStd]));
    hook(`${prefix}.hook_scale`, (o) => g.op('Reciprocal', [invStd], {}, o)); // [batch, pos, 1]
    return y;
  };
  const linear = (x: string, wRef: WeightRef, bRef: WeightRef, out?: string): string => g.op('Add', [g.op('MatMul', [x, W(wRef)]), W(bRef)], {}, out);

  const activation = (x: string, out: string): string => {
    if (c.act === 'relu') return g.op('Relu', [x], {}, out);
    if (c.act === 'gelu') {
      // 0.5 x (1 + erf(x / sqrt 2)); onnxruntime fuses it into Gelu.
      const e = g.op('Erf', [g.op('Div', [x, g.constF([Math.SQRT2], [])])]);
      return g.op('Mul', [g.op('Mul', [x, g.op('Add', [e, g.constF([1], [])])]), g.constF([0.5], [])], {}, out);
    }
    // gelu_new: 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))); onnxruntime fuses it into FastGelu.
    const cube = g.op('Pow', [x, g.constF([3], [])]);
    const inner = g.op('Mul', [g.op('Add', [x, g.op('Mul', [cube, g.constF([0.044715], [])])]), g.constF([Math.sqrt(2 / Math.PI)], [])]);
    const t = g.op('Add', [g.op('Tanh', [inner]), g.constF([1], [])]);
    return g.op('Mul', [g.op('Mul', [x, g.constF([0.5], [])]), t], {}, out);
  };

  const headsShape = g.constI([0, 0, h, dh]);
  const flatShape = g.constI([0, 0, d]);
  for (let l = start; l < c.nLayers; l++) {
    const b = w.blocks[l];
    const p = `blocks.${l}.`;
    if (l > 0 || variant.startLayer !== undefined) resid = hg.alias(p + 'hook_resid_pre', resid);
    const x1 = layerNorm(resid, b.ln1W, b.ln1B, p + 'ln1'); // [batch, pos, d_model]
    const qkv = linear(x1, b.attnW, b.attnB); // [batch, pos, 3 d_model]
    const [qf, kf, vf] = [g.tmp('q'), g.tmp('k'), g.tmp('v')];
    g.op('Split', [qkv, g.constI([d, d, d])], { axis: 2 }, [qf, kf, vf]);
    const q = hook(p + 'attn.hook_q', (o) => g.op('Reshape', [qf, headsShape], {}, o)); // [batch, pos, head, d_head]
    const k = hook(p + 'attn.hook_k', (o) => g.op('Reshape', [kf, headsShape], {}, o));
    const v = hook(p + 'attn.hook_v', (o) => g.op('Reshape', [vf, headsShape], {}, o));
    const qT = g.op('Transpose', [q], { perm: [0, 2, 1, 3] }); // [batch, head, pos, d_head]
    const kT = g.op('Transpose', [k], { perm: [0, 2, 3, 1] }); // [batch, head, d_head, pos]
    const vT = g.op('Transpose', [v], { perm: [0, 2, 1, 3] }); // [batch, head, pos, d_head]
    let scale = c.scaleAttnWeights ? 1 / Math.sqrt(dh) : 1;
    if (c.scaleAttnByInverseLayerIdx) scale /= l + 1;
    const raw = g.op('Mul', [g.op('MatMul', [qT, kT]), g.constF([scale], [])]); // [batch, head, query_pos, key_pos]
    const scores = hook(p + 'attn.hook_attn_scores', (o) => g.op('Where', [causal, raw, minusInf], {}, o));
    const pattern = hook(p + 'attn.hook_pattern', (o) => g.op('Softmax', [scores], { axis: -1 }, o));
    const z = hook(p + 'attn.hook_z', (o) => g.op('Transpose', [g.op('MatMul', [pattern, vT])], { perm: [0, 2, 1, 3] }, o)); // [batch, pos, head, d_head]
    let attnOut: string;
    if (variant.attnResult) {
      const zT = g.op('Transpose', [z], { perm: [0, 2, 1, 3] }); // [batch, head, pos, d_head]
      const wO = g.op('Reshape', [W(b.projW), g.constI([h, dh, d])]); // [head, d_head, d_model]
      const result = hook(p + 'attn.hook_result', (o) => g.op('Transpose', [g.op('MatMul', [zT, wO])], { perm: [0, 2, 1, 3] }, o)); // [batch, pos, head, d_model]
      // With an intervention on the per-head results, the attention output is their sum (as TransformerLens).
      attnOut = hg.has(p + 'attn.hook_result')
        ? hook(p + 'hook_attn_out', (o) => g.op('Add', [g.op('ReduceSum', [result, g.constI([2])], { keepdims: 0 }), W(b.projB)], {}, o))
        : hook(p + 'hook_attn_out', (o) => linear(g.op('Reshape', [z, flatShape]), b.projW, b.projB, o));
    } else {
      attnOut = hook(p + 'hook_attn_out', (o) => linear(g.op('Reshape', [z, flatShape]), b.projW, b.projB, o)); // [batch, pos, d_model]
    }
    const mid = hook(p + 'hook_resid_mid', (o) => g.op('Add', [resid, attnOut], {}, o));
    const x2 = layerNorm(mid, b.ln2W, b.ln2B, p + 'ln2');
    const pre = hook(p + 'mlp.hook_pre', (o) => linear(x2, b.fcW, b.fcB, o)); // [batch, pos, d_mlp]
    const post = hook(p + 'mlp.hook_post', (o) => activation(pre, o));
    const mlpOut = hook(p + 'hook_mlp_out', (o) => linear(post, b.fcProjW, b.fcProjB, o)); // [batch, pos, d_model]
    resid = hook(p + 'hook_resid_post', (o) => g.op('Add', [mid, mlpOut], {}, o));
  }

  const xf = layerNorm(resid, w.lnFW, w.lnFB, 'ln_final'); // [batch, pos, d_model]
  hg.logits(xf, W(w.unembed), d, c.dVocab);
  hg.declareOutputs();
  return g.build('gpt2', OPSET);
}
