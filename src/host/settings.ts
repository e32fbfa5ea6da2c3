/** The extension's settings (contributes.configuration in package.json), read with their bounds applied. */
import * as vscode from 'vscode';
import type { BackendPreference } from '../protocol/runner';

export interface Settings {
  defaultModel: string;
  modelSearchPaths: string[];
  maxPromptTokens: number;
  backend: BackendPreference;
  cacheMemoryLimitMB: number;
  keptRunsMemoryMB: number;
  inlineActivations: boolean;
  /** Dictionary folders the Features panel attaches beyond a spec's own `saes`. */
  saes: string[];
  /** A feature index folder (circuit-lens features index) the feature card reads. */
  featureIndex: string;
  /** Label files: Neuronpedia explanation exports (.jsonl, .jsonl.gz, FILE#SOURCE) or feature-labels.json. */
  featureLabels: string[];
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.round(v)));

export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration('circuitLens');
  const backend = c.get<string>('backend', 'auto');
  return {
    defaultModel: c.get<string>('defaultModel', '').trim(),
    modelSearchPaths: c.get<string[]>('modelSearchPaths', []).filter((p) => typeof p === 'string' && p.trim() !== ''),
    maxPromptTokens: clamp(c.get<number>('maxPromptTokens', 1024), 1, 8192),
    backend: backend === 'cpu' || backend === 'cuda' ? backend : 'auto',
    cacheMemoryLimitMB: clamp(c.get<number>('cacheMemoryLimitMB', 2048), 16, 65536),
    keptRunsMemoryMB: clamp(c.get<number>('keptRunsMemoryMB', 3072), 0, 65536),
    inlineActivations: c.get<boolean>('inlineActivations', true),
    saes: c.get<string[]>('saes', []).filter((p) => typeof p === 'string' && p.trim() !== ''),
    featureIndex: c.get<string>('featureIndex', '').trim(),
    featureLabels: c.get<string[]>('featureLabels', []).filter((p) => typeof p === 'string' && p.trim() !== ''),
  };
}
