/**
 * Text for XML and HTML (attributes and content): the five entities escaped, and the characters XML 1.0
 * forbids (most C0 controls, unpaired surrogates, U+FFFE/U+FFFF) dropped. One copy for the CLI's reports,
 * JUnit files and the panels' SVG export.
 */
export function escapeXml(s: string): string {
  return s
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '')
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
