/**
 * A token's text for a label or a token span: the token decoded on its own, except that a token holding
 * only part of a multi-byte character (decoded on its own, it is U+FFFD "�") shows its bytes, for example
 * "<0xE2><0x80>", with any whole characters in it kept as text. Byte-level BPE (GPT-2) spells bytes with
 * GPT-2's printable-character alphabet; sentencepiece spells a fallback byte as "<0xE2>" already.
 */
import { BYTE_OF, type ModelTokenizer } from '../tokenizer';

const hexByte = (b: number) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;

/** UTF-8 bytes as text where they form whole characters, as <0xNN> where they do not. */
export function byteText(bytes: Uint8Array): string {
  const decoder = new TextDecoder();
  let out = '';
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    const n = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    const char = n > 0 && i + n <= bytes.length ? decoder.decode(bytes.subarray(i, i + n)) : '\uFFFD';
    if (char.includes('\uFFFD')) {
      out += hexByte(b);
      i++;
    } else {
      out += char;
      i += n;
    }
  }
  return out;
}

export function tokenLabel(tok: ModelTokenizer, id: number): string {
  const text = tok.decode([id]);
  if (!text.includes('\uFFFD')) return text;
  const piece = tok.idToToken(id);
  if (piece === undefined) return text;
  const chars = [...piece];
  if (!chars.every((c) => BYTE_OF.has(c))) return piece; // sentencepiece's "<0xE2>", or a piece that really holds U+FFFD
  return byteText(Uint8Array.from(chars, (c) => BYTE_OF.get(c)!));
}
