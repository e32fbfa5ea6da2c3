/**
 * The vocabulary of an experiment spec, declared once as plain data: every analysis kind, each field's
 * JSON type, options, default, bounds and the description a user sees in completion and hovers.
 *
 * Three things are built from it, so they cannot drift apart: the parser (parse.ts, circuit-kinds.ts
 * read options, defaults and bounds from here), the JSON schema in media/ (schema.ts, written by
 * tools/gen-schema.mjs), and the TypeScript types of the option values (PatchTarget, MetricName, ...).
 * This module imports nothing, so the analyses, the host and the schema generator can all read it.
 */

// ---------------------------------------------------------------------------------------------------
// Field declarations

interface FieldDoc {
  /** Shown in completion and hovers (the schema's "description"). */
  description?: string;
  /** A spec without it is an error. */
  required?: boolean;
}

export interface StringField extends FieldDoc {
  type: 'string';
  /** The value names one of the spec's prompts (or datasets); the parser checks that it exists. */
  refersTo?: 'prompt' | 'dataset';
  examples?: readonly string[];
}

export interface EnumField extends FieldDoc {
  type: 'enum';
  options: readonly string[];
  /** What the parser yields when the field is absent (or invalid). */
  default?: string;
  /** One description per option, in the order of `options` (VS Code shows them in completion). */
  optionDescriptions?: readonly string[];
}

export interface NumberField extends FieldDoc {
  type: 'integer' | 'number';
  minimum?: number;
  maximum?: number;
  /** What the parser yields when the field is absent (or out of bounds); none: the field stays undefined. */
  default?: number;
}

export interface BooleanField extends FieldDoc {
  type: 'boolean';
  default?: boolean;
}

export interface ArrayField extends FieldDoc {
  type: 'array';
  items: ItemField;
  minItems?: number;
  /** What the parser yields when the field is absent; none: the field stays undefined. */
  default?: readonly (string | number)[];
}

export interface ObjectField extends FieldDoc {
  type: 'object';
  fields: Fields;
}

/** A value that is one of several shapes (a prompt: a string, or an object). */
export interface OneOfField extends FieldDoc {
  type: 'oneOf';
  alternatives: readonly (StringField | EnumField | NumberField | BooleanField | ObjectField)[];
}

/** An object whose keys the user chooses (dataset names, template slots), each value of one shape. */
export interface MapField extends FieldDoc {
  type: 'map';
  values: ItemField | ArrayField;
}

/** The `analyses` list: its items are the analysis kinds below. */
export interface AnalysesField extends FieldDoc {
  type: 'analyses';
}

/** What an array may hold. */
export type ItemField = StringField | EnumField | NumberField | BooleanField | ObjectField | OneOfField;
export type Field = StringField | EnumField | NumberField | BooleanField | ArrayField | ObjectField | OneOfField | MapField | AnalysesField;
export type Fields = Readonly<Record<string, Field>>;

export interface KindDecl {
  /** One line on what the kind computes (completion of "kind", the kind list in messages). */
  summary: string;
  /** The kind's own fields, besides the common ones (kind, name, prompt). */
  fields: Fields;
  /**
   * Alternatives of which at least one must be given in full (a listed array non-empty): steering needs
   * a vector, or positive and negative prompts.
   */
  needsOneOf?: readonly (readonly string[])[];
}

/** The option type of an enum declaration: OptionOf<typeof PATCHING.target> is PatchTarget. */
export type OptionOf<F> = F extends { readonly options: readonly (infer T)[] } ? T : never;

// ---------------------------------------------------------------------------------------------------
// Option lists (exported: the analyses implement exactly these)

export const VIEW_KINDS = ['attention', 'logitLens'] as const;
export const CIRCUIT_KINDS = ['patching', 'ablation', 'attribution', 'detectors', 'steering', 'generation', 'circuit', 'edgeAttribution', 'features', 'attributionPatching', 'inputAttribution'] as const;
/** The analysis kinds: the two views, then the circuit analyses. */
export const ANALYSIS_KINDS = [...VIEW_KINDS, ...CIRCUIT_KINDS] as const;
export type AnalysisKind = (typeof ANALYSIS_KINDS)[number];
export type CircuitKind = (typeof CIRCUIT_KINDS)[number];

