/**
 * What the editor and the CLI ask of the runner in the worker thread. Requests name models, prompts,
 * analyses and slices of kept runs; graph variants, ONNX output names and tensors of whole runs are
 * the worker's business. Every request and reply is plain data (typed arrays with shapes for tensors).
 */
import type { AnalysisOutput } from './analysis';
import type { FeaturesResult } from './features';
import type { AttentionSlice, HeadWindow, HeadWindowRequest, LogitLensSlice, PanelToken, PanelView } from './panels';
import type { TensorData } from './tensor';
import type { WeightProcessing } from './processing';
import type { FeatureActsParams, FeatureCard, FeatureCardParams, FeatureLogits, FeatureLogitsParams, FeaturesSlice, FeaturesSliceRequest, FeaturesTopParams } from './features';

export type Backend = 'cpu' | 'cuda';
export type BackendPreference = Backend | 'auto';

/** A model as the user named it: a bundled name, a folder, `models--ORG--NAME` or ORG/NAME. */
export interface ModelRef {
  ref: string;
  /** Folder a relative path is taken from (the spec's folder, or the CLI's working directory). */
  baseDir?: string;
  /** TransformerLens' weight processing to apply when loading (default: none, Hugging Face's numbers). */
  processing?: WeightProcessing;
  /** Sparse dictionaries attached at hook points: their hooks join the model's (`<hook>.hook_sae_acts_post`, ...). */
  saes?: SaeRef[];
}

/** A dictionary to attach: a folder or ORG/NAME/SUBFOLDER (relative to baseDir), its hook when the files do not name it. */
export interface SaeRef {
  path: string;
  /** Folder a relative path is taken from, when not the model's (a spec's folder, with the model given elsewhere). */
  baseDir?: string;
  hook?: string;
  /** 'observe' (default): the forward is unchanged; 'splice': the model continues with the reconstruction. */
  mode?: 'observe' | 'splice';
}

/** An attached dictionary as loaded: what its files said, and where it sits. */
export interface AttachedSaeInfo {
  dir: string;
  format: string;
  kind: string;
  architecture: string;
  dIn: number;
  dSae: number;
  dOut: number;
  hook: string;
  /** A transcoder's output hook. */
  hookOut?: string;
  hookSource: 'config' | 'folder' | 'user';
  mode: 'observe' | 'splice';
  notes: string[];
}

/** A limit the user set, with the name they set it by (a setting in the editor, a flag in the CLI). */
export interface Limit {
  value: number;
  name: string;
}

export interface RunnerConfig {
  /** The bundled models' folder (media/models), for names such as `demo`. */
  bundledModelsDir: string;
  /** False in Restricted Mode: only the bundled models' tokenizers are loaded, and nothing runs. */
  trusted: boolean;
  backend: BackendPreference;
  /** The text the self-check samples besides a spec's prompts; default: sae-sample.txt beside the bundled models' folder. */
  saeSample?: string;
  /** Intra-op threads; default: cores minus one, at least one. */
  threads?: number;
  /** Bytes of activations and logits one run may hold. */
  cacheBytes?: Limit;
  /** Tokens (BOS included) a prompt may have. */
  promptTokens?: Limit;
  /** Bytes all kept runs may hold together; the oldest go first. */
  keptBytes: number;
}

export type DimInfo = number | 'batch' | 'pos';

export interface HookInfo {
  name: string;
  /** TransformerLens shape, batch first. */
  shape: DimInfo[];
  /** Computed only when asked for (per-head results). */
  needsAttnResult?: boolean;
}

/** A model's TransformerLens dimensions (the engine's ModelConfig has them too). */
export interface ModelDims {
  /** config.json's model_type ('gpt2', 'gpt_neox', 'llama', 'mistral', 'qwen2', 'qwen3', 'olmo2', 'phi3', 'gemma2', 'gemma3_text', 'gemma3', 'gpt_neo', ...). */
  modelType: string;
  nLayers: number;
  dModel: number;
  nHeads: number;
  /** Key/value heads: fewer than nHeads with grouped-query attention (hook_k and hook_v have this many). */
  nKvHeads: number;
  dHead: number;
  dMlp: number;
  nCtx: number;
  dVocab: number;
}

