/**
 * Weight processing as TransformerLens' `HookedTransformer.from_pretrained` offers it: fold the norms'
 * weights (and LayerNorm's bias) into the layers that read them, centre the weights that write to the
 * residual stream, centre the unembedding over the vocabulary, fold the value biases into the output
 * bias. Nothing is processed unless asked for (Hugging Face's numbers, TransformerLens'
 * from_pretrained_no_processing). Plain data, shared by the CLI, the editor and the worker.
 */

export const PROCESSING_OPTIONS = ['foldLn', 'centerWritingWeights', 'centerUnembed', 'foldValueBiases'] as const;
export type ProcessingOption = (typeof PROCESSING_OPTIONS)[number];

/** Which options to apply. */
export type WeightProcessing = Readonly<Record<ProcessingOption, boolean>>;

export const NO_PROCESSING: WeightProcessing = { foldLn: false, centerWritingWeights: false, centerUnembed: false, foldValueBiases: false };
/** from_pretrained's defaults: all four. */
export const TRANSFORMERLENS_PROCESSING: WeightProcessing = { foldLn: true, centerWritingWeights: true, centerUnembed: true, foldValueBiases: true };

/** What a loaded model really applies: a family can switch an option off, and the notes say why. */
export interface AppliedProcessing {
  options: WeightProcessing;
  notes: string[];
}

export function isProcessed(p: WeightProcessing | undefined): boolean {
  return !!p && PROCESSING_OPTIONS.some((o) => p[o]);
}

/**
 * `"transformerlens"`, `"none"`, or a comma-separated list of option names (the CLI's --processing and a
 * spec's string form). Returns the options, or an error message naming what was not understood.
 */
export function parseProcessingList(text: string): WeightProcessing | { error: string } {
  const t = text.trim();
  if (t.toLowerCase() === 'transformerlens') return TRANSFORMERLENS_PROCESSING;
  if (t.toLowerCase() === 'none' || t === '') return NO_PROCESSING;
  const chosen: Record<ProcessingOption, boolean> = { ...NO_PROCESSING };
  for (const part of t.split(',').map((s) => s.trim()).filter(Boolean)) {
    const option = PROCESSING_OPTIONS.find((o) => o.toLowerCase() === part.toLowerCase());
    if (!option) return { error: `${JSON.stringify(part)} is not a processing option. Use "transformerlens", "none" or a list of ${PROCESSING_OPTIONS.join(', ')}.` };
    chosen[option] = true;
  }
  return chosen;
}

/** The options in effect in words, for panel headers and CLI output. */
export function processingLabel(p: WeightProcessing | undefined): string {
  if (!isProcessed(p)) return 'unprocessed weights';
  if (PROCESSING_OPTIONS.every((o) => p![o])) return 'TransformerLens processing';
  return `processing: ${PROCESSING_OPTIONS.filter((o) => p![o]).join(', ')}`;
}

/** A stable key of the options, for caches keyed by model. */
export function processingKey(p: WeightProcessing | undefined): string {
  return PROCESSING_OPTIONS.filter((o) => p?.[o]).join(',');
}