export const PATCH_TARGETS = ['resid_pre', 'attn_out', 'mlp_out', 'heads', 'heads_pos'] as const;
export type PatchTarget = (typeof PATCH_TARGETS)[number];
export const PATCH_DIRECTIONS = ['denoise', 'noise'] as const;
export type PatchDirection = (typeof PATCH_DIRECTIONS)[number];
export const METRICS = ['logitDiff', 'answerProb', 'loss'] as const;
export type MetricName = (typeof METRICS)[number];
export const ATP_METHODS = ['atp', 'atpStar', 'integratedGradients'] as const;
export type AtpMethod = (typeof ATP_METHODS)[number];
export const ABLATION_UNITS = ['heads', 'neurons', 'layers', 'features'] as const;
export type AblationUnit = (typeof ABLATION_UNITS)[number];
export const ABLATION_METHODS = ['zero', 'mean', 'resample'] as const;
export type AblationMethod = (typeof ABLATION_METHODS)[number];
export const CIRCUIT_ABLATIONS = ['mean', 'resample', 'zero', 'patch'] as const;
export type CircuitAblation = (typeof CIRCUIT_ABLATIONS)[number];
export const EDGE_METHODS = ['eap', 'eapIg'] as const;
export type EdgeMethodName = (typeof EDGE_METHODS)[number];
export const EDGE_ABLATIONS = ['patch', 'mean', 'zero'] as const;
export type EdgeAblationName = (typeof EDGE_ABLATIONS)[number];
export const CLAIM_KINDS = ['faithfulness', 'minimality', 'completeness', 'metric'] as const;
export type ClaimKind = (typeof CLAIM_KINDS)[number];
export const CLAIM_EXPECTATIONS = ['pass', 'fail'] as const;
export const DATASET_GENERATORS = ['repeatedRandomTokens'] as const;
export const DETECTOR_SOURCES = ['prompt', 'random'] as const;
export type DetectorSource = (typeof DETECTOR_SOURCES)[number];
export const DETECTOR_KINDS = ['previous-token', 'duplicate-token', 'induction'] as const;
export type DetectorKind = (typeof DETECTOR_KINDS)[number];
export const SAE_MODES = ['observe', 'splice'] as const;
export type SaeModeName = (typeof SAE_MODES)[number];

// ---------------------------------------------------------------------------------------------------
// Fields shared by several kinds

const SEED_MAX = 2 ** 31;

/** A list of layer, head, neuron or position indices. */
const indexList = (description: string) => ({ type: 'array', items: { type: 'integer', minimum: 0 }, description }) as const;

const METRIC = {
  type: 'enum',
  options: METRICS,
  default: 'logitDiff',
  description: 'logitDiff: logit(answer) - logit(counterfactual) at the last position; answerProb; loss: mean next-token loss over the prompt.',
} as const;

/** `"dataset"` of a kind that runs on one prompt or on every prompt of a dataset; `result` says what it reports then. */
const onDataset = (result: string) => ({
  type: 'string',
  refersTo: 'dataset',
  description: `Run on every prompt of this dataset (a name in "datasets"), instead of "prompt": ${result}`,
}) as const;

/** An attached dictionary: its index in the spec's "saes" (the CLI's --sae order) or the hook it reads. */
const SAE_FIELD = {
  type: 'oneOf',
  description: 'The attached dictionary (SAE or transcoder): its index in "saes", or the hook it reads, such as "blocks.6.hook_resid_post" (default: the only one).',
  alternatives: [
    { type: 'integer', minimum: 0, description: 'Its index in "saes".' },
    { type: 'string', description: 'The hook it reads.', examples: ['blocks.0.hook_resid_post'] },
  ],
} as const;

/** Continuation settings of steering and generation; the parser gathers them into `generation`. */
export const SAMPLING_FIELDS = {
  maxNewTokens: { type: 'integer', minimum: 0, maximum: 1000, default: 20, description: 'How many tokens to generate.' },
  temperature: { type: 'number', minimum: 0, maximum: 100, default: 0, description: '0 = greedy.' },
  topK: { type: 'integer', minimum: 1, maximum: 1e6, description: 'Sample among the k most likely tokens only (default: all).' },
  seed: { type: 'integer', minimum: 0, maximum: SEED_MAX, default: 0, description: 'Seed of the sampling.' },
} as const satisfies Fields;

