/**
 * The JSON schema of `*.circuit.json`, generated from the vocabulary (vocabulary.ts). VS Code's JSON
 * support uses it for completion, hovers and structural validation; tools/gen-schema.mjs writes it to
 * media/circuit-spec.schema.json, and a unit test fails when that file differs from what this returns.
 *
 * Draft-07, plus VS Code's `enumDescriptions` (per-option text in completion; other validators ignore
 * unknown keywords).
 */
import {
  ANALYSIS_KINDS, AnalysisKind, COMMON_FIELDS, Field, Fields, KINDS, KindDecl, SPEC_DESCRIPTION, SPEC_FIELDS, SPEC_TITLE,
} from './vocabulary';

export type JsonSchema = { [keyword: string]: unknown };

/** The file name under media/ and the command that writes it (for messages). */
export const SCHEMA_FILE = 'media/circuit-spec.schema.json';
export const SCHEMA_COMMAND = 'node --import tsx tools/gen-schema.mjs';

/** Drops undefined keywords, so the output holds only what a field declares. */
function compact(s: Record<string, unknown>): JsonSchema {
  return Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined));
}

function requiredKeys(fields: Fields): string[] | undefined {
  const keys = Object.keys(fields).filter((k) => fields[k].required);
  return keys.length ? keys : undefined;
}

function properties(fields: Fields): JsonSchema {
  return Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, fieldSchema(f)]));
}

/** One field. Keyword order: what it is, what it means, its constraints, its default, examples. */
export function fieldSchema(f: Field): JsonSchema {
  switch (f.type) {
    case 'string':
      return compact({ type: 'string', description: f.description, examples: f.examples });
    case 'enum':
      return compact({ enum: [...f.options], description: f.description, enumDescriptions: f.optionDescriptions && [...f.optionDescriptions], default: f.default });
    case 'boolean':
      return compact({ type: 'boolean', description: f.description, default: f.default });
    case 'integer':
    case 'number':
      return compact({ type: f.type, description: f.description, minimum: f.minimum, maximum: f.maximum, default: f.default });
    case 'array':
      return compact({ type: 'array', description: f.description, minItems: f.minItems, items: fieldSchema(f.items), default: f.default && [...f.default] });
    case 'object':
      return compact({ type: 'object', description: f.description, required: requiredKeys(f.fields), additionalProperties: false, properties: properties(f.fields) });
    case 'oneOf':
      return compact({ description: f.description, oneOf: f.alternatives.map(fieldSchema) });
    case 'map':
      return compact({ type: 'object', description: f.description, additionalProperties: fieldSchema(f.values) });
    case 'analyses':
      return compact({ type: 'array', description: f.description, items: analysisSchema() });
  }
}

/**
 * `needsOneOf` as anyOf: each alternative's fields present, lists among them non-empty (the parser
 * counts an empty list as not given).
 */
function needsSchema(decl: KindDecl): JsonSchema[] | undefined {
  return decl.needsOneOf?.map((keys) => {
    const lists = keys.filter((k) => decl.fields[k]?.type === 'array');
    return compact({ required: [...keys], properties: lists.length ? Object.fromEntries(lists.map((k) => [k, { minItems: 1 }])) : undefined });
  });
}

/** One `if kind is K then only K's fields` branch. */
function kindBranch(kind: AnalysisKind): JsonSchema {
  const decl: KindDecl = KINDS[kind];
  // The common fields are declared once, at the analysis level; `true` admits them here.
  const common = Object.fromEntries(Object.keys(COMMON_FIELDS).map((k) => [k, true]));
  return {
    // Without "required", an object lacking "kind" would match every branch and get every branch's errors.
    if: { required: ['kind'], properties: { kind: { const: kind } } },
    then: compact({
      properties: { ...common, ...properties(decl.fields) },
      additionalProperties: false,
      required: requiredKeys(decl.fields),
      anyOf: needsSchema(decl),
    }),
  };
}

/** An item of `analyses`: the common fields, then one branch per kind. */
export function analysisSchema(): JsonSchema {
  return {
    type: 'object',
    required: requiredKeys(COMMON_FIELDS),
    properties: properties(COMMON_FIELDS),
    allOf: ANALYSIS_KINDS.map(kindBranch),
  };
}

/** The whole schema, as media/circuit-spec.schema.json holds it. */
export function circuitSpecSchema(): JsonSchema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: SPEC_TITLE,
    description: SPEC_DESCRIPTION,
    type: 'object',
    required: requiredKeys(SPEC_FIELDS),
    // Prompts, datasets, or both.
    anyOf: [{ required: ['prompts'] }, { required: ['datasets'] }],
    additionalProperties: false,
    properties: properties(SPEC_FIELDS),
  };
}

/** The file's text: 2-space JSON and a trailing newline. */
export function circuitSpecSchemaText(): string {
  return JSON.stringify(circuitSpecSchema(), null, 2) + '\n';
}
