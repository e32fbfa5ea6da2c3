/**
 * Parses the text of a `*.circuit.json` (JSONC: comments and trailing commas allowed) into an
 * ExperimentSpec with a source range on every field, plus structural problems. Never throws: a spec
 * being typed is usually invalid, and the editor still wants whatever parts make sense.
 */
import { Node, ParseError, findNodeAtLocation, parseTree, printParseErrorCode } from 'jsonc-parser/lib/esm/main.js'; // the ESM build: esbuild cannot follow the UMD build's dynamic requires
import { readCircuitAnalysis } from './circuit-kinds';
import { readDatasets } from './datasets';
import type { AnalysisSpec, ExperimentSpec, Located, PromptSpec, SaeSpec, SourceRange, SpecProblem } from './types';
import { ANALYSIS_KINDS, AnalysisKind, COMMON_FIELDS, Field, KINDS, LOGIT_LENS_FIELDS, PROMPT_FIELDS, SAE_FIELDS, SAE_MODES, SaeModeName } from './vocabulary';
import { NO_PROCESSING, PROCESSING_OPTIONS, ProcessingOption, WeightProcessing, parseProcessingList } from '../../protocol/processing';

export interface ParsedSpec {
  spec: ExperimentSpec;
  problems: SpecProblem[];
}

function rangeOf(n: Node): SourceRange {
  return { offset: n.offset, length: n.length };
}

function isAnalysisKind(k: unknown): k is AnalysisKind {
  return (ANALYSIS_KINDS as readonly unknown[]).includes(k);
}

/** What the kinds that refuse "dataset" as meaningless show, token by token. */
const ONE_PROMPT_VIEWS: Partial<Record<AnalysisKind, string>> = { attention: 'attention patterns', logitLens: 'the logit lens', generation: 'a continuation' };

class SpecReader {
  readonly problems: SpecProblem[] = [];

  error(n: Node | SourceRange, message: string): void {
    this.problems.push({ severity: 'error', message, range: 'type' in n ? rangeOf(n) : n });
  }

  string(obj: Node, key: string, required = false): Located<string> | undefined {
    const n = findNodeAtLocation(obj, [key]);
    if (!n) {
      if (required) this.error(obj, `"${key}" is required.`);
      return undefined;
    }
    if (n.type !== 'string') {
      this.error(n, `"${key}" must be a string.`);
      return undefined;
    }
    return { value: n.value as string, range: rangeOf(n) };
  }

  integer(n: Node | undefined, what: string): Located<number> | undefined {
    if (!n) return undefined;
    if (n.type !== 'number' || !Number.isInteger(n.value) || n.value < 0) {
      this.error(n, `${what} must be a whole number >= 0.`);
      return undefined;
    }
    return { value: n.value as number, range: rangeOf(n) };
  }

  /** `processing`: "transformerlens", "none", a comma-separated list, or an object of booleans. */
  processing(obj: Node): Located<WeightProcessing> | undefined {
    const n = findNodeAtLocation(obj, ['processing']);
    if (!n) return undefined;
    if (n.type === 'string') {
      const p = parseProcessingList(n.value as string);
      if ('error' in p) return void this.error(n, `"processing": ${p.error}`);
      return { value: p, range: rangeOf(n) };
    }
    if (n.type !== 'object') return void this.error(n, '"processing" must be "transformerlens", "none", a comma-separated list of options, or an object such as {"foldLn": true}.');
    const chosen: Record<ProcessingOption, boolean> = { ...NO_PROCESSING };
    for (const prop of n.children ?? []) {
      const [key, value] = prop.children ?? [];
      const option = PROCESSING_OPTIONS.find((o) => o === key?.value);
      if (!option) {
        this.error(key ?? prop, `"processing" has no option ${JSON.stringify(key?.value)}; options: ${PROCESSING_OPTIONS.join(', ')}.`);
      } else if (value?.type !== 'boolean') {
        this.error(value ?? prop, `"processing.${option}" must be true or false.`);
      } else {
        chosen[option] = value.value as boolean;
      }
    }
    return { value: chosen, range: rangeOf(n) };
  }

