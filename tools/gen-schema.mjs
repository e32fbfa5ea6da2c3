// Writes media/circuit-spec.schema.json from the spec vocabulary (src/engine/spec/vocabulary.ts).
// Run after changing the vocabulary: node --import tsx tools/gen-schema.mjs
// (test/unit/spec-schema.test.ts fails while the file in media/ differs from the generated one).
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SCHEMA_FILE, circuitSpecSchemaText } from '../src/engine/spec/schema.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
writeFileSync(join(root, SCHEMA_FILE), circuitSpecSchemaText());
console.log(`wrote ${SCHEMA_FILE}`);
