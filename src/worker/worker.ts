/**
 * The worker thread's entry: answers the runner's requests (src/protocol/runner.ts) over one RpcPeer, so
 * the blocking session.run and tokenizer builds never stall the extension host's or the CLI's event
 * loop. A cancel arrives two ways: a message (handled between chunks) and, for the request running now,
 * its id in shared memory (read before every chunk, even while messages wait behind native work).
 */
import * as path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { RpcPeer, ownedBuffers } from '../protocol/rpc';
import type { RunnerMethods } from '../protocol/runner';
import { Runner } from './runner';

const { cancelFlag, generation } = workerData as { cancelFlag: Int32Array; generation: number };

const runner = new Runner({
  beforeChunk: () => {
    const id = Atomics.load(cancelFlag, 0);
    if (id !== 0) peer.cancelRunning(id); // the shared flag names a request the peer is answering
  },
  scanWorkerPath: path.join(__dirname, 'scan-worker.js'),
  // Each worker of a client numbers its runs in its own range of 2^32 ids.
  firstRunId: generation * 2 ** 32 + 1,
});

// Outputs move to the caller without a copy.
const peer = new RpcPeer<Record<never, never>, RunnerMethods>((msg, transfer) => parentPort!.postMessage(msg, transfer ?? []), runner.handlers(), { transferOf: (r) => ownedBuffers(r) });

parentPort!.on('message', (msg: unknown) => peer.receive(msg));
