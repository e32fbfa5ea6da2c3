/** Opens the engine on a checkpoint for one test body (one thread, the built worker) and always disposes it. */
import { Engine } from '../../src/worker/engine';
import { WORKER } from './reference';

export async function withEngine<T>(dir: string, f: (e: Engine) => Promise<T>): Promise<T> {
  const engine = await Engine.open(dir, { workerPath: WORKER, session: { threads: 1 } });
  try {
    return await f(engine);
  } finally {
    await engine.dispose();
  }
}
