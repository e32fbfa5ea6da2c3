/**
 * Pickled checkpoints (.pt, .pth, .pkl, .bin, .ckpt, torch's zip pickles) are refused: loading one runs
 * code. Where a safetensors re-upload of a known release exists, the refusal names it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fail } from '../errors';

const PICKLE_EXTENSIONS = /\.(pt|pth|pkl|pickle|bin|ckpt)$/i;

/**
 * Known pickled releases and their safetensors re-uploads (SAELens format), matched on the path. Keep it
 * small: only releases whose re-upload is the same weights.
 */
const REUPLOADS: { pattern: RegExp; reupload: (m: RegExpExecArray) => string }[] = [
  {
    // OpenAI's GPT-2 small TopK SAEs (openaipublic sparse-autoencoder, {location}_v5_{32k,128k}/autoencoders/{layer}.pt)
    pattern: /(resid_post_mlp|resid_post_attn|resid_delta_mlp|resid_delta_attn)_v5_(32k|128k)/,
    reupload: (m) => {
      const site = { resid_post_mlp: 'resid-post', resid_post_attn: 'resid-mid', resid_delta_mlp: 'mlp-out', resid_delta_attn: 'attn-out' }[m[1]];
      return `jbloom/GPT2-Small-OAI-v5-${m[2]}-${site}-SAEs`;
    },
  },
];

function startsLikePickle(file: string): boolean {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const head = Buffer.alloc(4);
      const n = fs.readSync(fd, head, 0, 4, 0);
      if (n >= 2 && head[0] === 0x80 && head[1] >= 2 && head[1] <= 5) return true; // pickle protocol 2-5
      if (n < 4 || head.readUInt32LE(0) !== 0x04034b50) return false;
      // A zip: torch.save's archives hold <name>/data.pkl.
      const size = fs.fstatSync(fd).size;
      const buf = Buffer.alloc(Math.min(size, 1 << 16));
      fs.readSync(fd, buf, 0, buf.length, 0);
      return buf.includes('data.pkl');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
}

export function isPickle(file: string): boolean {
  return PICKLE_EXTENSIONS.test(file) || (!file.endsWith('.npz') && startsLikePickle(file));
}

/** Refuses a pickled dictionary, naming the re-upload when one is known. */
export function refusePickle(file: string): never {
  const hit = REUPLOADS.map((r) => ({ r, m: r.pattern.exec(file) })).find((x) => x.m);
  const fix = hit
    ? `A safetensors copy of this release exists: ${hit.r.reupload(hit.m!)} (SAELens format); download that instead.`
    : 'Convert it once in Python to safetensors (e.g. load it with SAELens and call sae.save_model(DIR)), or use a safetensors release of the same dictionary.';
  fail('BAD_INPUT', { file }, `${path.basename(file)} is a pickle; Circuit Lens does not load pickles, since loading one runs code.`, fix);
}