/** Everything the editor and the CLI know of a model: read from its small files, no session needed. */
export interface ModelFacts extends ModelDims {
  /** What the user named, resolved: the checkpoint folder. */
  dir: string;
  name: string;
  family: string;
  tiedUnembedding: boolean;
  /** False when the checkpoint has no tokenizer files, or its tokenizer may not load (Restricted Mode). */
  hasTokenizer: boolean;
  hooks: HookInfo[];
}

export interface LoadedModel extends ModelFacts {
  backend: Backend;
  /** Why the preferred backend was not used, when it was not. */
  backendNote?: string;
  /** Wall time from reading the headers to a ready session. */
  loadMs: number;
  /** The weight processing in effect, in words ('unprocessed weights', 'TransformerLens processing', ...). */
  processing: string;
  /** Why an option asked for is off for this family, one line each. */
  processingNotes: string[];
  /** The dictionaries attached (ModelRef.saes), in order. */
  saes: AttachedSaeInfo[];
}

export interface Token extends PanelToken {
  id: number;
}

export type PromptInput = { text: string; bos?: boolean } | { ids: number[] };

export interface Prediction {
  id: number;
  text: string;
  prob: number;
  logit: number;
}

/** x' = x * keep + add at a hook point; keep and add broadcast to the hook's shape (batch first). */
export interface Intervention {
  hook: string;
  keep: TensorData;
  add: TensorData;
}

export interface SaeCheckParams {
  /** The model with the dictionaries to check attached (ModelRef.saes). */
  model: ModelRef;
  /** The sample: texts (BOS prepended) or token ids. */
  prompts: PromptInput[];
  /** Tokens per prompt at most, BOS included (longer prompts are cut); default min(context, 128). */
  maxTokens?: number;
}

/** One dictionary's self-check (src/engine/sae/self-check.ts). */
export interface SaeCheckInfo {
  hook: string;
  dir: string;
  prompts: number;
  stats: { n: number; fvu: number; cosine: number; l0: number; deadFraction: number };
  /** Next-token loss figures: always from `sae/check`; from the check on load only for a spliced dictionary. */
  loss?: { clean: number; spliced: number; zeroAblation: number; ceLossScore: number; lossIncrease: number };
  warnings: { metric: string; value: number; bar: number; message: string; likelyCause: string }[];
  /**
   * The check on load of a dictionary whose files name no model processing, on an unprocessed model:
   * its FVU on the model with TransformerLens' default processing, and whether that is clearly better.
   */
  processed?: { processing: string; fvu: number; recommended: boolean; message?: string };
  /** What the check left out, and why. */
  notes?: string[];
}

export interface TraceParams {
  model: ModelRef;
  input: PromptInput;
  /** Hook names or globs to cache (commas between globs). */
  hooks?: string;
  /** How many next-token predictions after the last token (default 10). */
  topK?: number;
  interventions?: Intervention[];
  /** Keep the run so slices can be read from it; the reply then has its run id. */
  keep?: boolean;
  /** Check the attached dictionaries on load (once per loaded dictionary) and reply with the figures. */
  checkSaes?: boolean;
  /**
   * Also the gradient of a metric at hook points (a backward pass): `metric` is `logit:ID`,
   * `logitdiff:ID1,ID2` or `loss`; `hooks`: names or globs (default: those of `hooks`). Kept runs serve
   * them as `hook` slices with `grad: true`.
   */
  grad?: { metric: string; hooks?: string };
}

export interface TraceResult {
  runId?: number;
  model: string;
  tokens: Token[];
  top: Prediction[];
  /** Cached hook points and their shapes. */
  hooks: { name: string; shape: number[] }[];
  /** With checkSaes: the attached dictionaries' self-checks. */
  saeChecks?: SaeCheckInfo[];
  /** With `grad`: the hook points with a gradient and their shapes, and the run's metric. */
  grads?: { name: string; shape: number[] }[];
  metric?: number;
  runMs: number;
}

