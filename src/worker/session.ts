/**
 * onnxruntime sessions for one checkpoint, one per graph variant (with or without per-head results),
 * created on first use. Weights are read from the safetensors files through external data, or from memory
 * once processed (src/engine/processing/).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as OrtModule from 'onnxruntime-node';
import { buildContractGraph } from '../engine/graph/contract-graph';
import { buildModelGraph } from '../engine/graph/model-graph';
import { buildComponentUnembedGraph, buildUnembedGraph } from '../engine/graph/unembed-graph';
import { GraphVariant, PLAIN_VARIANT } from '../engine/graph/hooked-graph';
import type { Checkpoint } from '../engine/model';
import type { AttachedSae } from '../engine/sae/attach';
import { SaeLayout, saeLayout, saeMemory } from '../engine/graph/sae-layout';
import { fail } from '../engine/errors';
import type { Backend, BackendPreference } from '../protocol/runner';

export type Ort = typeof OrtModule;

export interface SessionOptions {
  /** Intra-op threads; default: cores minus one, at least one. */
  threads?: number;
  /** Prepack weights at session creation: faster runs, slower load and one more copy of the weights in RAM. */
  prepack?: boolean;
  backend?: BackendPreference;
}

/**
 * onnxruntime's native library, loaded on first use: a worker that only answers questions about specs
 * and checkpoints (Restricted Mode, diagnostics) never loads it.
 */
let ortModule: Ort | undefined;
export function loadOrt(): Ort {
  ortModule ??= require('onnxruntime-node') as Ort;
  return ortModule;
}

export function defaultThreads(): number {
  return Math.max(1, (os.availableParallelism?.() ?? os.cpus().length) - 1);
}

/**
 * Whether onnxruntime-node's CUDA provider library was installed (the opt-in GPU step in the README).
 * Without it, 'auto' goes straight to the CPU instead of failing a CUDA session first.
 */
