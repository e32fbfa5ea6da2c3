/** The CLI's HTML report of analysis outputs: legends, axis titles, bars, histograms, words, token spans; escaped, no scripts. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { AnalysisOutput } from '../../src/protocol/analysis';
import { htmlReport } from '../../src/cli/report/html';

const heads: AnalysisOutput = {
  name: 'heads <1>', kind: 'patching', valueLabel: 'normalized logit difference', summary: "logit difference ' God' - ' Israel': clean 3.05, corrupted -3.17.",
  axes: [{ name: 'layer', labels: ['0', '1'] }, { name: 'head', labels: ['H0', 'H1'] }], values: [0, 0.5, -0.25, 1], scale: 'diverging', range: [-1, 1],
  notes: { 'clean logit difference': 3.05382 },
};

test('a heatmap has axis titles, a titled colour bar with round ticks, values in its cells and tooltips', () => {
  const page = htmlReport('spec & co', 'demo', [heads]);
  assert.match(page, /<h2>heads &lt;1&gt; <small>patching<\/small><\/h2>/);
  assert.match(page, /<p class="summary">logit difference &#39; God&#39; - &#39; Israel&#39;: clean 3\.05, corrupted -3\.17\.<\/p>/);
  assert.match(page, /<text[^>]*>layer<\/text>/);
  assert.match(page, /<text[^>]*>head<\/text>/);
  assert.match(page, /<text[^>]*font-weight="bold">normalized logit<\/text>/, 'the colour bar title, wrapped');
  assert.match(page, /<linearGradient id="scale0"/);
  assert.deepEqual([...page.matchAll(/<text[^>]*>(-?[\d.]+)<\/text>/g)].map((m) => m[1]).filter((t) => ['-1', '-0.5', '0', '0.5', '1'].includes(t)).length >= 5, true);
  assert.match(page, /<text[^>]*fill="#ffffff"[^>]*>1\.00<\/text>/, 'the value printed in its cell, white on dark blue');
  assert.match(page, /<title>layer 1, head H0: -0\.250<\/title>/);
  assert.match(page, /<li><b>clean logit difference<\/b>: 3\.0538<\/li>/);
  assert.doesNotMatch(page, /<script/);
});

test('bars, neurons with a histogram, grouped bars with a legend, token sequences as spans; every text escaped', () => {
  const outputs: AnalysisOutput[] = [
    { name: 'dla', kind: 'attribution', valueLabel: 'logit difference contribution', axes: [{ name: 'component', labels: ['embed', 'L0 <attn>'] }], values: [1, -2] },
    { name: 'neurons', kind: 'ablation', valueLabel: 'change', axes: [{ name: 'layer', labels: ['1'] }, { name: 'neuron', labels: Array.from({ length: 100 }, (_, i) => `N${i}`) }], values: Array.from({ length: 100 }, (_, i) => i - 50) },
    {
      name: 'steer', kind: 'steering', valueLabel: 'logit change', axes: [], values: [],
      sequences: [{ label: 'without steering', tokens: [{ text: '<b>' }, { text: ' x', prob: 0.9 }] }, { label: 'with steering', tokens: [{ text: '<b>' }, { text: ' y', prob: 0.1 }] }],
      texts: [{ label: 'without steering', text: '<b> x' }],
      parts: [{ name: 'probs', kind: 'steering-probabilities', valueLabel: 'next-token probability', grouped: true, scale: 'sequential', axes: [{ name: 'token', labels: ['a'] }, { name: 'steering', labels: ['without', 'with'] }], values: [0.1, 0.2] }],
    },
  ];
  const page = htmlReport('r', 'demo', outputs);
  assert.match(page, /fill="#b2182b"><title>L0 &lt;attn&gt;: -2\.00<\/title>/, 'a negative bar in red');
  assert.match(page, /fill="#2166ac"><title>embed: 1\.00<\/title>/, 'a positive bar in blue');
  assert.match(page, /<text[^>]*>logit difference contribution<\/text>/);
  assert.match(page, /<figcaption>the 20 highest and 20 lowest of 100 neurons<\/figcaption>/);
  assert.match(page, />L1 N99<\/text>/);
  assert.match(page, /<figcaption>all 100 neurons<\/figcaption>/);
  assert.match(page, /<text[^>]*>neurons<\/text>/);
  assert.match(page, /<text[^>]*>without<\/text>.*<text[^>]*>with<\/text>/s, 'the legend of the series');
  assert.match(page, /<title>a · with: 20%<\/title>/);
  assert.match(page, /<span class="tok" title="&quot;&lt;b&gt;&quot; \(prompt\)">&lt;b&gt;<\/span><span class="tok gen" title="&quot; x&quot;: probability 90%" style="background:rgb\([\d,]+\);color:#ffffff"> x<\/span>/);
  assert.doesNotMatch(page, /<pre>/, 'the texts are the sequences, shown once');
  assert.doesNotMatch(page, /<b> x|<script/, 'model text never raw');
});
