// The extension host bundle (dist/extension.js, built by tools/build.mjs before the tests) must not carry
// model work: no tokenizer library, no safetensors or checkpoint reader, no model loading, no graph builder,
// no analysis code, no model families and nothing from the worker. Those run in the worker thread; in the
// extension host they would freeze every extension and bloat its heap. Checked on the bundle's source map,
// whose `sources` name every file esbuild put into it (non-production builds write one).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const mapFile = path.join(root, 'dist', 'extension.js.map');

/** What must not be in the bundle, and why; a source matches when its repository path starts with `prefix`. */
const FORBIDDEN: { prefix: RegExp; what: string }[] = [
  { prefix: /(^|\/)node_modules\/@huggingface\/tokenizers\//, what: 'the tokenizer library' },
  { prefix: /(^|\/)node_modules\/onnxruntime-node\//, what: 'onnxruntime-node' },
  { prefix: /^src\/engine\/safetensors\.ts$/, what: 'the safetensors reader' },
  { prefix: /^src\/engine\/checkpoint\.ts$/, what: 'the checkpoint reader' },
  { prefix: /^src\/engine\/model\.ts$/, what: 'model loading' },
  { prefix: /^src\/engine\/tokenizer\.ts$/, what: 'the tokenizer' },
  { prefix: /^src\/engine\/graph\//, what: 'the graph builder' },
  { prefix: /^src\/engine\/analysis\//, what: 'analysis code' },
  { prefix: /^src\/engine\/families\//, what: 'model families (weight layouts)' },
  { prefix: /^src\/worker\//, what: 'the worker' },
];

/** The bundle's sources as paths from the repository root (`src/host/extension.ts`, `node_modules/...`). */
function bundleSources(): string[] {
  let text: string;
  try {
    text = readFileSync(mapFile, 'utf8');
  } catch (err) {
    throw new Error(
      `${path.relative(root, mapFile)} is missing (${(err as Error).message}): build first with \`node tools/build.mjs\` ` +
        '(npm test does; a --production build writes no source map)',
    );
  }
  const map = JSON.parse(text) as { sources?: string[]; sourceRoot?: string };
  const mapDir = path.posix.dirname(path.relative(root, mapFile).split(path.sep).join('/'));
  return (map.sources ?? []).map((source) =>
    path.posix.normalize(path.posix.join(mapDir, map.sourceRoot ?? '', source.replace(/^webpack:\/\/\/|^file:\/\//, ''))),
  );
}

test('the extension host bundle holds no tokenizer library, weight reader, model loading, graph builder, analysis, families or worker code', () => {
  const sources = bundleSources();
  assert.ok(
    sources.includes('src/host/extension.ts'),
    `dist/extension.js.map should be the extension host's (src/host/extension.ts among its sources); it lists: ${sources.slice(0, 10).join(', ')}`,
  );
  const offending = sources.flatMap((source) =>
    FORBIDDEN.filter(({ prefix }) => prefix.test(source)).map(({ what }) => `${source} (${what})`),
  );
  assert.equal(
    offending.length,
    0,
    `dist/extension.js contains ${offending.length} source(s) that belong in the worker, not the extension host:\n  ` +
      `${offending.join('\n  ')}\n(see .dependency-cruiser.cjs, \`npm run check:walls\`, for the imports that pull them in)`,
  );
});
