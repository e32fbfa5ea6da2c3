/** A model opened in the benchmark's own thread: the worker's LoadedModel, timed as the worker uses it. */
import { openCheckpoint } from '../engine/model';
import type { SessionOptions } from '../worker/session';
import { LoadedModel } from '../worker/loaded-model';

export function openBenchModel(dir: string, session: SessionOptions): Promise<LoadedModel> {
  return LoadedModel.open(openCheckpoint(dir), { session });
}
