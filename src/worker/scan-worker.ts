/**
 * A short-lived worker thread that scans a checkpoint's weights for NaN and infinite values, so a
 * model's first runs never wait for it. Pure JavaScript: terminating it at any time is safe.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openWeights } from '../engine/checkpoint';
import { scanNonFinite } from '../engine/non-finite';

const { dir } = workerData as { dir: string };
try {
  parentPort!.postMessage({ ok: true, found: scanNonFinite(openWeights(dir)) });
} catch (e) {
  parentPort!.postMessage({ ok: false, message: String((e as Error)?.message ?? e) });
}
