/**
 * A short-lived worker thread that scans a checkpoint's weights for NaN and infinite values, so a
 * model's first runs never wait for it. It reads the weight index its parent already opened. Pure
 * JavaScript: terminating it at any time is safe.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { WeightIndex } from '../engine/checkpoint';
import { scanNonFinite } from '../engine/non-finite';

const { weights } = workerData as { weights: WeightIndex };
try {
  parentPort!.postMessage({ ok: true, found: scanNonFinite(weights) });
} catch (e) {
  parentPort!.postMessage({ ok: false, message: String((e as Error)?.message ?? e) });
}
