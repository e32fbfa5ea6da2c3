/** Sparse dictionaries: open one in any supported format, run it on the CPU, and judge the result. */
export type { Activation, Architecture, CrossLayerDecoder, DictionaryFormat, DictionaryKind, DictionarySource, InputNormalization, SparseDictionary } from './types';
export { isInMemory } from './types';
export { openAttachable, openDictionaries, openDictionary, type OpenDictionaryOptions } from './open';
export { crossLayerReconstruct, denseWeights, encodeBatch, type DenseWeights, type EncodeResult } from './encode';
export { misloadSignals, reconstructionStats, type MisloadWarning, type PublishedFigures, type ReconstructionStats } from './checks';
