/**
 * config.json of a Hugging Face checkpoint, turned into the engine's family-neutral model description
 * (model-config.ts). Each family (src/engine/families/) reads its own config fields; this module reads
 * the file and dispatches on `model_type`.
 */
import * as fs from 'node:fs';
import { fail } from './errors';
import { FAMILIES, familyForModelType } from './families/registry';
import type { ModelConfig } from './model-config';

// The model description's types live in the Node-free model-config.ts; importers of config.ts keep them.
export type { Activation, Architecture, ModelConfig, NormKind, RopeScaling, RotaryConfig } from './model-config';

export function supportedArchitectures(): string {
  return 'Supported model_type values: ' + FAMILIES.flatMap((f) => f.modelTypes).join(', ') + '.';
}

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
  return parseConfig(raw as Record<string, unknown>, path);
}

/** A parsed config.json object, dispatched on model_type. */
export function parseConfig(c: Record<string, unknown>, path: string): ModelConfig {
  const family = familyForModelType(c.model_type);
  if (!family) fail('UNSUPPORTED', { file: path, field: 'model_type' }, `architecture ${JSON.stringify(c.model_type)} is not supported yet.`, supportedArchitectures());
  return family.parseConfig(c, path);
}
