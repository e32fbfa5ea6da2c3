/**
 * Applies weight processing to a checkpoint's parameters, in memory, in TransformerLens' order
 * (load_and_process_state_dict): foldLn, centerWritingWeights, centerUnembed, foldValueBiases. Every
 * tensor the graphs read is held as fp32 in memory afterwards (onnxruntime takes a model's external data
 * either all from files or all from memory), each under its place in the parameters, so a tied
 * embedding and unembedding become two tensors, as in TransformerLens. Nothing is written to disk.
 */
import type { ModelConfig } from '../model-config';
import type { BlockParams, Linear, ModelParams, Norm, WeightRef } from '../params';
import type { WeightProcessing } from '../../protocol/processing';
import { readTensor, WeightSource } from '../weight-reader';
import { HeldLinear, centreColumns, centreOutput, centreRows, centreVector, foldNormInto } from './linear-math';

/** The location prefix of tensors held in memory (the names onnxruntime's in-memory external data uses). */
const MEMORY_PREFIX = 'circuit-lens-processed.';

export interface ProcessedParams {
  params: ModelParams;
  /** By WeightRef.location. */
  memory: Map<string, Float32Array>;
}

class Held {
  readonly memory = new Map<string, Float32Array>();

  constructor(private readonly source: WeightSource) {}

  read(ref: WeightRef): Float32Array {
    return readTensor(this.source, ref);
  }

  /** A WeightRef to `data` (fp32, `shape`), held under `slot`. */
  ref(slot: string, data: Float32Array, shape: number[]): WeightRef {
    const location = `${MEMORY_PREFIX}${slot}`;
    this.memory.set(location, data);
    return { name: `${slot} (processed)`, dtype: 'F32', shape, location, offset: 0, length: data.byteLength };
  }
}

function holdLinear(h: Held, l: Linear): HeldLinear {
  return { w: h.read(l.w), shape: l.w.shape as [number, number], layout: l.layout, b: l.b && h.read(l.b) };
}

function linearRef(h: Held, slot: string, l: HeldLinear): Linear {
  return { w: h.ref(`${slot}.w`, l.w, l.shape), layout: l.layout, ...(l.b ? { b: h.ref(`${slot}.b`, l.b, [l.b.length]) } : {}) };
}

/** The norm's effective weight (Gemma's w + 1) and bias. */
function normValues(h: Held, n: Norm): { scale: Float32Array; shift?: Float32Array } {
  const scale = h.read(n.w!);
  if (n.weightOffset) for (let i = 0; i < scale.length; i++) scale[i] += n.weightOffset;
  return { scale, shift: n.b && h.read(n.b) };
}

/** The linear maps that read a block's ln1 (queries, keys, values) and ln2 (the MLP's input and gate). */
interface HeldBlock {
  qkv: HeldLinear[];
  out: HeldLinear;
  mlpIn: HeldLinear;
  mlpGate?: HeldLinear;
  mlpOut: HeldLinear;
}

export function processParams(c: ModelConfig, params: ModelParams, source: WeightSource, o: WeightProcessing): ProcessedParams {
  const h = new Held(source);
  const layernorm = c.normalization === 'layernorm';
  const blocks: HeldBlock[] = params.blocks.map((b) => ({
    qkv: (b.qkv.kind === 'separate' ? [b.qkv.q, b.qkv.k, b.qkv.v] : [b.qkv.proj]).map((l) => holdLinear(h, l)),
    out: holdLinear(h, b.out),
    mlpIn: holdLinear(h, b.mlpIn),
    mlpGate: b.mlpGate && holdLinear(h, b.mlpGate),
    mlpOut: holdLinear(h, b.mlpOut),
  }));
  const embed = h.read(params.embed); // [d_vocab, d_model]
  const posEmbed = params.posEmbed && h.read(params.posEmbed); // [n_ctx, d_model]
  const unembed: HeldLinear = { w: h.read(params.unembed), shape: params.unembed.shape as [number, number], layout: 'out-in', b: params.unembedBias && h.read(params.unembedBias) }; // [d_vocab, d_model]

  if (o.foldLn) {
    // RMSNorm folds its weight only, and nothing is centred (TransformerLens' fold_biases=False, center_weights=False).
    params.blocks.forEach((b, l) => {
      const ln1 = normValues(h, b.ln1);
      for (const lin of blocks[l].qkv) foldNormInto(lin, ln1.scale, ln1.shift, layernorm);
      const ln2 = normValues(h, b.ln2);
      for (const lin of [blocks[l].mlpIn, blocks[l].mlpGate]) if (lin) foldNormInto(lin, ln2.scale, ln2.shift, layernorm);
    });
    const lnf = normValues(h, params.finalNorm);
    foldNormInto(unembed, lnf.scale, lnf.shift, layernorm);
  }
  if (o.centerWritingWeights) {
    centreRows(embed, c.dModel);
    if (posEmbed) centreRows(posEmbed, c.dModel);
    for (const b of blocks) for (const lin of [b.out, b.mlpOut]) centreOutput(lin);
  }
  if (o.centerUnembed) {
    // W_U minus its mean over the vocabulary: every logit moves by the same amount at each position.
    centreColumns(unembed.w, c.dModel); // [d_vocab, d_model]: each d_model column minus its mean over the tokens
    if (unembed.b) centreVector(unembed.b);
  }
  if (o.foldValueBiases) params.blocks.forEach((b, l) => foldValueBias(c, b, blocks[l]));

  const norm = (n: Norm, slot: string, folded: boolean): Norm => {
    if (folded) return {};
    return { ...(n.w ? { w: h.ref(`${slot}.w`, h.read(n.w), n.w.shape) } : {}), ...(n.b ? { b: h.ref(`${slot}.b`, h.read(n.b), n.b.shape) } : {}), ...(n.weightOffset ? { weightOffset: n.weightOffset } : {}) };
  };
  const out: ModelParams = {
    embed: h.ref('embed', embed, params.embed.shape),
    ...(posEmbed ? { posEmbed: h.ref('pos_embed', posEmbed, params.posEmbed!.shape) } : {}),
    blocks: params.blocks.map((b, l): BlockParams => {
      const p = `blocks.${l}`;
      const hb = blocks[l];
      const qkv: BlockParams['qkv'] = b.qkv.kind === 'separate'
        ? { kind: 'separate', q: linearRef(h, `${p}.q`, hb.qkv[0]), k: linearRef(h, `${p}.k`, hb.qkv[1]), v: linearRef(h, `${p}.v`, hb.qkv[2]) }
        : { kind: 'fused', order: b.qkv.order, proj: linearRef(h, `${p}.qkv`, hb.qkv[0]) };
      return {
        ...otherNorms(b, p, (n, slot) => norm(n, slot, false)),
        ln1: norm(b.ln1, `${p}.ln1`, o.foldLn),
        ln2: norm(b.ln2, `${p}.ln2`, o.foldLn),
        qkv,
        out: linearRef(h, `${p}.out`, hb.out),
        mlpIn: linearRef(h, `${p}.mlp_in`, hb.mlpIn),
        ...(hb.mlpGate ? { mlpGate: linearRef(h, `${p}.mlp_gate`, hb.mlpGate) } : {}),
        mlpOut: linearRef(h, `${p}.mlp_out`, hb.mlpOut),
      };
    }),
    finalNorm: norm(params.finalNorm, 'ln_final', o.foldLn),
    unembed: h.ref('unembed', unembed.w, params.unembed.shape),
    ...(unembed.b ? { unembedBias: h.ref('unembed.b', unembed.b, [unembed.b.length]) } : {}),
    tied: params.tied, // the checkpoint's; the processed embedding and unembedding are separate tensors
  };
  return { params: out, memory: h.memory };
}