// ---------------------------------------------------------------------------------------------------
// The kinds

export const ATTENTION_FIELDS = {
  layers: indexList('Layers shown as small multiples (default: all).'),
  focus: {
    type: 'object',
    description: 'The head shown large first.',
    fields: {
      layer: { type: 'integer', minimum: 0, required: true, description: 'Its layer.' },
      head: { type: 'integer', minimum: 0, required: true, description: 'Its head.' },
    },
  },
} as const satisfies Fields;

export const LOGIT_LENS_FIELDS = {
  target: { type: 'string', description: "Colour by this token's probability or rank (one token; default: the prompt's answer)." },
  topK: { type: 'integer', minimum: 1, maximum: 20, default: 5, description: "Tokens listed in each cell's hover." },
} as const satisfies Fields;

export const PATCHING_FIELDS = {
  corrupted: { type: 'string', refersTo: 'prompt', description: "The corrupted prompt's name (same token length as the clean prompt); not with a dataset, whose prompts each have their own." },
  dataset: onDataset('each prompt is patched with its own "corrupted" prompt (the JSONL field or the template\'s), and each cell is (mean M(patched) - mean M(corrupted)) / (mean M(clean) - mean M(corrupted)) over the prompts, with its spread.'),
  target: {
    type: 'enum',
    options: PATCH_TARGETS,
    default: 'resid_pre',
    description: "What to patch: residual stream, attention or MLP output (layer x position), heads' hook_z (layer x head), or heads by position.",
  },
  metric: METRIC,
  direction: { type: 'enum', options: PATCH_DIRECTIONS, default: 'denoise', description: 'denoise: clean into corrupted (default); noise: corrupted into clean.' },
  layers: indexList('Layers to patch (default: all).'),
  positions: indexList('Token positions to patch (default: all).'),
} as const satisfies Fields;

/** Interpolation steps of integrated gradients (attributionPatching's integratedGradients, inputAttribution). */
const IG_STEPS = { type: 'integer', minimum: 1, maximum: 512, default: 16, description: 'Integrated gradients: gradients at alpha = k/steps for k = 1..steps along the straight path of the input embeddings, averaged.' } as const;

export const ATTRIBUTION_PATCHING_FIELDS = {
  corrupted: { type: 'string', required: true, refersTo: 'prompt', description: "The corrupted prompt's name (same token length as the clean prompt)." },
  target: PATCHING_FIELDS.target,
  metric: METRIC,
  direction: PATCHING_FIELDS.direction,
  layers: PATCHING_FIELDS.layers,
  positions: PATCHING_FIELDS.positions,
  method: {
    type: 'enum',
    options: ATP_METHODS,
    default: 'atp',
    optionDescriptions: [
      'first order: denoise = gradient at the corrupted run x (clean - corrupted); noise = gradient at the clean run x (corrupted - clean)',
      "AtP* (Kramar et al. 2024): AtP with the QK fix, each head's query and key change at the patched residual put through the softmax exactly",
      'integrated gradients: the gradient averaged over input embeddings interpolated from corrupted to clean, x the activation difference',
    ],
    description: 'How the effect of patching each unit is estimated from gradients (2 forwards and 1 backward for atp).',
  },
  steps: IG_STEPS,
  verify: { type: 'integer', minimum: 0, maximum: 10000, default: 0, description: 'Exact activation patching of the N largest estimates (and of as many other cells drawn at random, for false negatives), with the rank correlation.' },
  seed: { type: 'integer', minimum: 0, maximum: SEED_MAX, default: 0, description: 'With verify: seed of the random cells checked for false negatives.' },
} as const satisfies Fields;

export const INPUT_ATTRIBUTION_FIELDS = {
  corrupted: { type: 'string', refersTo: 'prompt', description: "The baseline: this prompt's input embeddings (same token length); default zero embeddings." },
  metric: METRIC,
  steps: IG_STEPS,
} as const satisfies Fields;

