/**
 * The model thread's side of the weight scan (scan-worker.ts): a promise of the tensors with NaN or
 * infinite values. The scan gets the weight index the model already opened (plain data: files, offsets),
 * so no checkpoint is opened a second time. Disposing stops the scan; its promise then rejects.
 */
import { Worker } from 'node:worker_threads';
import { EngineError } from '../engine/errors';
import type { WeightIndex } from '../engine/checkpoint';
import type { NonFiniteTensor } from '../engine/non-finite';

type ScanReply = { ok: true; found: NonFiniteTensor[] } | { ok: false; message: string };

export class WeightScan {
  readonly result: Promise<NonFiniteTensor[]>;
  private readonly worker: Worker;

  constructor(weights: WeightIndex, scanWorkerPath: string) {
    this.worker = new Worker(scanWorkerPath, { workerData: { weights } });
    this.result = new Promise((resolve, reject) => {
      this.worker.once('message', (r: ScanReply) => (r.ok ? resolve(r.found) : reject(new EngineError({ code: 'BAD_WEIGHTS', message: `weight scan: ${r.message}` }))));
      this.worker.once('error', (e) => reject(new EngineError({ code: 'RUNTIME', message: `weight scan: ${e.message}` })));
      this.worker.once('exit', () => reject(new EngineError({ code: 'CANCELLED', message: 'the weight scan was stopped.' })));
    });
    this.result.catch(() => undefined); // nobody may ask
  }

  async dispose(): Promise<void> {
    await this.worker.terminate();
  }
}