export function cudaProviderInstalled(): boolean {
  const bindingDir = path.join(path.dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
  return fs.existsSync(path.join(bindingDir, 'libonnxruntime_providers_cuda.so'));
}

/**
 * `saes`: the model graph's attached dictionaries (sae-layout.ts): their in-memory tensors join processed
 * weights, and file-backed ones resolve against the folder above the model's and theirs.
 */
function sessionOptions(ckpt: Checkpoint, opts: SessionOptions, backend: Backend, saes?: { layout: SaeLayout; memory: ReadonlyMap<string, Float32Array> }, arena = true): OrtModule.InferenceSession.SessionOptions {
  const memory = ckpt.memory ? [...ckpt.memory, ...(saes?.memory ?? [])] : undefined;
  return {
    // Processed weights are all in memory (onnxruntime takes external data all from files or all from memory).
    ...(memory ? { externalData: memory.map(([path, data]) => ({ path, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) })) } : {}),
    executionProviders: backend === 'cuda' ? [{ name: 'cuda', deviceId: 0 }] : ['cpu'],
    graphOptimizationLevel: 'all',
    // The CPU arena keeps a session's largest run's memory until the session is released (faster repeated runs).
    enableCpuMemArena: arena,
    intraOpNumThreads: opts.threads ?? defaultThreads(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // A developer's switch: per-node timings in PREFIX_<date>.json, written when the session is released.
    ...(process.env.CIRCUIT_LENS_ORT_PROFILE ? { enableProfiling: true, profileFilePrefix: process.env.CIRCUIT_LENS_ORT_PROFILE } : {}),
    extra: {
      session: {
        // Resolve external data against the real folder of the safetensors files (not a symlink).
        model_external_initializers_file_folder_path: saes?.layout.baseDir ?? ckpt.weights.dataDir,
        // A spinning second thread slows everything down on small, shared machines.
        'intra_op.allow_spinning': '0',
        disable_prepacking: opts.prepack ? '0' : '1',
      },
    },
  };
}

/** The graphs a checkpoint runs: the instrumented model in one of its variants, and the logit lens' unembeddings (of residual rows, and of decomposed components). */
export type SessionKind = { kind: 'model'; variant: GraphVariant } | { kind: 'unembed' } | { kind: 'unembedComponents' } | { kind: 'contract' };

/** Sessions kept per checkpoint; the least recently used beyond this is released (each may hold packed weights). */
const MAX_SESSIONS = 4;

export class ModelSessions {
  private readonly sessions = new Map<string, Promise<OrtModule.InferenceSession>>();
  /** Keys of the sessions whose graph starts after layer 0 (patching and ablation sweeps). */
  private readonly laterStarts = new Set<string>();
  /** Keys of the sessions of gradient graphs that split some layers, not all (edge attribution's layer chunks). */
  private readonly chunkGradients = new Set<string>();
  readonly ort = loadOrt();
  backend: Backend = 'cpu';
  backendNote?: string;

  /** Where the attached dictionaries' tensors are, and those held in memory for onnxruntime. */
  private readonly saes?: { layout: SaeLayout; memory: ReadonlyMap<string, Float32Array> };

  /** The variant runs start from: the plain graph, with the dictionaries attached in splice mode spliced. */
  readonly plain: GraphVariant;

  constructor(readonly ckpt: Checkpoint, private readonly opts: SessionOptions, saes: readonly AttachedSae[] = []) {
    const spliced = saes.filter((s) => s.mode === 'splice').map((s) => s.dict.hookIn);
    this.plain = { ...PLAIN_VARIANT, saes: spliced, saeSplice: spliced };
    if (saes.length) {
      const layout = saeLayout(saes, ckpt.weights.dataDir, !!ckpt.memory);
      this.saes = { layout, memory: saeMemory(layout) };
    }
  }

  /** Creates the default variant now, choosing the backend (CUDA falls back to CPU with a note). */
  async init(): Promise<void> {
    const want = this.opts.backend ?? 'auto';
    const installed = cudaProviderInstalled();
    if (want === 'cuda' && !installed) {
      fail('RUNTIME', { field: 'backend' }, "CUDA was asked for but onnxruntime-node's CUDA provider is not installed.", 'Run the opt-in GPU step in the README ("GPU"), or use the cpu backend.');
    }
    if (want !== 'cpu' && installed) {
      try {
        this.backend = 'cuda';
        await this.session({ kind: 'model', variant: this.plain });
        return;
      } catch (e) {
        this.sessions.clear();
        this.backend = 'cpu';
        const why = String((e as Error).message).split('\n')[0];
        if (want === 'cuda') fail('RUNTIME', { field: 'backend' }, `CUDA session failed (${why}).`, 'Check CUDA 12 and cuDNN 9 (README "GPU"), or use the cpu backend.');
        this.backendNote = `CUDA unavailable (${why}); using the CPU.`;
      }
    }
    await this.session({ kind: 'model', variant: this.plain });
  }

  session(which: SessionKind): Promise<OrtModule.InferenceSession> {
    const key = which.kind !== 'model' ? which.kind
      : JSON.stringify([which.variant.attnResult, !!which.variant.lastPositionLogits, which.variant.startLayer ?? -1, [...which.variant.interventions].sort(), [...which.variant.saes ?? []].sort(), [...which.variant.saeSplice ?? []].sort(), which.variant.grad ?? null, which.variant.splitInputs ?? [], !!which.variant.edgeAblation]);
    let s = this.sessions.get(key);
    if (s) {
      this.sessions.delete(key); // re-insert: Map order is the recency order
    } else {
      // A sweep visits each start layer once, in order: keeping the sessions of earlier start layers
      // only multiplies the memory they map (about 5.4 GB at the peak of a GPT-2 12-layer sweep with four kept).
      const later = which.kind === 'model' && which.variant.startLayer !== undefined;
      if (later) this.releaseAll(this.laterStarts);
      // Edge attribution's gradient runs visit each chunk of split layers once (edge-gradients.ts), and each
      // chunk's session keeps an arena sized for its backward (gigabytes at 512 tokens): keep only the latest.
      const chunk = which.kind === 'model' && !!which.variant.grad && !!which.variant.splitInputs && which.variant.splitInputs.length < this.ckpt.config.nLayers;
      if (chunk) this.releaseAll(this.chunkGradients);
      // Those chunks' runs and the edge-ablated forward are an analysis' largest runs, and few: without an arena their
      // memory goes back after each run instead of staying with the session beside the others' (EAP on GPT-2 small
      // at 512 tokens, prepacked: peak PSS 11.5 GB with arenas, 8.1 GB without; at 64 tokens no slower).
      const arena = !(chunk || (which.kind === 'model' && which.variant.edgeAblation));
      const { config, params } = this.ckpt;
      const model = which.kind === 'model' ? buildModelGraph(config, params, which.variant, this.saes?.layout)
        : which.kind === 'unembed' ? buildUnembedGraph(config, params) : which.kind === 'contract' ? buildContractGraph() : buildComponentUnembedGraph(config, params);
      s = this.ort.InferenceSession.create(model, sessionOptions(this.ckpt, this.opts, this.backend, which.kind === 'model' ? this.saes : undefined, arena));
      s.catch(() => this.sessions.delete(key));
      if (later) this.laterStarts.add(key);
      if (chunk) this.chunkGradients.add(key);
    }
    this.sessions.set(key, s);
    for (const [old, session] of this.sessions) {
      if (this.sessions.size <= MAX_SESSIONS) break;
      this.sessions.delete(old);
      void session.then((x) => x.release(), () => undefined);
    }
    return s;
  }

  /** Releases the sessions of a set of keys, and empties it. */
  private releaseAll(keys: Set<string>): void {
    for (const key of keys) {
      const session = this.sessions.get(key);
      this.sessions.delete(key);
      void session?.then((x) => x.release(), () => undefined);
    }
    keys.clear();
  }

  /** Releases every session (each keeps its arena's largest run until then); the next run makes the ones it needs again. */
  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    this.laterStarts.clear();
    this.chunkGradients.clear();
    for (const s of all) await (await s.catch(() => undefined))?.release();
  }

  /** Sessions held now. */
  get size(): number {
    return this.sessions.size;
  }
}