export const ABLATION_FIELDS = {
  unit: {
    type: 'enum',
    options: ABLATION_UNITS,
    default: 'heads',
    description: 'What to ablate: heads (attn.hook_z), MLP neurons (mlp.hook_post), whole layers (attention and MLP outputs), or features of an attached dictionary (hook_sae_acts_post, each one alone, its error term kept so only that feature changes).',
  },
  method: {
    type: 'enum',
    options: ABLATION_METHODS,
    default: 'zero',
    description: "zero; mean: the per-position mean over the reference prompts; resample: each reference prompt's values, the results averaged.",
  },
  reference: {
    type: 'array',
    items: { type: 'string', refersTo: 'prompt' },
    default: [],
    description: 'Prompt names (same token length) for the mean or the resampled values (with a dataset: default the dataset itself).',
  },
  dataset: { type: 'string', refersTo: 'dataset', description: 'Run on every prompt of this dataset (instead of "prompt") and report the mean change, with its spread over the prompts.' },
  metric: METRIC,
  layers: indexList('Layers to ablate in (default: all).'),
  neurons: indexList('With unit neurons: the neurons to ablate in each layer (default: all).'),
  positions: indexList('Token positions to ablate at (default: all).'),
  sae: SAE_FIELD,
  features: indexList('With unit features: the feature ids to ablate, each alone (default: the 10 most active on the prompt at the ablated positions).'),
} as const satisfies Fields;

export const DETECTORS_FIELDS = {
  source: {
    type: 'enum',
    options: DETECTOR_SOURCES,
    default: 'random',
    description: 'Score on the prompt, or on generated BOS + random tokens repeated once.',
  },
  detectors: {
    type: 'array',
    items: { type: 'enum', options: DETECTOR_KINDS },
    default: DETECTOR_KINDS,
    description: 'The scores to compute (default: all).',
  },
  length: { type: 'integer', minimum: 1, maximum: 1e5, default: 50, description: 'Random source: random tokens per sequence before the repeat (2 x length + 1 must fit the context).' },
  rows: { type: 'integer', minimum: 1, maximum: 256, default: 8, description: 'Random source: how many sequences.' },
  seed: { type: 'integer', minimum: 0, maximum: SEED_MAX, default: 0, description: 'Random source: seed of the random tokens.' },
  dataset: onDataset("each head's score is its mean over the prompts (each prompt scored alone), with the standard deviation; no \"source\", \"rows\", \"length\" or \"seed\" then."),
} as const satisfies Fields;

export const STEERING_FIELDS = {
  hook: { type: 'string', required: true, description: 'Hook point to add the vector at, e.g. blocks.0.hook_resid_post; with "feature", the hook the dictionary reads.' },
  coefficient: { type: 'number', minimum: -1e6, maximum: 1e6, default: 1, description: 'The vector is multiplied by this before it is added.' },
  vector: {
    type: 'array',
    items: { type: 'number' },
    description: "The vector, one value per element of the hook's activation at one position (d_model for the residual stream).",
  },
  positive: {
    type: 'array',
    items: { type: 'string', refersTo: 'prompt' },
    default: [],
    description: 'Without a vector: prompt names whose mean activation at the hook, minus that of the negative prompts, is the vector.',
  },
  negative: {
    type: 'array',
    items: { type: 'string', refersTo: 'prompt' },
    default: [],
    description: "Without a vector: prompt names whose mean activation is subtracted from the positive prompts'.",
  },
  dataset: onDataset('the mean shift of "metric" that steering causes, its spread over the prompts, and the mean change of every next-token logit (no continuations then).'),
  metric: { ...METRIC, description: `With "dataset": the metric whose mean shift is reported (on one prompt steering reports every next-token logit instead). ${METRIC.description}` },
  feature: { type: 'integer', minimum: 0, description: "Steer by this feature of the dictionary attached at \"hook\": coefficient x its decoder row W_dec[f], added at the dictionary's hook_sae_output (instead of a vector)." },
  clamp: { type: 'number', minimum: -1e6, maximum: 1e6, description: 'With "feature": clamp its activation to this value at every position instead (decoded, the error term kept).' },
  ...SAMPLING_FIELDS,
} as const satisfies Fields;

export const GENERATION_FIELDS = SAMPLING_FIELDS;