/** A block's norms other than ln1 and ln2 (q/k norms, and any a family adds), copied as they are. */
function otherNorms(b: BlockParams, p: string, copy: (n: Norm, slot: string) => Norm): Partial<BlockParams> {
  const out: Record<string, Norm> = {};
  for (const [key, value] of Object.entries(b)) {
    if (key === 'ln1' || key === 'ln2' || !isNorm(value)) continue;
    out[key] = copy(value, `${p}.${key}`);
  }
  return out as Partial<BlockParams>;
}

function isNorm(v: unknown): v is Norm {
  if (typeof v !== 'object' || v === null || 'kind' in v || 'layout' in v) return false;
  const w = (v as Norm).w;
  return !!w && typeof w.location === 'string';
}

/**
 * b_O += sum over heads and d_head of b_V W_O, then b_V = 0: each head's value bias is passed through
 * unchanged by attention (the pattern sums to 1), so it can be added after the output projection. With
 * grouped-query attention, query head h reads key/value head floor(h / (n_heads / n_kv_heads)).
 */
function foldValueBias(c: ModelConfig, b: BlockParams, hb: HeldBlock): void {
  const { nHeads: nh, nKvHeads: kv, dHead: dh, dModel: d } = c;
  const vBias = valueBiasView(c, b, hb);
  if (!vBias) return;
  const out = hb.out;
  const bO = (out.b ??= new Float32Array(d));
  const group = nh / kv;
  for (let head = 0; head < nh; head++) {
    const kvHead = Math.floor(head / group);
    for (let e = 0; e < dh; e++) {
      const bv = vBias.get(kvHead, e);
      if (bv === 0) continue;
      const i = head * dh + e; // W_O's input: z flattened as [head, d_head]
      for (let j = 0; j < d; j++) bO[j] += bv * out.w[out.layout === 'in-out' ? i * d + j : j * out.shape[1] + i];
    }
  }
  vBias.zero();
}

/** The value bias of key/value head k, element e, wherever the layout keeps it. */
function valueBiasView(c: ModelConfig, b: BlockParams, hb: HeldBlock): { get(k: number, e: number): number; zero(): void } | undefined {
  const { nHeads: nh, dHead: dh } = c;
  if (b.qkv.kind === 'separate') {
    const bias = hb.qkv[2].b;
    return bias && { get: (k, e) => bias[k * dh + e], zero: () => bias.fill(0) };
  }
  const bias = hb.qkv[0].b;
  if (!bias) return undefined;
  // 'blocks': [q | k | v], each [head, d_head]; 'per-head' (GPT-NeoX): [head, (q | k | v), d_head].
  const index = b.qkv.order === 'blocks' ? (k: number, e: number) => 2 * nh * dh + k * dh + e : (k: number, e: number) => k * 3 * dh + 2 * dh + e;
  return {
    get: (k, e) => bias[index(k, e)],
    zero: () => {
      for (let k = 0; k < nh; k++) for (let e = 0; e < dh; e++) bias[index(k, e)] = 0;
    },
  };
}