export interface AnalysisParams {
  /** The spec's text and where it is (for relative model paths and messages). */
  spec: { text: string; path: string };
  /** Index in the spec's `analyses`. */
  analysis: number;
  /** A model that overrides the spec's own (the CLI's --model). */
  model?: ModelRef;
  /** The model when the spec names none (the editor's circuitLens.defaultModel); default `demo`. */
  defaultModel?: string;
  /** Weight processing that overrides the spec's `processing` (the CLI's --processing). */
  processing?: WeightProcessing;
}

/** The token-level view of a traced spec prompt that the editor shows inline. */
export interface TokenInsight {
  pos: number;
  text: string;
  start: number;
  end: number;
  /** Next-token predictions after this token. */
  next: { text: string; prob: number }[];
  /** The lens's top token at this position, per residual component. */
  trajectory: { label: string; top: { text: string; prob: number } }[];
  /** The heads whose attention from this token is most concentrated on one earlier token. */
  heads: { layer: number; head: number; key: number; keyText: string; weight: number }[];
}

/** One value per prompt token, with the token's character range in the prompt. */
export interface TokenValues {
  /** What the values are ("attribution to logit difference ' God' - ' Israel'"). */
  label: string;
  tokens: { pos: number; text: string; start: number; end: number; value: number }[];
}

export interface AnalysisResult {
  runId: number;
  view: PanelView;
  /** The slice the panel of this analysis draws. */
  slice: Slice;
  /** The model's name, with the weight processing when there is any. */
  model: string;
  /** The weight processing in effect, in words, and why any option asked for is off. */
  processing: string;
  processingNotes: string[];
  title: string;
  kind: string;
  /** The prompt the analysis ran on (name and text), for inline views. */
  prompt: { name: string; text: string };
  /** For attention and logit-lens analyses: what the editor shows inline next to the prompt. */
  inline?: TokenInsight[];
  /** For a features analysis: the prompt's top features per token (the inline view shows each token's first). */
  features?: FeaturesResult;
  /** Per-token values an analysis puts next to its prompt in the spec (inputAttribution's attributions). */
  tokenValues?: TokenValues;
  /** The self-check of each attached dictionary (ModelRef.saes order), run once when it loaded. */
  saeChecks?: SaeCheckInfo[];
  ms: number;
}

/** What a panel (or the CLI) reads from a kept run. */
export type Slice =
  | { kind: 'attention'; layers?: number[]; focus?: { layer: number; head: number } }
  /** `target`: one token of the model (else refused, naming its tokens); `decompose`: the components' view (LensMode 'decomposed'). */
  | { kind: 'logitLens'; target?: string; topK?: number; decompose?: boolean }
  | { kind: 'output' }
  /**
   * One cached hook point, or part of it: `select[i]` picks index i's range [from, to) or one index of
   * dimension i (kept with size 1); absent or null: the whole dimension. For example one head's pattern
   * over tokens 0-511: `{hook: 'blocks.3.attn.hook_pattern', select: [0, 7, [0, 512], [0, 512]]}`.
   */
  | { kind: 'hook'; hook: string; select?: (number | [number, number] | null)[]; grad?: boolean }
  /** A window of one attention head, pooled to what the attention panel draws (HeadWindow). */
  | ({ kind: 'head' } & HeadWindowRequest)
  /** The token x feature table of one attached dictionary (src/protocol/features.ts). */
  | ({ kind: 'features' } & FeaturesSliceRequest);

export type SliceResult = AttentionSlice | LogitLensSlice | AnalysisOutput | TensorData | HeadWindow | FeaturesSlice;

export interface SpecCheckParams {
  spec: { text: string; path: string };
  defaultModel?: string;
}