/** One claim of a circuit: a bound on its measured value, under one or several ablations. */
const claimField = (description: string) => ({
  type: 'object',
  description,
  fields: {
    min: { type: 'number', description: 'The value must be at least this.' },
    max: { type: 'number', description: 'The value must be at most this.' },
    ablations: {
      type: 'array',
      items: { type: 'enum', options: CIRCUIT_ABLATIONS },
      minItems: 1,
      description: "Check the claim under each of these ablations (one result each, and their spread), instead of the circuit's own \"ablation\".",
    },
    expect: {
      type: 'enum',
      options: CLAIM_EXPECTATIONS,
      default: 'pass',
      description: 'fail: the claim is known to be false (a documented negative result); it is reported as an expected failure, and holding would fail the run.',
    },
  },
}) as const;

export const CIRCUIT_FIELDS = {
  dataset: { type: 'string', required: true, refersTo: 'dataset', description: 'The dataset (a name in "datasets") the metric is averaged over.' },
  components: {
    type: 'object',
    required: true,
    description: 'The circuit. Everything else of the kinds listed here is ablated: list heads only and the MLPs stay; list MLP layers and the other MLP layers are ablated (at hook_mlp_out).',
    fields: {
      heads: { type: 'array', items: { type: 'string', examples: ['0.0'] }, description: 'Heads as "LAYER.HEAD" (ablated at attn.hook_z).' },
      mlps: indexList('MLP layers (ablated at hook_mlp_out).'),
      neurons: {
        type: 'array',
        items: { type: 'string', examples: ['1.37'] },
        description: 'MLP neurons as "LAYER.NEURON" (ablated at mlp.hook_post); with neurons listed, every neuron of a layer not in "mlps" is a component.',
      },
      features: {
        type: 'array',
        items: { type: 'string', examples: ['blocks.1.hook_resid_pre:123'] },
        description: 'Features of attached dictionaries as "HOOK:FEATURE", HOOK the hook the dictionary reads (ablated at HOOK.hook_sae_acts_post, the error term kept); every other feature of those dictionaries is a component.',
      },
    },
  },
  ablation: {
    type: 'enum',
    options: CIRCUIT_ABLATIONS,
    default: 'mean',
    optionDescriptions: [
      'the per-position mean over the "reference" dataset',
      'prompt i takes the values of reference prompt i + 1 (cyclically)',
      'zeros',
      "each prompt's own \"corrupted\" prompt",
    ],
    description: 'What replaces the activations of every component outside the circuit.',
  },
  reference: { type: 'string', refersTo: 'dataset', description: 'Mean and resample ablation: the dataset the values come from (default: the circuit\'s own; same token length).' },
  metric: METRIC,
  claims: {
    type: 'object',
    description: 'What the circuit is claimed to do; `circuit-lens test` checks each claim and ablation. M is the dataset mean of the metric; F(C) = (M(C) - M(none)) / (M(full) - M(none)).',
    fields: {
      faithfulness: claimField('F(C): the share of the metric the circuit recovers alone, e.g. {"min": 0.8}.'),
      minimality: claimField('For each component v: F(C) - F(C without v), its share; {"min": 0.05} asserts every component carries at least that.'),
      completeness: claimField('For each component v: |F(C without v) - F(full without v)|; {"max": 0.1}.'),
      metric: claimField('M(C), the raw metric with the circuit alone.'),
    },
  },
} as const satisfies Fields;

