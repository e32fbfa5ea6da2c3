/** The text a dictionary's self-check samples (media/sae-sample.txt): its paragraphs, '#' lines being its header. */
export function sampleParagraphs(text: string): string[] {
  const body = text.split('\n').filter((l) => !l.startsWith('#')).join('\n');
  return body.split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean);
}
