/**
 * The weight processing a dictionary asks of its model. SAELens loads a dictionary's model with
 * `HookedSAETransformer.from_pretrained(model_name, **model_from_pretrained_kwargs)`: the kwargs over
 * TransformerLens' from_pretrained defaults (fold_ln, center_writing_weights, center_unembed,
 * fold_value_biases all true). A dictionary without the key says nothing, and the model stays as it is.
 */
import { fail } from '../errors';
import { PROCESSING_OPTIONS, ProcessingOption, TRANSFORMERLENS_PROCESSING, WeightProcessing, processingKey, processingLabel } from '../../protocol/processing';
import type { SparseDictionary } from './types';

/** TransformerLens' keyword for each of our options. */
const KWARG: Record<ProcessingOption, string> = {
  foldLn: 'fold_ln', centerWritingWeights: 'center_writing_weights', centerUnembed: 'center_unembed', foldValueBiases: 'fold_value_biases',
};
/** from_pretrained keywords that change no weight (devices, dtypes, tokenizer and BOS handling, logging). */
const HARMLESS = new Set(['device', 'n_devices', 'dtype', 'torch_dtype', 'move_to_device', 'default_prepend_bos', 'default_padding_side', 'tokenizer', 'trust_remote_code', 'hf_model', 'cache_dir', 'checkpoint_index', 'checkpoint_value', 'first_n_layers']);

export interface DictionaryProcessing {
  /** The options the dictionary's model was loaded with. */
  options: WeightProcessing;
  /** Facts for the user: keywords that change weights in ways we do not apply. */
  notes: string[];
}

/** What `d` asks for, or undefined when its files name no model_from_pretrained_kwargs. */
export function dictionaryProcessing(d: SparseDictionary): DictionaryProcessing | undefined {
  const kwargs = d.modelFromPretrainedKwargs;
  if (!kwargs) return undefined;
  const options: Record<ProcessingOption, boolean> = { ...TRANSFORMERLENS_PROCESSING };
  for (const o of PROCESSING_OPTIONS) {
    const v = kwargs[KWARG[o]];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'boolean') fail('BAD_CONFIG', { file: d.dir, field: `model_from_pretrained_kwargs.${KWARG[o]}` }, `is ${JSON.stringify(v)}, not true or false.`);
    options[o] = v;
  }
  const notes = Object.entries(kwargs)
    .filter(([k, v]) => !HARMLESS.has(k) && !Object.values(KWARG).includes(k) && !(k === 'refactor_factored_attn_matrices' && v === false))
    .map(([k, v]) => `${d.dir}: model_from_pretrained_kwargs.${k} = ${JSON.stringify(v)} is not applied (only ${PROCESSING_OPTIONS.map((o) => KWARG[o]).join(', ')} are).`);
  return { options, notes };
}

export interface ModelProcessingChoice {
  /** The processing to load the model with; undefined: none asked, the model stays unprocessed. */
  processing?: WeightProcessing;
  /** What the output says: where the processing came from, and any disagreement. */
  notes: string[];
}

const label = processingLabel;

/**
 * The processing to load the model with, given what the user asked (`explicit`: a spec's `processing`
 * or the CLI's --processing) and the dictionaries attached. The user's choice wins, with a note for
 * every dictionary that asks otherwise (its figures will be off). Without one, the dictionaries' choice
 * is applied and said; two dictionaries that ask differently are an error, since one model cannot serve
 * both: the user settles it with `processing`.
 */
export function chooseModelProcessing(explicit: WeightProcessing | undefined, dicts: readonly SparseDictionary[]): ModelProcessingChoice {
  const asked = dicts.map((d) => ({ d, p: dictionaryProcessing(d) })).filter((x): x is { d: SparseDictionary; p: DictionaryProcessing } => !!x.p);
  const notes = asked.flatMap((x) => x.p.notes);
  if (explicit) {
    for (const { d, p } of asked) {
      if (processingKey(p.options) !== processingKey(explicit)) {
        notes.push(`${d.dir} was trained on the model with ${label(p.options)} (its model_from_pretrained_kwargs), but ${label(explicit)} was asked for: its reconstructions will be off. Remove "processing" (--processing) to use the dictionary's.`);
      }
    }
    return { processing: explicit, notes };
  }
  if (asked.length === 0) return { notes };
  const first = asked[0];
  const other = asked.find((x) => processingKey(x.p.options) !== processingKey(first.p.options));
  if (other) {
    fail('BAD_INPUT', { file: other.d.dir, field: 'model_from_pretrained_kwargs' },
      `asks for the model with ${label(other.p.options)}, but ${first.d.dir} asks for ${label(first.p.options)}; one model cannot serve both.`,
      'Attach dictionaries trained on one processing, or choose one with "processing" in the spec (--processing on the CLI).');
  }
  notes.unshift(`model processed as its dictionar${asked.length === 1 ? 'y was' : 'ies were'} trained (SAELens model_from_pretrained_kwargs over TransformerLens' defaults): ${label(first.p.options)}.`);
  return { processing: first.p.options, notes };
}
