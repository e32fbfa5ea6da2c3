/**
 * The model families the engine reads: for each, the config.json model_type values it accepts, how to
 * read its config and where its tensors are. The graph builder, hook list and unembedding are shared and
 * driven by the family-neutral ModelConfig and ModelParams.
 */
import type { Architecture, ModelConfig } from '../model-config';
import type { WeightIndex } from '../checkpoint';
import type { ModelParams } from '../params';
import { parseGpt2Config } from './gpt2/config';
import { findGpt2Weights } from './gpt2/weights';
import { parseGptNeoConfig } from './gptneo/config';
import { findGptNeoWeights } from './gptneo/weights';
import { parseLlamaConfig } from './llama/config';
import { findLlamaWeights } from './llama/weights';
import { parseQwen3Config } from './qwen3/config';
import { findQwen3Weights } from './qwen3/weights';
import { parseOlmo2Config } from './olmo2/config';
import { findOlmo2Weights } from './olmo2/weights';
import { parseGemma2Config } from './gemma2/config';
import { findGemma2Weights } from './gemma2/weights';
import { parseGemma3Config } from './gemma3/config';
import { findGemma3Weights } from './gemma3/weights';
import { parsePhi3Config } from './phi3/config';
import { findPhi3Weights } from './phi3/weights';
import { parseNeoxConfig } from './neox/config';
import { findNeoxWeights } from './neox/weights';

export interface Family {
  architecture: Architecture;
  /** How the family is called in messages and `circuit-lens hooks`. */
  label: string;
  /** config.json model_type values of this family. */
  modelTypes: readonly string[];
  /** The config.json field holding the context length (named in errors). */
  contextField: string;
  parseConfig(raw: Record<string, unknown>, path: string): ModelConfig;
  findParams(c: ModelConfig, index: WeightIndex, configPath: string): ModelParams;
}

export const FAMILIES: readonly Family[] = [
  { architecture: 'gpt2', label: 'GPT-2', modelTypes: ['gpt2'], contextField: 'n_positions', parseConfig: parseGpt2Config, findParams: findGpt2Weights },
  { architecture: 'neox', label: 'GPT-NeoX', modelTypes: ['gpt_neox'], contextField: 'max_position_embeddings', parseConfig: parseNeoxConfig, findParams: findNeoxWeights },
  { architecture: 'llama', label: 'Llama-style', modelTypes: ['llama', 'mistral', 'qwen2'], contextField: 'max_position_embeddings', parseConfig: parseLlamaConfig, findParams: findLlamaWeights },
  { architecture: 'qwen3', label: 'Qwen3', modelTypes: ['qwen3'], contextField: 'max_position_embeddings', parseConfig: parseQwen3Config, findParams: findQwen3Weights },
  { architecture: 'olmo2', label: 'OLMo 2', modelTypes: ['olmo2'], contextField: 'max_position_embeddings', parseConfig: parseOlmo2Config, findParams: findOlmo2Weights },
  { architecture: 'gemma2', label: 'Gemma 2', modelTypes: ['gemma2'], contextField: 'max_position_embeddings', parseConfig: parseGemma2Config, findParams: findGemma2Weights },
  { architecture: 'gemma3', label: 'Gemma 3', modelTypes: ['gemma3_text', 'gemma3'], contextField: 'max_position_embeddings', parseConfig: parseGemma3Config, findParams: findGemma3Weights },
  { architecture: 'phi3', label: 'Phi-3', modelTypes: ['phi3'], contextField: 'max_position_embeddings', parseConfig: parsePhi3Config, findParams: findPhi3Weights },
  { architecture: 'gptneo', label: 'GPT-Neo', modelTypes: ['gpt_neo'], contextField: 'max_position_embeddings', parseConfig: parseGptNeoConfig, findParams: findGptNeoWeights },
];

export function familyForModelType(modelType: unknown): Family | undefined {
  return FAMILIES.find((f) => typeof modelType === 'string' && f.modelTypes.includes(modelType));
}

export function familyOf(c: ModelConfig): Family {
  return FAMILIES.find((f) => f.architecture === c.architecture)!;
}