export interface SpecProblemInfo {
  severity: 'error' | 'warning';
  message: string;
  range: { offset: number; length: number };
  suggestion?: string;
}

export interface NonFiniteTensorInfo {
  name: string;
  file: string;
  count: number;
  total: number;
}

/** Hook points the attention view reads: every pattern, and the scores for its signed view. */
export const ATTENTION_HOOKS = 'blocks.*.attn.hook_pattern,blocks.*.attn.hook_attn_scores';
/**
 * Hook points the logit lens reads: every residual stream point (resid_pre, resid_mid where the family
 * has it, resid_post), and for its decomposed view the embeddings, each attention and MLP output and the
 * final norm's scale. Globs that match in every family (rotary models have no hook_pos_embed).
 */
export const LOGIT_LENS_HOOKS = 'hook_*embed,blocks.*.hook_resid_*,blocks.*.hook_*_out,ln_final.hook_scale';
/** Hook points the attention and logit-lens views read. */
export const VIEW_HOOKS = `${ATTENTION_HOOKS},${LOGIT_LENS_HOOKS}`;

export type CandidateKind = 'bundled' | 'workspace' | 'setting' | 'hub';

/** A model a user can pick, found without loading any. */
export interface ModelCandidate {
  kind: CandidateKind;
  /** A bundled name, an absolute folder or ORG/NAME. */
  ref: string;
  label: string;
  detail: string;
}

export interface Progress {
  message: string;
  done?: number;
  total?: number;
}

/** The runner's methods (the worker answers them; the client asks). */
export type RunnerMethods = {
  configure: { params: RunnerConfig; result: void };
  'model/facts': { params: { model: ModelRef; hooks?: string }; result: ModelFacts };
  'model/load': { params: { model: ModelRef }; result: LoadedModel; event: Progress };
  /** NaN and infinite weights of a loaded model: answered when the background scan ends. */
  'model/scan': { params: { model: ModelRef }; result: { found: NonFiniteTensorInfo[]; message?: string } };
  tokenize: { params: { model: ModelRef; input: PromptInput }; result: Token[] };
  trace: { params: TraceParams; result: TraceResult; event: Progress };
  /** Runs each attached dictionary on a sample: reconstruction figures, loss recovered, mis-load warnings. */
  'sae/check': { params: SaeCheckParams; result: SaeCheckInfo[]; event: Progress };
  'analysis/run': { params: AnalysisParams; result: AnalysisResult; event: Progress };
  /** A spec's problems that depend on its model (layers, hooks, token counts); parse problems included. */
  'spec/check': { params: SpecCheckParams; result: SpecProblemInfo[] };
  'run/slice': { params: { runId: number; slice: Slice }; result: SliceResult };
  /** One more holder of a kept run (a second panel showing it); each holder releases once. */
  'run/hold': { params: { runId: number }; result: void };
  'run/release': { params: { runId: number }; result: void };
  'models/list': { params: { workspaceRoots: string[]; searchPaths: string[] }; result: ModelCandidate[] };
  'runs/usage': { params: Record<string, never>; result: { runs: number; bytes: number } };
  /** Traces a prompt with dictionaries attached and keeps it: the token x feature table and the run's id. */
  'features/top': { params: FeaturesTopParams; result: FeaturesSlice & { runId: number }; event: Progress };
  /** One feature of a kept features/top run: activation over its prompt, logits, index entry, label. */
  'features/card': { params: FeatureCardParams; result: FeatureCard };
  /** Top and bottom logits (W_dec[f] @ W_U) of a few features of a kept run's dictionary. */
  'features/logits': { params: FeatureLogitsParams; result: FeatureLogits[] };
  /** hook_sae_acts_post of token windows ([windows, pos, d_sae]), for `circuit-lens features index`. */
  'features/acts': { params: FeatureActsParams; result: TensorData; event: Progress };
  /** A corpus text's token ids with no BOS and no context check (it is cut into windows afterwards). */
  'corpus/tokenize': { params: { model: ModelRef; text: string }; result: Int32Array };
};
