/**
 * config.json of a Hugging Face checkpoint, turned into the engine's model description with
 * TransformerLens' names (n_layers, d_model, n_heads, d_head, d_mlp, n_ctx, d_vocab).
 */
import * as fs from 'node:fs';
import { fail } from './errors';

export type Activation = 'gelu_new' | 'gelu' | 'relu';

/** Hugging Face activation names and the function each computes. */
const ACTIVATIONS: Readonly<Record<string, Activation>> = {
  gelu_new: 'gelu_new',
  gelu_pytorch_tanh: 'gelu_new',
  gelu_fast: 'gelu_new',
  gelu: 'gelu',
  relu: 'relu',
};

export interface ModelConfig {
  architecture: 'gpt2';
  nLayers: number;
  dModel: number;
  nHeads: number;
  dHead: number;
  dMlp: number;
  nCtx: number;
  dVocab: number;
  lnEps: number;
  act: Activation;
  /** Divide attention scores by sqrt(d_head) (GPT-2 `scale_attn_weights`). */
  scaleAttnWeights: boolean;
  /** Also divide layer L's scores by L + 1 (GPT-2 `scale_attn_by_inverse_layer_idx`). */
  scaleAttnByInverseLayerIdx: boolean;
  tieWordEmbeddings: boolean;
  bosTokenId: number | null;
}

const SUPPORTED = 'Supported: gpt2 (GPT-2, DistilGPT2 and other GPT2LMHeadModel checkpoints).';

export function readConfig(path: string): ModelConfig {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch {
    fail('NOT_FOUND', { file: path }, 'config.json not found.', 'Point --model at a Hugging Face checkpoint folder (config.json + model.safetensors).');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    fail('BAD_CONFIG', { file: path }, `not valid JSON (${(e as Error).message}).`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('BAD_CONFIG', { file: path }, 'not a JSON object.');
  return parseGpt2Config(raw as Record<string, unknown>, path);
}

export function parseGpt2Config(c: Record<string, unknown>, path: string): ModelConfig {
  const modelType = c.model_type;
  if (modelType !== 'gpt2') {
    fail('UNSUPPORTED', { file: path, field: 'model_type' }, `architecture ${JSON.stringify(modelType)} is not supported yet.`, SUPPORTED);
  }
  const int = (field: string, max: number, fallback?: number): number => {
    const v = c[field] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0 || v > max) {
      fail('BAD_CONFIG', { file: path, field }, `must be a positive integer up to ${max}, got ${JSON.stringify(c[field])}.`);
    }
    return v;
  };
  const bool = (field: string, fallback: boolean): boolean => {
    const v = c[field] ?? fallback;
    if (typeof v !== 'boolean') fail('BAD_CONFIG', { file: path, field }, `must be true or false, got ${JSON.stringify(v)}.`);
    return v;
  };
  const nLayers = int('n_layer', 1024);
  const dModel = int('n_embd', 1 << 16);
  const nHeads = int('n_head', 1024);
  if (dModel % nHeads !== 0) fail('BAD_CONFIG', { file: path, field: 'n_head' }, `n_embd ${dModel} is not divisible by n_head ${nHeads}.`);
  const nCtx = int('n_positions', 1 << 20);
  const dVocab = int('vocab_size', 1 << 24);
  const dMlp = c.n_inner == null ? 4 * dModel : int('n_inner', 1 << 20);
  const eps = c.layer_norm_epsilon ?? 1e-5;
  if (typeof eps !== 'number' || !(eps > 0) || eps > 1) fail('BAD_CONFIG', { file: path, field: 'layer_norm_epsilon' }, `must be a number in (0, 1], got ${JSON.stringify(eps)}.`);
  const actName = c.activation_function ?? 'gelu_new';
  const act = typeof actName === 'string' ? ACTIVATIONS[actName] : undefined;
  if (!act) {
    fail('UNSUPPORTED', { file: path, field: 'activation_function' }, `${JSON.stringify(actName)} is not supported.`, `Supported: ${Object.keys(ACTIVATIONS).join(', ')}.`);
  }
  const bos = c.bos_token_id;
  return {
    architecture: 'gpt2',
    nLayers,
    dModel,
    nHeads,
    dHead: dModel / nHeads,
    dMlp,
    nCtx,
    dVocab,
    lnEps: eps,
    act,
    scaleAttnWeights: bool('scale_attn_weights', true),
    scaleAttnByInverseLayerIdx: bool('scale_attn_by_inverse_layer_idx', false),
    tieWordEmbeddings: bool('tie_word_embeddings', true),
    bosTokenId: typeof bos === 'number' && Number.isInteger(bos) && bos >= 0 && bos < dVocab ? bos : null,
  };
}