export const EDGE_ATTRIBUTION_FIELDS = {
  corrupted: { type: 'string', refersTo: 'prompt', description: "The corrupted prompt's name (same token length as the clean prompt)." },
  dataset: { type: 'string', refersTo: 'dataset', description: 'Score over every prompt of this dataset with its "corrupted" prompt (instead of "prompt" and "corrupted"): scores and metrics are averaged over the pairs.' },
  metric: METRIC,
  method: {
    type: 'enum',
    options: EDGE_METHODS,
    default: 'eap',
    optionDescriptions: [
      'EAP (Syed et al. 2023): (z_corrupted - z_clean) . dM/d input at the clean run; 2 forwards and 1 backward',
      'EAP-IG (Hanna et al. 2024): the gradient averaged over "steps" runs with the embeddings interpolated from corrupted to clean',
    ],
    description: "How edges are scored. Scores are noising estimates of the normalised metric (0 = corrupted, 1 = clean): the change when one edge carries the corrupted run's value into the clean run; an edge the task needs scores negative.",
  },
  steps: { type: 'integer', minimum: 1, maximum: 1000, default: 16, description: 'eapIg: interpolation steps (embeddings at k / steps, k = 0 .. steps - 1).' },
  topN: { type: 'integer', minimum: 1, maximum: 1e7, default: 100, description: 'The circuit: the N edges with the largest |score| (unless "threshold" is given).' },
  threshold: { type: 'number', minimum: 0, maximum: 1e9, description: 'The circuit: every edge with |score| at least this (instead of "topN").' },
  ablation: {
    type: 'enum',
    options: EDGE_ABLATIONS,
    default: 'patch',
    optionDescriptions: ["the pair's corrupted run", 'the per-position mean over the "reference" dataset (default: every clean and corrupted prompt)', 'zeros'],
    description: "What an edge outside the circuit carries instead of its source's output, when the circuit's faithfulness is measured (0 = every edge ablated, 1 = the full model).",
  },
  reference: { type: 'string', refersTo: 'dataset', description: 'Mean ablation: the dataset whose per-position mean replaces ablated edges (same token length).' },
} as const satisfies Fields;

export const FEATURES_FIELDS = {
  sae: SAE_FIELD,
  k: { type: 'integer', minimum: 1, maximum: 100, default: 5, description: 'Features listed per token (the most active).' },
  logitsK: { type: 'integer', minimum: 1, maximum: 100, default: 10, description: "Top and bottom logits listed per feature (its decoder row through the final norm's weight and W_U)." },
} as const satisfies Fields;

export const KINDS = {
  attention: { summary: "every head's attention pattern (hook_pattern)", fields: ATTENTION_FIELDS },
  logitLens: { summary: 'the top token read off the residual stream before each layer, or the probability of a target', fields: LOGIT_LENS_FIELDS },
  patching: {
    summary: 'activation patching between the clean prompt and a corrupted one (0 = corrupted, 1 = clean)',
    fields: PATCHING_FIELDS,
    needsOneOf: [['corrupted'], ['dataset']],
  },
  ablation: { summary: 'change of the metric when heads, neurons or layers are ablated', fields: ABLATION_FIELDS },
  attribution: {
    summary: 'direct logit attribution of the embeddings, each layer and each head',
    fields: { dataset: onDataset("each component's mean contribution, each prompt with its own answer and counterfactual, and its spread.") },
  },
  detectors: { summary: 'previous-token, duplicate-token and induction scores of every head', fields: DETECTORS_FIELDS },
  steering: {
    summary: 'adds coefficient x a vector at a hook point: logit changes and a continuation with and without',
    fields: STEERING_FIELDS,
    needsOneOf: [['vector'], ['positive', 'negative'], ['feature']],
  },
  generation: { summary: 'a greedy or sampled continuation of the prompt', fields: GENERATION_FIELDS },
  circuit: { summary: 'a circuit and claims about it (faithfulness, minimality, completeness, metric) over a dataset', fields: CIRCUIT_FIELDS },
  edgeAttribution: {
    summary: "edge attribution patching (EAP, EAP-IG) over every edge between the embeddings, heads' q/k/v inputs, MLPs and the logits; a circuit of the top edges and its faithfulness",
    fields: EDGE_ATTRIBUTION_FIELDS,
    needsOneOf: [['corrupted'], ['dataset']],
  },
  features: { summary: "an attached dictionary's top features at each prompt token, their top and bottom logits, and each active feature's direct logit attribution", fields: FEATURES_FIELDS },
  attributionPatching: { summary: "gradient estimates of activation patching (AtP, AtP*, integrated gradients) on patching's axes, optionally checked by exact patching", fields: ATTRIBUTION_PATCHING_FIELDS },
  inputAttribution: { summary: "integrated gradients of the metric to each input token's embeddings", fields: INPUT_ATTRIBUTION_FIELDS },
} as const satisfies Record<AnalysisKind, KindDecl>;

