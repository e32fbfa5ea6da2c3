/**
 * Maps character positions in a decoded JSON string to offsets in its source literal, so a token's
 * range in a prompt (UTF-16 units of the value) becomes a range in the spec file despite escapes.
 */

/**
 * For a JSON string literal (quotes included) returns `map` with map[i] = source offset (relative to
 * the literal's opening quote) of value character i, and map[value.length] = the closing quote.
 */
export function literalOffsets(literal: string): number[] {
  const map: number[] = [];
  let i = 1; // after the opening quote
  const end = literal.length - 1;
  while (i < end) {
    map.push(i);
    if (literal[i] !== '\\') {
      i += 1;
    } else if (literal[i + 1] === 'u') {
      i += 6;
    } else {
      i += 2;
    }
  }
  map.push(Math.max(1, end));
  return map;
}
