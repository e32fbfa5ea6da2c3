/**
 * New Experiment's spec fits its model: the template's prompt gets an answer that is one token of the
 * chosen model, asked of the worker's tokenizer as the editor asks it, so the first run does not fail.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunnerClient } from '../../src/client/runner-client';
import { parseSpec } from '../../src/engine/spec/parse';
import { FALLBACK_PROMPTS, chooseTemplatePrompt, fillTemplate } from '../../src/host/new-experiment';
import { ROOT, tmpDir } from '../helpers/reference';
import { withRunner } from '../helpers/runner';

const TEMPLATE = fs.readFileSync(path.join(ROOT, 'media', 'templates', 'experiment.circuit.json'), 'utf8');

/** The editor's question: is this text one token of the model? */
const oneTokenOf = (client: RunnerClient, ref: string) => async (text: string) => (await client.request('tokenize', { model: { ref }, input: { text, bos: false } })).length === 1;

/** New Experiment's spec for a bundled model, written where it would be, with the worker's problems of it. */
async function newExperiment(client: RunnerClient, model: string): Promise<{ text: string; file: string; errors: string[] }> {
  const text = fillTemplate(TEMPLATE, model, await chooseTemplatePrompt(TEMPLATE, oneTokenOf(client, model)));
  const file = path.join(tmpDir('new-experiment'), 'experiment.circuit.json');
  fs.writeFileSync(file, text);
  const problems = await client.request('spec/check', { spec: { text, path: file } });
  return { text, file, errors: problems.filter((p) => p.severity === 'error').map((p) => p.message) };
}

test('EXPECTED FAILURE - on each bundled model the template\'s answer is one token and every analysis runs', () => withRunner({}, async (client) => {
  const template = parseSpec(TEMPLATE).spec.prompts[0];
  assert.equal(template.answer?.value, ' mat');
  assert.equal(await oneTokenOf(client, 'planted-induction')(' mat'), false, 'the template\'s own answer is two tokens there');
  const expected: Record<string, { text: string; answer: string }> = {
    demo: { text: template.text.value, answer: ' mat' },
    'planted-induction': FALLBACK_PROMPTS[0],
  };
  for (const [model, want] of Object.entries(expected)) {
    const spec = await newExperiment(client, model);
    assert.deepEqual(spec.errors, [], `${model}: no problems`);
    const parsed = parseSpec(spec.text);
    assert.deepEqual(parsed.problems, []);
    assert.equal(parsed.spec.model?.value, model);
    assert.deepEqual({ text: parsed.spec.prompts[0].text.value, answer: parsed.spec.prompts[0].answer?.value }, want, model);
    assert.match(spec.text, /^\/\/ A Circuit Lens experiment/, 'the comments are kept');
    for (const a of parsed.spec.analyses) {
      const r = await client.request('analysis/run', { spec: { text: spec.text, path: spec.file }, analysis: a.index });
      assert.equal(r.model, model, `${model}: ${a.title} ran`);
      await client.request('run/release', { runId: r.runId });
    }
  }
}));

test('without a tokenizer that can tell, the prompt has no answer rather than a wrong one', async () => {
  const prompt = await chooseTemplatePrompt(TEMPLATE, () => Promise.reject(new Error('no tokenizer')));
  assert.deepEqual(prompt, { text: parseSpec(TEMPLATE).spec.prompts[0].text.value });
  const parsed = parseSpec(fillTemplate(TEMPLATE, 'x', prompt));
  assert.deepEqual(parsed.problems, []);
  assert.equal(parsed.spec.prompts[0].answer, undefined);
  assert.equal(parsed.spec.model?.value, 'x');
});
