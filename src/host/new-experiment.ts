/**
 * The spec New Experiment writes: media/templates/experiment.circuit.json with the chosen model and a
 * first prompt whose "answer" is one token of that model, so the first run does not fail on it. Which
 * answers are one token only the model's tokenizer can tell, and it runs in the worker: the caller
 * passes a question that asks it. Plain text work here, no `vscode`.
 */
import { applyEdits, modify } from 'jsonc-parser/lib/esm/main.js'; // the ESM build, as the engine's spec parser uses
import { parseSpec } from '../engine/spec/parse';

export interface TemplatePrompt {
  text: string;
  /** Absent when no candidate's answer is one token of the model (or its tokenizer cannot tell). */
  answer?: string;
}

/**
 * Prompts tried after the template's own, in order: a repeated sentence whose answer is the next word
 * of the repeat (an induction pattern), with an answer that is one token for small vocabularies too
 * (" was" is one token of the bundled planted-induction model, which splits " mat").
 */
export const FALLBACK_PROMPTS: readonly Required<TemplatePrompt>[] = [
  { text: 'The people said that the game was good. The people said that the game', answer: ' was' },
];

/**
 * The template's first prompt when its answer is one token (`isOneToken` asks the model's tokenizer),
 * else the first fallback whose answer is; else the template's prompt without an answer. A question
 * that fails (no tokenizer, Restricted Mode) counts as "not one token".
 */
export async function chooseTemplatePrompt(template: string, isOneToken: (text: string) => Promise<boolean>): Promise<TemplatePrompt> {
  const first = parseSpec(template).spec.prompts[0];
  const own = { text: first.text.value, answer: first.answer?.value ?? '' };
  for (const candidate of [own, ...FALLBACK_PROMPTS]) {
    if (candidate.answer && (await isOneToken(candidate.answer).catch(() => false))) return candidate;
  }
  return { text: own.text };
}

const EDIT = { formattingOptions: { insertSpaces: true, tabSize: 2 } };

/** The template with its model and its first prompt's text and answer replaced, comments kept. */
export function fillTemplate(template: string, model: string, prompt: TemplatePrompt): string {
  const edits: [(string | number)[], string | undefined][] = [[['model'], model], [['prompts', 0, 'text'], prompt.text], [['prompts', 0, 'answer'], prompt.answer]];
  return edits.reduce((text, [at, value]) => applyEdits(text, modify(text, at, value, EDIT)), template);
}