  /** An entry of `saes`: a path string, or {"path", "hook"?, "mode"?}. */
  sae(n: Node, index: number): SaeSpec | undefined {
    const field = (sub = '') => `"saes[${index}]${sub}"`;
    const where = field();
    const fallbackMode = SAE_FIELDS.mode.default;
    if (n.type === 'string') {
      if (!(n.value as string).trim()) return void this.error(n, `${where} is empty: give the dictionary's folder, or ORG/NAME/SUBFOLDER of a Hugging Face cache entry.`);
      return { index, path: { value: n.value as string, range: rangeOf(n) }, mode: { value: fallbackMode, range: rangeOf(n) }, range: rangeOf(n) };
    }
    if (n.type !== 'object') return void this.error(n, `${where} must be a folder path (a string) or an object {"path", "hook"?, "mode"?}.`);
    for (const prop of n.children ?? []) {
      const key = prop.children?.[0];
      if (key && !(key.value in SAE_FIELDS)) this.error(key, `${where} has no field ${JSON.stringify(key.value)}; fields: ${Object.keys(SAE_FIELDS).join(', ')}.`);
    }
    const p = this.string(n, 'path', SAE_FIELDS.path.required);
    if (p && !p.value.trim()) this.error(p.range, `${field('.path')} is empty: give the dictionary's folder, or ORG/NAME/SUBFOLDER.`);
    const hook = this.string(n, 'hook');
    if (hook && !hook.value.trim()) this.error(hook.range, `${field('.hook')} is empty: name a hook point such as blocks.6.hook_resid_pre, or leave "hook" out.`);
    const m = this.string(n, 'mode');
    const modeOk = !m || (SAE_MODES as readonly string[]).includes(m.value);
    if (!modeOk) this.error(m.range, `${field('.mode')} must be one of ${SAE_MODES.map((o) => JSON.stringify(o)).join(', ')}.`);
    if (!p || !p.value.trim()) return undefined;
    const mode = m && modeOk ? { value: m.value as SaeModeName, range: m.range } : { value: fallbackMode, range: rangeOf(n) };
    return { index, path: p, ...(hook && hook.value.trim() ? { hook } : {}), mode, range: rangeOf(n) };
  }

  array(obj: Node, key: string): Node[] | undefined {
    const n = findNodeAtLocation(obj, [key]);
    if (!n) return undefined;
    if (n.type !== 'array') {
      this.error(n, `"${key}" must be an array.`);
      return undefined;
    }
    return n.children ?? [];
  }

  prompt(n: Node, i: number): PromptSpec | undefined {
    if (n.type === 'string') {
      const text = { value: n.value as string, range: rangeOf(n) };
      return { name: { value: `prompt${i}`, range: rangeOf(n) }, text, range: rangeOf(n) };
    }
    if (n.type !== 'object') {
      this.error(n, 'a prompt is a string or an object {"name", "text", "answer"?, "counterfactual"?}.');
      return undefined;
    }
    const text = this.string(n, 'text', PROMPT_FIELDS.text.required);
    if (!text) return undefined;
    const name = this.string(n, 'name') ?? { value: `prompt${i}`, range: text.range };
    return { name, text, answer: this.string(n, 'answer'), counterfactual: this.string(n, 'counterfactual'), range: rangeOf(n) };
  }

  /**
   * `"dataset"` on a kind that shows one prompt (attention, logit lens, a continuation) is refused: a
   * mean over prompts of token-by-token views means nothing. A kind that takes one needs no "prompt".
   */
  private datasetUse(n: Node, kind: AnalysisKind, prompt: Located<string> | undefined): void {
    const key = findNodeAtLocation(n, ['dataset'])?.parent?.children?.[0];
    if (!key) return;
    if (!('dataset' in KINDS[kind].fields)) {
      const shows = ONE_PROMPT_VIEWS[kind];
      const why = shows ? `it shows ${shows} of one prompt, token by token, and a mean over prompts of that means nothing` : 'it runs on one prompt';
      this.error(key, `${kind} does not take "dataset": ${why}. Add the prompt to "prompts" and name it with "prompt".`);
    } else if (prompt) {
      this.error(prompt.range, '"prompt" does not go with "dataset": the analysis runs on every prompt of the dataset. Remove one of them.');
    }
  }

  analysis(n: Node, index: number): AnalysisSpec | undefined {
    if (n.type !== 'object') {
      this.error(n, 'an analysis is an object with a "kind".');
      return undefined;
    }
    const kindNode = findNodeAtLocation(n, ['kind']);
    if (!kindNode) {
      this.error(n, `"kind" is required: one of ${ANALYSIS_KINDS.join(', ')}.`);
      return undefined;
    }
    if (!isAnalysisKind(kindNode.value)) {
      this.error(kindNode, `unknown analysis kind ${JSON.stringify(kindNode.value)}: one of ${ANALYSIS_KINDS.join(', ')}.`);
      return undefined;
    }
    const kind = kindNode.value;
    const title = this.string(n, 'name')?.value ?? `${kind} #${index + 1}`;
    const base = { index, title, prompt: this.string(n, 'prompt'), range: rangeOf(n) };
    this.datasetUse(n, kind, base.prompt);
    switch (kind) {
      case 'attention': {
        const layers = this.array(n, 'layers')?.map((l) => this.integer(l, 'a layer')).filter((l): l is Located<number> => !!l);
        const focusNode = findNodeAtLocation(n, ['focus']);
        let focus: { layer: Located<number>; head: Located<number> } | undefined;
        if (focusNode) {
          const layer = this.integer(findNodeAtLocation(focusNode, ['layer']), '"focus.layer"');
          const head = this.integer(findNodeAtLocation(focusNode, ['head']), '"focus.head"');
          if (layer && head) focus = { layer, head };
          else if (!layer && !head) this.error(focusNode, '"focus" needs "layer" and "head".');
        }
        return { ...base, kind, layers, focus };
      }
      case 'logitLens': {
        const { minimum, maximum, default: fallback } = LOGIT_LENS_FIELDS.topK;
        const k = this.integer(findNodeAtLocation(n, ['topK']), '"topK"');
        const ok = k && k.value >= minimum && k.value <= maximum;
        if (k && !ok) this.error(k.range, `"topK" must be between ${minimum} and ${maximum}.`);
        return { ...base, kind, target: this.string(n, 'target'), topK: ok ? k.value : fallback };
      }
      default:
        return readCircuitAnalysis(this, n, kind, base);
    }
  }
}

