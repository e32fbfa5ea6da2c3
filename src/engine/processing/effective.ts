/**
 * Which processing options a model really gets, with TransformerLens' own exceptions, and a note for
 * each option that was asked for and switched off (shown in the CLI's output and the panels' headers):
 * - RMSNorm families fold only the norm weight (there is no bias, and nothing is centred);
 *   `centerWritingWeights` needs LayerNorm, which removes the mean the centring takes out;
 * - post-norm blocks (OLMo 2) cannot fold their norms: the norm comes after the layer, not before it;
 * - a final soft-cap (Gemma 2) is not shift-invariant, so the unembedding is not centred;
 * - `foldValueBiases` does nothing where the value projection has no bias.
 */
import type { ModelConfig } from '../model-config';
import type { ModelParams } from '../params';
import type { AppliedProcessing, WeightProcessing } from '../../protocol/processing';

export function effectiveProcessing(c: ModelConfig, params: ModelParams, asked: WeightProcessing): AppliedProcessing {
  const options = { ...asked };
  const notes: string[] = [];
  if (asked.foldLn && c.postNorms) {
    options.foldLn = false;
    notes.push(`foldLn is off: ${c.modelType}'s norms come after attention and the MLP (post norms), so there is no layer after them to fold into (TransformerLens does the same).`);
  }
  if (asked.centerWritingWeights && c.normalization !== 'layernorm') {
    options.centerWritingWeights = false;
    notes.push(`centerWritingWeights is off: ${c.modelType} uses RMSNorm, which does not remove the mean, so centring the weights that write to the residual stream would change the model (TransformerLens skips it too).`);
  }
  if (asked.centerUnembed && c.finalLogitSoftcap) {
    options.centerUnembed = false;
    notes.push(`centerUnembed is off: ${c.modelType} soft-caps its logits (tanh(z / ${c.finalLogitSoftcap}) * ${c.finalLogitSoftcap}), which a constant shift would change (TransformerLens does the same).`);
  }
  // Folding a LayerNorm's bias gives the value projection a bias even where it had none (GPT-Neo).
  if (asked.foldValueBiases && !hasValueBias(params) && !(options.foldLn && c.normalization === 'layernorm')) {
    options.foldValueBiases = false;
    notes.push('foldValueBiases has nothing to do: the value projections have no bias.');
  }
  return { options, notes };
}

function hasValueBias(params: ModelParams): boolean {
  return params.blocks.some((b) => (b.qkv.kind === 'separate' ? !!b.qkv.v.b : !!b.qkv.proj.b));
}
