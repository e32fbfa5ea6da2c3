/**
 * The instrumented GPT-2 graph: the model of Hugging Face's GPT2LMHeadModel (TransformerLens'
 * from_pretrained_no_processing: no folded layer norms, no centering), with every TransformerLens hook
 * point a named graph output. Weights stay in the safetensors file as external data.
 */
import { GraphBuilder } from '../onnx/builder';
import type { ModelConfig } from '../config';
import { gpt2HookPoints } from '../hooks';
import type { Gpt2Weights, WeightRef } from './weights';
import { weightInput } from './weight-input';

export interface GraphOptions {
  /** Also compute `attn.hook_result` (per-head outputs, [batch, pos, head, d_model]); costs one more matmul per layer. */
  attnResult: boolean;
}

/** Opset 17: LayerNormalization with its Mean/InvStdDev outputs. */
const OPSET = 17;

export function buildGpt2Graph(c: ModelConfig, w: Gpt2Weights, opts: GraphOptions): Uint8Array {
  const g = new GraphBuilder();
  const { dModel: d, nHeads: h, dHead: dh } = c;

  const cache = new Map<string, string>();
  const W = (ref: WeightRef): string => {
    let name = cache.get(ref.name);
    if (!name) cache.set(ref.name, (name = weightInput(g, ref)));
    return name;
  };

  const ids = g.input('input_ids', 'int64', ['batch', 'pos']); // [batch, pos]
  const idsShape = g.op('Shape', [ids]); // [2] = (batch, pos)
  const posLen = g.op('Shape', [ids], { start: 1, end: 2 }); // [1] = (pos)

  // Embeddings.
  const embed = g.op('Gather', [W(w.wte), ids], { axis: 0 }, 'hook_embed'); // [batch, pos, d_model]
  const posRows = g.op('Slice', [W(w.wpe), g.constI([0]), posLen, g.constI([0])]); // [pos, d_model]
  const posEmbed = g.op('Expand', [posRows, g.op('Shape', [embed])], {}, 'hook_pos_embed'); // [batch, pos, d_model]
  let resid = g.op('Add', [embed, posEmbed], {}, 'blocks.0.hook_resid_pre'); // [batch, pos, d_model]

  // Causal mask, shared by all layers: true on and below the diagonal.
  const square = g.op('Concat', [posLen, posLen], { axis: 0 });
  const ones = g.op('ConstantOfShape', [square], { value: { tensor: { dataType: 1, dims: [1], floatData: [1] } } });
  const causal = g.op('Cast', [g.op('Trilu', [ones], { upper: 0 })], { to: 9 }); // [pos, pos] bool
  const minusInf = g.constF([-Infinity], []);

  /** LayerNorm with TransformerLens' hook_scale (sqrt(var + eps), [batch, pos, 1]) and hook_normalized. */
  const layerNorm = (x: string, wRef: WeightRef, bRef: WeightRef, prefix: string): string => {
    const invStd = g.tmp('invstd');
    const y = g.op('LayerNormalization', [x, W(wRef), W(bRef)], { axis: -1, epsilon: { floatValue: c.lnEps } }, [`${prefix}.hook_normalized`, g.tmp('mean'), invStd]);
    g.op('Reciprocal', [invStd], {}, `${prefix}.hook_scale`); // [batch, pos, 1]
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
  for (let l = 0; l < c.nLayers; l++) {
    const b = w.blocks[l];
    const p = `blocks.${l}.`;
    const x1 = layerNorm(resid, b.ln1W, b.ln1B, p + 'ln1'); // [batch, pos, d_model]
    const qkv = linear(x1, b.attnW, b.attnB); // [batch, pos, 3 d_model]
    const [qf, kf, vf] = [g.tmp('q'), g.tmp('k'), g.tmp('v')];
    g.op('Split', [qkv, g.constI([d, d, d])], { axis: 2 }, [qf, kf, vf]);
    const q = g.op('Reshape', [qf, headsShape], {}, p + 'attn.hook_q'); // [batch, pos, head, d_head]
    const k = g.op('Reshape', [kf, headsShape], {}, p + 'attn.hook_k');
    const v = g.op('Reshape', [vf, headsShape], {}, p + 'attn.hook_v');
    const qT = g.op('Transpose', [q], { perm: [0, 2, 1, 3] }); // [batch, head, pos, d_head]
    const kT = g.op('Transpose', [k], { perm: [0, 2, 3, 1] }); // [batch, head, d_head, pos]
    const vT = g.op('Transpose', [v], { perm: [0, 2, 1, 3] }); // [batch, head, pos, d_head]
    let scale = c.scaleAttnWeights ? 1 / Math.sqrt(dh) : 1;
    if (c.scaleAttnByInverseLayerIdx) scale /= l + 1;
    const raw = g.op('Mul', [g.op('MatMul', [qT, kT]), g.constF([scale], [])]); // [batch, head, query_pos, key_pos]
    const scores = g.op('Where', [causal, raw, minusInf], {}, p + 'attn.hook_attn_scores');
    const pattern = g.op('Softmax', [scores], { axis: -1 }, p + 'attn.hook_pattern');
    const zT = g.op('MatMul', [pattern, vT]); // [batch, head, pos, d_head]
    const z = g.op('Transpose', [zT], { perm: [0, 2, 1, 3] }, p + 'attn.hook_z'); // [batch, pos, head, d_head]
    if (opts.attnResult) {
      const wO = g.op('Reshape', [W(b.projW), g.constI([h, dh, d])]); // [head, d_head, d_model]
      const perHead = g.op('MatMul', [zT, wO]); // [batch, head, pos, d_model]
      g.op('Transpose', [perHead], { perm: [0, 2, 1, 3] }, p + 'attn.hook_result'); // [batch, pos, head, d_model]
    }
    const attnOut = linear(g.op('Reshape', [z, flatShape]), b.projW, b.projB, p + 'hook_attn_out'); // [batch, pos, d_model]
    const mid = g.op('Add', [resid, attnOut], {}, p + 'hook_resid_mid');
    const x2 = layerNorm(mid, b.ln2W, b.ln2B, p + 'ln2');
    const pre = linear(x2, b.fcW, b.fcB, p + 'mlp.hook_pre'); // [batch, pos, d_mlp]
    const post = activation(pre, p + 'mlp.hook_post');
    const mlpOut = linear(post, b.fcProjW, b.fcProjB, p + 'hook_mlp_out'); // [batch, pos, d_model]
    resid = g.op('Add', [mid, mlpOut], {}, p + 'hook_resid_post');
  }

  const xf = layerNorm(resid, w.lnFW, w.lnFB, 'ln_final'); // [batch, pos, d_model]
  // Unembedding as Gemm(x, W_U^T) on a 2-D view: MatMul with a Transpose would be folded into a second copy.
  const flat = g.op('Reshape', [xf, g.constI([-1, d])]); // [batch * pos, d_model]
  const logits2d = g.op('Gemm', [flat, W(w.unembed)], { transB: 1 }); // [batch * pos, d_vocab]
  g.op('Reshape', [logits2d, g.op('Concat', [idsShape, g.constI([c.dVocab])], { axis: 0 })], {}, 'logits');

  g.output('logits', 'float', ['batch', 'pos', c.dVocab]);
  for (const hook of gpt2HookPoints(c)) {
    if (hook.output !== hook.name) continue; // an alias of another output
    if (hook.needsAttnResult && !opts.attnResult) continue;
    g.output(hook.name, 'float', hook.shape);
  }
  return g.build('gpt2', OPSET);
}