/** Fields every analysis has, whatever its kind. */
export const COMMON_FIELDS = {
  kind: {
    type: 'enum',
    options: ANALYSIS_KINDS,
    required: true,
    optionDescriptions: ANALYSIS_KINDS.map((k) => KINDS[k].summary),
    description: `${ANALYSIS_KINDS.map((k) => `${k}: ${KINDS[k].summary}`).join('; ')}. Each kind has a commented example in examples/.`,
  },
  name: { type: 'string', description: 'A title for the panel.' },
  prompt: { type: 'string', refersTo: 'prompt', description: 'The name of the prompt to run on (default: the first).' },
} as const satisfies Fields;

// ---------------------------------------------------------------------------------------------------
// The spec itself

export const PROMPT_FIELDS = {
  name: { type: 'string', description: 'How analyses refer to this prompt.' },
  text: { type: 'string', required: true, description: 'The prompt text; BOS is prepended.' },
  answer: { type: 'string', description: 'The expected next token, exactly one token (mind the leading space: " Mary").' },
  counterfactual: { type: 'string', description: 'A contrasting next token, exactly one token.' },
} as const satisfies Fields;

/** TransformerLens' weight processing options (src/protocol/processing.ts has the same names). */
export const PROCESSING_FIELDS = {
  foldLn: { type: 'boolean', default: false, description: "Fold each norm's weight (and LayerNorm's bias) into the layer that reads it: ln*.hook_normalized is then TransformerLens' LNPre / RMSPre output. Off for post-norm models (OLMo 2)." },
  centerWritingWeights: { type: 'boolean', default: false, description: 'Centre every weight that writes to the residual stream (embeddings, W_O, W_out and their biases), so the stream has zero mean. LayerNorm models only.' },
  centerUnembed: { type: 'boolean', default: false, description: 'Subtract the unembedding\'s mean over the vocabulary: each position\'s logits move by one constant, probabilities do not change.' },
  foldValueBiases: { type: 'boolean', default: false, description: "Move each head's value bias into the attention output bias (b_O): hook_v, hook_z and hook_result then have no bias part." },
} as const satisfies Fields;

/** A sparse dictionary (SAE or transcoder) attached to the model for every analysis of the spec. */
export const SAE_FIELDS = {
  path: {
    type: 'string',
    required: true,
    description: "The dictionary's folder (relative paths start at this file's folder), or ORG/NAME/SUBFOLDER of a Hugging Face cache entry.",
    examples: ['./saes/blocks.6.hook_resid_post', 'jbloom/GPT2-Small-SAEs-Reformatted/blocks.6.hook_resid_pre'],
  },
  hook: { type: 'string', description: 'The hook point it reads, e.g. blocks.6.hook_resid_pre (default: from its files, or the folder\'s place).' },
  mode: {
    type: 'enum',
    options: SAE_MODES,
    default: 'observe',
    optionDescriptions: ["the model's forward is unchanged; the dictionary's hooks only read", 'the model continues with the reconstruction (SAELens run_with_saes)'],
    description: 'observe: add the hooks <hook>.hook_sae_acts_post, ... without changing the forward; splice: replace the activation by the reconstruction.',
  },
} as const satisfies Fields;

/** The three ways to give a dataset; every prompt of one dataset has the same token length. */
export const DATASET_FILE_FIELDS = {
  file: { type: 'string', required: true, description: 'A JSONL file (relative to this spec): one {"text" or "tokens", "answer", "counterfactual", "corrupted"} a line.' },
} as const satisfies Fields;

export const DATASET_TEMPLATE_FIELDS = {
  template: { type: 'string', required: true, description: 'Prompt text with {SLOT} placeholders, e.g. "When {A} and {B} went to the store, {B} gave a drink to".' },
  slots: {
    type: 'map',
    required: true,
    description: 'The values of each slot. One prompt never uses one value twice; every value must fill to the same token length.',
    values: { type: 'array', items: { type: 'string' }, minItems: 1 },
  },
  answer: { type: 'string', description: 'The answer token, with placeholders: " {A}".' },
  counterfactual: { type: 'string', description: 'The contrasting token, with placeholders: " {B}".' },
  corrupted: { type: 'string', description: 'The corrupted prompt, with placeholders (same token length).' },
  count: { type: 'integer', minimum: 1, maximum: 100000, default: 32, description: 'How many prompts to draw.' },
  seed: { type: 'integer', minimum: 0, maximum: SEED_MAX, default: 0, description: 'Seed of the draw.' },
} as const satisfies Fields;

