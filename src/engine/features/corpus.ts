/**
 * A corpus as a stream of documents and the fixed-length windows the feature index runs: a `.txt` file
 * (paragraphs, blank lines between them) or `.jsonl` ({"text": ...} a line). Documents' tokens are
 * joined into one stream, and each window is BOS (when the model has one) followed by the next
 * context - 1 tokens of it, as SAELens' activation stores cut their contexts.
 */
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { fail } from '../errors';

export async function* corpusDocuments(file: string): AsyncGenerator<string> {
  if (!fs.existsSync(file)) fail('NOT_FOUND', { file, field: '--corpus' }, 'no such file.');
  const jsonl = file.endsWith('.jsonl');
  if (!jsonl && !file.endsWith('.txt')) fail('BAD_INPUT', { file, field: '--corpus' }, 'is neither .txt nor .jsonl.', 'Give plain text (.txt) or one {"text": ...} object a line (.jsonl).');
  const lines = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let paragraph: string[] = [];
  let n = 0;
  for await (const line of lines) {
    n++;
    if (jsonl) {
      if (!line.trim()) continue;
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch (e) {
        fail('BAD_INPUT', { file, field: `line ${n}` }, `is not valid JSON (${(e as Error).message}).`, 'Each line is {"text": "..."}.');
      }
      const text = (row as { text?: unknown })?.text;
      if (typeof text !== 'string') fail('BAD_INPUT', { file, field: `line ${n} text` }, 'is missing or not a string.', 'Each line is {"text": "..."}.');
      if (text) yield text;
      continue;
    }
    if (line.trim()) {
      paragraph.push(line);
      continue;
    }
    if (paragraph.length) yield paragraph.join('\n');
    paragraph = [];
  }
  if (paragraph.length) yield paragraph.join('\n');
}

/** Cuts a token stream into windows of `context` ids: [bos, next context - 1 tokens] (or context tokens without a BOS). */
export class WindowCutter {
  private buffer: number[] = [];

  constructor(private readonly context: number, private readonly bos: number | undefined) {
    if (!(Number.isInteger(context) && context >= 2)) fail('BAD_INPUT', { field: '--context' }, `must be an integer of at least 2, got ${context}.`);
  }

  private get body(): number {
    return this.bos === undefined ? this.context : this.context - 1;
  }

  /** Adds a document's tokens; returns the windows now complete. */
  push(ids: ArrayLike<number>): number[][] {
    for (let i = 0; i < ids.length; i++) this.buffer.push(ids[i]);
    const out: number[][] = [];
    let at = 0;
    while (this.buffer.length - at >= this.body) {
      const w = this.buffer.slice(at, at + this.body);
      out.push(this.bos === undefined ? w : [this.bos, ...w]);
      at += this.body;
    }
    this.buffer = this.buffer.slice(at);
    return out;
  }
}
