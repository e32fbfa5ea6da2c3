/**
 * Peak memory of measured work, run in a child process and sampled from outside it: the child's own
 * thread is inside onnxruntime's session.run while the memory it measures is live, and maxRSS counts a
 * file mapped twice (two sessions over the same safetensors) twice. The parent reads the child's
 * /proc/PID/smaps_rollup every few milliseconds: proportional set size, split into anonymous memory
 * (activations, arenas, prepacked weights, the JS heap) and file pages (weights used in place).
 *
 * Protocol: the child sends 'loaded' once its model is open and waits; the parent takes the baseline and
 * answers 'go'; the child does the work and sends 'done' with any result of its own.
 */
import { fork } from 'node:child_process';
import * as fs from 'node:fs';

export interface MemoryFigures {
  /** Proportional set size, bytes: anonymous + file pages, each shared page counted once. */
  pss: number;
  pssAnon: number;
  pssFile: number;
}

export interface ChildMemory<R> {
  /** After the model is open, before the work. */
  loaded: MemoryFigures;
  /** The largest value of each figure while the work ran (each field its own maximum). */
  peak: MemoryFigures;
  result: R;
}

type ChildMessage<R> = { phase: 'loaded' } | { phase: 'done'; result: R };

function readFigures(pid: number): MemoryFigures | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  } catch {
    return undefined; // the child has exited
  }
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  return { pss: kb('Pss'), pssAnon: kb('Pss_Anon'), pssFile: kb('Pss_File') };
}

const maxOf = (a: MemoryFigures, b: MemoryFigures): MemoryFigures => ({ pss: Math.max(a.pss, b.pss), pssAnon: Math.max(a.pssAnon, b.pssAnon), pssFile: Math.max(a.pssFile, b.pssFile) });

/** Runs `node argv[1] ...args` as the child and measures it; the child calls `childMeasured`. */
export function measureChild<R>(args: string[], everyMs = 2): Promise<ChildMemory<R>> {
  return new Promise((resolve, reject) => {
    const child = fork(process.argv[1], args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let loaded: MemoryFigures | undefined;
    let peak: MemoryFigures | undefined;
    let timer: NodeJS.Timeout | undefined;
    const sample = () => {
      const now = readFigures(child.pid!);
      if (now) peak = peak ? maxOf(peak, now) : now;
    };
    child.on('message', (m: ChildMessage<R>) => {
      if (m.phase === 'loaded') {
        loaded = readFigures(child.pid!);
        if (!loaded) {
          child.kill();
          return reject(new Error(`cannot read /proc/${child.pid}/smaps_rollup: the memory figures need Linux 4.14 or later.`));
        }
        peak = loaded;
        timer = setInterval(sample, everyMs);
        child.send('go');
        return;
      }
      sample();
      clearInterval(timer);
      if (!loaded || !peak) return reject(new Error('the memory child reported done before loaded'));
      resolve({ loaded, peak, result: m.result });
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      clearInterval(timer);
      if (code !== 0) reject(new Error(`the memory child ${args.join(' ')} exited with ${code}`));
    });
  });
}

/** In the child: report 'loaded', wait for the parent's baseline, run the work, report 'done'. */
export async function childMeasured<R>(work: () => Promise<R>): Promise<void> {
  const go = new Promise<void>((resolve) => process.once('message', () => resolve()));
  process.send!({ phase: 'loaded' });
  await go;
  const result = await work();
  await new Promise<void>((resolve) => process.send!({ phase: 'done', result }, () => resolve()));
  process.disconnect();
}