export const DATASET_GENERATE_FIELDS = {
  generate: { type: 'enum', options: DATASET_GENERATORS, required: true, description: 'repeatedRandomTokens: BOS, then `length` uniform non-special tokens, then the same tokens again; the loss metric reads the repeated half.' },
  count: { type: 'integer', minimum: 1, maximum: 100000, default: 32, description: 'How many sequences.' },
  length: { type: 'integer', minimum: 1, maximum: 100000, default: 50, description: 'Random tokens before the repeat (2 x length + 1 must fit the context).' },
  seed: { type: 'integer', minimum: 0, maximum: SEED_MAX, default: 0, description: 'Seed of the random tokens.' },
} as const satisfies Fields;

export const SPEC_TITLE = 'Circuit Lens experiment';
export const SPEC_DESCRIPTION = 'A Circuit Lens experiment: a model, prompts and the analyses to run on them.';

export const SPEC_FIELDS = {
  $schema: { type: 'string', description: 'The JSON schema of this file (optional: Circuit Lens associates it with *.circuit.json).' },
  model: {
    type: 'string',
    description: 'The model: a bundled name ("demo", "planted-induction"), a checkpoint folder (config.json + model.safetensors; relative paths start at this file\'s folder), or ORG/NAME of a Hugging Face cache entry.',
    examples: ['demo', 'planted-induction', './checkpoints/my-gpt2', 'openai-community/gpt2'],
  },
  processing: {
    type: 'oneOf',
    description: "TransformerLens' weight processing, applied in memory when the model loads (the default is none: Hugging Face's numbers, as from_pretrained_no_processing). SAEs trained on TransformerLens' processed GPT-2 (such as gpt2-small-res-jb) need \"transformerlens\". Panel headers name the processing in effect.",
    alternatives: [
      { type: 'string', description: '"transformerlens" (all four options, as HookedTransformer.from_pretrained), "none", or a comma-separated list such as "foldLn,centerUnembed".', examples: ['transformerlens', 'none', 'foldLn,centerUnembed'] },
      { type: 'object', fields: PROCESSING_FIELDS },
    ],
  },
  prompts: {
    type: 'array',
    minItems: 1,
    description: 'The prompts to trace (required unless the spec has datasets). A string, or an object with a name, the text and optional answer tokens.',
    items: {
      type: 'oneOf',
      alternatives: [
        { type: 'string', description: 'Prompt text (named prompt0, prompt1, ... by position).' },
        { type: 'object', fields: PROMPT_FIELDS },
      ],
    },
  },
  datasets: {
    type: 'map',
    description: 'Named prompt datasets that analyses take with "dataset": a JSONL file, a template with slots, or generated repeated random tokens.',
    values: {
      type: 'oneOf',
      alternatives: [
        { type: 'object', fields: DATASET_FILE_FIELDS },
        { type: 'object', fields: DATASET_TEMPLATE_FIELDS },
        { type: 'object', fields: DATASET_GENERATE_FIELDS },
      ],
    },
  },
  saes: {
    type: 'array',
    description: 'Sparse dictionaries (SAEs, transcoders) attached to the model for every analysis: a folder, or an object with its path, hook and mode. Each is checked on a sample when it loads (FVU, cosine, L0; warnings name a likely mis-load).',
    items: {
      type: 'oneOf',
      alternatives: [
        { type: 'string', description: "The dictionary's folder or ORG/NAME/SUBFOLDER (observe mode, hook from its files)." },
        { type: 'object', fields: SAE_FIELDS },
      ],
    },
  },
  cache: {
    type: 'array',
    items: { type: 'string' },
    default: [],
    description: 'Extra hook points to cache with each run (TransformerLens names or globs such as blocks.*.hook_resid_mid).',
  },
  analyses: { type: 'analyses', description: 'What to show. Each analysis gets a Run CodeLens and its own panel.' },
} as const satisfies Fields;
