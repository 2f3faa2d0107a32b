/**
 * Test-side HPACK pieces written straight from RFC 7541, apart from io/http2/hpack.ts: an
 * integer encoder, a Huffman encoder (the codec under test has none), and a look into a
 * decoder's dynamic table through indexed fields only (they never change the table), so the
 * tests need nothing but the public decode().
 */
import { HpackDecoder, HpackError, type HeaderList } from '../../../../io/http2/hpack.js';
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from '../../../../io/http2/huffman-table.js';

export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

/** RFC 7541 §5.1: `flags` fill the bits above the prefix of the first octet. */
export function integer(value: number, prefixBits: number, flags = 0): number[] {
  const max = 2 ** prefixBits - 1;
  if (value < max) return [flags | value];
  const out = [flags | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

/** Huffman bits of the given symbols (256 is EOS), padded with 1s to an octet, or with `pad` when given. */
export function huffman(symbols: readonly number[], pad?: { bits: number; value: number }): Buffer {
  const bits: number[] = [];
  for (const s of symbols) {
    for (let k = HUFFMAN_LENGTHS[s]! - 1; k >= 0; k--) bits.push((HUFFMAN_CODES[s]! >>> k) & 1);
  }
  if (pad) {
    for (let k = pad.bits - 1; k >= 0; k--) bits.push((pad.value >>> k) & 1);
  } else {
    while (bits.length % 8 !== 0) bits.push(1);
  }
  if (bits.length % 8 !== 0) throw new Error(`huffman(): ${bits.length} bits is not whole octets`);
  const out = Buffer.alloc(bits.length / 8);
  bits.forEach((b, i) => {
    out[i >> 3]! |= b << (7 - (i & 7));
  });
  return out;
}

export const latin1Codes = (s: string): number[] => [...Buffer.from(s, 'latin1')];

/** A string literal (RFC 7541 §5.2), Huffman-coded or raw. */
export function stringLiteral(s: string, useHuffman: boolean): number[] {
  const octets = useHuffman ? [...huffman(latin1Codes(s))] : latin1Codes(s);
  return [...integer(octets.length, 7, useHuffman ? 0x80 : 0), ...octets];
}

/** A literal header field with incremental indexing and a new name (RFC 7541 §6.2.1). */
export function literalIndexed(name: string, value: string, useHuffman: boolean): number[] {
  return [0x40, ...stringLiteral(name, useHuffman), ...stringLiteral(value, useHuffman)];
}

/**
 * The dynamic table, newest first, read through indexed fields 62, 63, … until one is out of
 * range; the reads do not change it. Bounded: a 4096-octet table holds at most 128 entries.
 */
export function tableOf(decoder: HpackDecoder, limit = 4096): { entries: HeaderList; size: number } {
  const entries: HeaderList = [];
  for (let index = 62; index < 62 + limit / 32 + 1; index++) {
    try {
      entries.push(...decoder.decode(Buffer.from(integer(index, 7, 0x80)), Number.MAX_SAFE_INTEGER));
    } catch (err) {
      if (!(err instanceof HpackError)) throw err;
      return { entries, size: entries.reduce((n, [k, v]) => n + k.length + v.length + 32, 0) };
    }
  }
  throw new Error('tableOf: more entries than the table size allows');
}