export function parseSpec(text: string): ParsedSpec {
  const errors: ParseError[] = [];
  const r = new SpecReader();
  const empty: ExperimentSpec = { prompts: [], datasets: [], analyses: [], cache: [] };
  let root: Node | undefined;
  try {
    root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  } catch {
    // The JSONC parser recurses per nesting level: thousands of levels overflow the stack.
    r.error({ offset: 0, length: Math.min(1, text.length) }, 'the spec is nested too deeply to read; an experiment spec needs only a few levels.');
    return { spec: empty, problems: r.problems };
  }
  for (const e of errors) r.error({ offset: e.offset, length: Math.max(1, e.length) }, `JSON syntax: ${printParseErrorCode(e.error)}.`);
  if (!root || root.type !== 'object') {
    if (root) r.error(root, 'an experiment spec is a JSON object.');
    return { spec: empty, problems: r.problems };
  }
  const prompts = (r.array(root, 'prompts') ?? []).map((p, i) => r.prompt(p, i)).filter((p): p is PromptSpec => !!p);
  const datasets = readDatasets(r, root);
  const analyses = (r.array(root, 'analyses') ?? []).map((a, i) => r.analysis(a, i)).filter((a): a is AnalysisSpec => !!a);
  const cache = (r.array(root, 'cache') ?? []).flatMap((c) => {
    if (c.type === 'string') return [{ value: c.value as string, range: rangeOf(c) }];
    r.error(c, 'a hook name or glob (a string).');
    return [];
  });
  if (prompts.length === 0 && !findNodeAtLocation(root, ['prompts']) && !findNodeAtLocation(root, ['datasets'])) r.error({ offset: root.offset, length: 1 }, '"prompts" is required: at least one prompt (or "datasets").');
  const names = new Set<string>();
  for (const p of prompts) {
    if (names.has(p.name.value)) r.error(p.name.range, `two prompts are named ${JSON.stringify(p.name.value)}.`);
    names.add(p.name.value);
  }
  const datasetNames = new Set(datasets.map((d) => d.name.value));
  for (const a of analyses) {
    for (const ref of promptReferences(a, 'prompt')) {
      if (!names.has(ref.value)) r.error(ref.range, `no prompt is named ${JSON.stringify(ref.value)}; prompts: ${[...names].join(', ') || 'none'}.`);
    }
    for (const ref of promptReferences(a, 'dataset')) {
      if (!datasetNames.has(ref.value)) r.error(ref.range, `no dataset is named ${JSON.stringify(ref.value)}; datasets: ${[...datasetNames].join(', ') || 'none'}.`);
    }
  }
  const processing = r.processing(root);
  const saeNodes = r.array(root, 'saes');
  const saes = saeNodes?.map((s, i) => r.sae(s, i)).filter((s): s is SaeSpec => !!s);
  return { spec: { model: r.string(root, 'model'), ...(processing ? { processing } : {}), prompts, datasets, analyses, ...(saes ? { saes } : {}), cache }, problems: r.problems };
}

type Referent = 'prompt' | 'dataset';
const refersTo = (f: Field, to: Referent) => (f.type === 'string' && f.refersTo === to) || (f.type === 'array' && f.items.type === 'string' && f.items.refersTo === to);

/**
 * Every prompt (or dataset) name an analysis refers to: the fields the vocabulary marks as references,
 * which the parsed analysis keeps under the same key (one name, or a list of names).
 */
function promptReferences(a: AnalysisSpec, to: Referent): Located<string>[] {
  const fields: Readonly<Record<string, Field>> = { ...COMMON_FIELDS, ...KINDS[a.kind].fields };
  const parsed = a as unknown as Record<string, Located<string> | Located<string>[] | undefined>;
  return Object.keys(fields).filter((k) => refersTo(fields[k], to)).flatMap((k) => parsed[k] ?? []);
}

/** The dataset an analysis runs on, when it runs on one instead of a prompt. */
export function datasetOf(a: AnalysisSpec): Located<string> | undefined {
  return 'dataset' in a ? a.dataset : undefined;
}

/** The prompt an analysis runs on: the one it names, else the first; none when it runs on a dataset. */
export function promptOf(spec: ExperimentSpec, a: AnalysisSpec): PromptSpec | undefined {
  if (datasetOf(a)) return undefined;
  return a.prompt ? spec.prompts.find((p) => p.name.value === a.prompt!.value) : spec.prompts[0];
}
