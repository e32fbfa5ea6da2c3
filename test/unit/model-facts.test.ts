/**
 * The model facts behind spec diagnostics: a checkpoint's tokenizer is used only when the gate allows it
 * (in Restricted Mode, bundled models only), and a change of the gate is picked up.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ModelFactsCache } from '../../src/host/spec/model-ref';

const bundled = path.resolve(__dirname, '..', '..', 'media', 'models');
// A workspace copy of the demo model: same files, outside the bundled folder.
const workspaceModel = fs.mkdtempSync(path.join(os.tmpdir(), 'circuit-lens-ws-model-'));
fs.cpSync(path.join(bundled, 'demo'), workspaceModel, { recursive: true });

test('in Restricted Mode only bundled models tokenize the spec text', () => {
  let trusted = false;
  const facts: ModelFactsCache = new ModelFactsCache(bundled, (dir) => trusted || facts.isBundled(dir));
  assert.ok(facts.isBundled(path.join(bundled, 'demo')));
  assert.ok(!facts.isBundled(workspaceModel));
  assert.ok(!facts.isBundled(bundled), 'the bundled folder itself is not a model');

  const fromBundle = facts.get('demo');
  assert.ok('facts' in fromBundle && fromBundle.facts.countTokens, 'a bundled tokenizer counts tokens');
  const fromWorkspace = facts.get(workspaceModel);
  assert.ok('facts' in fromWorkspace);
  assert.equal(fromWorkspace.facts.countTokens, null, 'a workspace tokenizer is not loaded untrusted');
  assert.equal(fromWorkspace.facts.nLayers, 2, 'config facts are still read');

  trusted = true;
  const afterTrust = facts.get(workspaceModel);
  assert.ok('facts' in afterTrust && afterTrust.facts.countTokens);
  assert.equal(afterTrust.facts.countTokens(' the', false), 1);
});
