/**
 * HPACK (RFC 7541): the header compression of HTTP/2, for the control plane's own small
 * HTTP/2 server (issue 18: node:http2 and grpc-js cost ≈ 36 KiB per agent connection, over the
 * 10,000-agent budget). Written here because the npm package (hpack.js) has not been kept since
 * 2018; the static table and the Huffman code are spec data and carry over as facts.
 *
 * The decoder keeps only what RFC 7541 obliges it to keep per connection: the dynamic table,
 * as one flat array of strings. Everything built once (the Huffman state machine, the static
 * table) lives at module level, so 10,000 decoders cost 10,000 small objects. The encoder keeps
 * no state at all: it writes literals "without indexing" and no Huffman, so it never touches
 * the peer's decoder table and needs no table of its own.
 */
import { HUFFMAN_CODES, HUFFMAN_EOS, HUFFMAN_LENGTHS } from './huffman-table.js';

/** A header block the peer encoded wrongly: the connection must end with COMPRESSION_ERROR (RFC 7540 §4.3). */
export class HpackError extends Error {
  readonly code = 'COMPRESSION_ERROR' as const;
  constructor(message: string) {
    super(message);
    this.name = 'HpackError';
  }
}

export type HeaderList = Array<[name: string, value: string]>;

/** The first value of a header in a decoded list (names are lower case on the wire). */
export function headerValue(headers: HeaderList, name: string): string | undefined {
  for (const [n, v] of headers) if (n === name) return v;
  return undefined;
}

/** RFC 7541 Appendix A, index 1..61 (index 0 is never valid). */
const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''],
  ['etag', ''], ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''],
  ['if-modified-since', ''], ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''],
  ['last-modified', ''], ['link', ''], ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''],
  ['proxy-authorization', ''], ['range', ''], ['referer', ''], ['refresh', ''], ['retry-after', ''],
  ['server', ''], ['set-cookie', ''], ['strict-transport-security', ''], ['transfer-encoding', ''],
  ['user-agent', ''], ['vary', ''], ['via', ''], ['www-authenticate', ''],
];
const STATIC_COUNT = STATIC_TABLE.length;

/** The lowest static index of each name: what the encoder refers to instead of writing the name. */
const STATIC_NAME_INDEX: ReadonlyMap<string, number> = (() => {
  const m = new Map<string, number>();
  STATIC_TABLE.forEach(([name], i) => {
    if (!m.has(name)) m.set(name, i + 1);
  });
  return m;
})();

/** The per-entry overhead of RFC 7541 §4.1 (also RFC 7540 §6.5.2's per-field overhead). */
const ENTRY_OVERHEAD = 32;
const DEFAULT_TABLE_SIZE = 4096;
const DEFAULT_MAX_LIST_SIZE = 64 * 1024;
/** Larger integers are refused (RFC 7541 §5.1 lets a decoder bound them): every length or index we accept fits in 31 bits. */
const MAX_INTEGER = 0x7fffffff;

// ---- Huffman decoding: a 4-bit state machine, built once from the code (RFC 7541 Appendix B).
// A state is an inner node of the code's tree (a complete prefix code of 257 symbols has 256),
// 0 the root. Each (state, nibble) entry says where four more bits lead and whether they
// finished a symbol; as no code is shorter than 5 bits a nibble finishes at most one.
const EMIT = 1 << 16; // the nibble finished the symbol in bits 8..15
const FAIL = 1 << 17; // the nibble finished EOS: never valid inside a string (RFC 7541 §5.2)
const HUFFMAN_STATES = 256;
const { transitions: HUFFMAN_TRANSITIONS, accepting: HUFFMAN_ACCEPTING } = buildHuffmanMachine();

function buildHuffmanMachine(): { transitions: Uint32Array; accepting: Uint8Array } {
  // child[2 * node + bit]: an inner node (> 0), a leaf as -(symbol + 1), or 0 while unset
  // (the root is never anyone's child).
  const child = new Int32Array(2 * HUFFMAN_STATES);
  // The accepting states: the bits read since the last symbol are all 1s and fewer than 8,
  // i.e. a valid padding if the string ends there (RFC 7541 §5.2). onesDepth is -1 off that path.
  const onesDepth = new Int32Array(HUFFMAN_STATES).fill(-1);
  onesDepth[0] = 0;
  let nodes = 1;
  for (let sym = 0; sym <= HUFFMAN_EOS; sym++) {
    const code = HUFFMAN_CODES[sym]!;
    let node = 0;
    for (let bit = HUFFMAN_LENGTHS[sym]! - 1; bit >= 0; bit--) {
      const b = (code >>> bit) & 1;
      const slot = 2 * node + b;
      if (bit === 0) {
        if (child[slot] !== 0) throw new Error(`huffman table: code of symbol ${sym} is not prefix-free`);
        child[slot] = -(sym + 1);
      } else {
        if (child[slot]! < 0) throw new Error(`huffman table: code of symbol ${sym} extends another symbol's code`);
        if (child[slot] === 0) {
          if (nodes === HUFFMAN_STATES) throw new Error('huffman table: more than 256 inner nodes');
          onesDepth[nodes] = b === 1 && onesDepth[node]! >= 0 ? onesDepth[node]! + 1 : -1;
          child[slot] = nodes++;
        }
        node = child[slot]!;
      }
    }
  }
  if (nodes !== HUFFMAN_STATES || child.includes(0, 2)) throw new Error('huffman table: the code is not complete');
  const transitions = new Uint32Array(HUFFMAN_STATES * 16);
  for (let state = 0; state < HUFFMAN_STATES; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let out = 0;
      for (let k = 3; k >= 0; k--) {
        const next = child[2 * node + ((nibble >> k) & 1)]!;
        if (next > 0) {
          node = next;
          continue;
        }
        const sym = -next - 1;
        if (sym === HUFFMAN_EOS) {
          out = FAIL;
          break;
        }
        if (out & EMIT) throw new Error('huffman table: a code shorter than 5 bits');
        out = EMIT | (sym << 8);
        node = 0;
      }
      transitions[state * 16 + nibble] = out | node;
    }
  }
  const accepting = Uint8Array.from(onesDepth, (d) => (d >= 0 && d <= 7 ? 1 : 0));
  return { transitions, accepting };
}

/**
 * One output buffer for every decoder's Huffman strings: decoding is synchronous, so they can
 * share it, and 10,000 decoders do not each hold one. It grows to the longest string decoded,
 * which the list-size limit bounds.
 */
let huffmanOut = Buffer.allocUnsafe(256);

/** Where decode() is inside one block. Made per call: a few words, gone after the call. */
interface Cursor {
  readonly buf: Buffer;
  pos: number;
}

export class HpackDecoder {
  private readonly maxTableSize: number;
  /** The table size the peer's encoder set last (RFC 7541 §4.2); starts at the advertised size. */
  private capacity: number;
  /** RFC 7541 §4.1 size of the entries held: name + value + 32 octets each. */
  private size = 0;
  /** The dynamic table, oldest first, flat: name, value, name, value, … */
  private readonly entries: string[] = [];

  /**
   * maxTableSize: the SETTINGS_HEADER_TABLE_SIZE we advertise (default 4096). The table starts
   * at that size, as RFC 7541 Appendix C's examples assume; a value below 4096 is only right
   * once the peer has applied our SETTINGS (until then its encoder may still use 4096).
   */
  constructor(maxTableSize: number = DEFAULT_TABLE_SIZE) {
    if (!Number.isInteger(maxTableSize) || maxTableSize < 0 || maxTableSize > MAX_INTEGER) {
      throw new RangeError(`HpackDecoder: maxTableSize must be an integer from 0 to ${MAX_INTEGER}, got ${maxTableSize}`);
    }
    this.maxTableSize = maxTableSize;
    this.capacity = maxTableSize;
  }

  /** Decodes one complete header block (HEADERS + CONTINUATION payloads joined, padding and priority already removed).
   *  Keeps the dynamic table across calls. Throws HpackError on malformed input, on an index out of range, on a table size
   *  update above maxTableSize or not at the block start, on invalid Huffman (EOS in the data, padding > 7 bits or not all 1s),
   *  on an integer overflow, and when the decoded list would exceed maxListSize (octets counted as RFC 7540 §6.5.2: name + value + 32 per field; default 64 KiB).
   *  After a throw the table is out of step with the peer's: the connection must end. */
  decode(block: Uint8Array, maxListSize: number = DEFAULT_MAX_LIST_SIZE): HeaderList {
    const buf = Buffer.isBuffer(block) ? block : Buffer.from(block.buffer, block.byteOffset, block.byteLength);
    const c: Cursor = { buf, pos: 0 };
    const list: HeaderList = [];
    let listSize = 0;
    while (c.pos < buf.length) {
      const start = c.pos;
      const first = buf[start]!;
      if ((first & 0xe0) === 0x20) {
        // 001xxxxx: dynamic table size update (RFC 7541 §6.3), only before the first field.
        if (list.length > 0) throw new HpackError(`dynamic table size update at octet ${start} comes after a header field; it must be at the start of the block`);
        const size = readInteger(c, 5);
        if (size > this.maxTableSize) throw new HpackError(`dynamic table size update at octet ${start} to ${size} octets is above the ${this.maxTableSize} we advertised`);
        this.capacity = size;
        this.evictTo(size);
        continue;
      }
      const budget = maxListSize - listSize - ENTRY_OVERHEAD;
      if (budget < 0) throw listTooLarge(start);
      let name: string;
      let value: string;
      if (first & 0x80) {
        // 1xxxxxxx: indexed header field (RFC 7541 §6.1).
        const index = readInteger(c, 7);
        if (index === 0) throw new HpackError(`indexed header field at octet ${start} has index 0`);
        name = this.nameAt(index, start);
        value = this.valueAt(index);
      } else {
        // 01xxxxxx: literal with incremental indexing (§6.2.1); 0000xxxx without indexing
        // (§6.2.2) and 0001xxxx never indexed (§6.2.3) decode alike.
        const indexing = (first & 0x40) !== 0;
        const index = readInteger(c, indexing ? 6 : 4);
        name = index === 0 ? readString(c, budget) : this.nameAt(index, start);
        value = readString(c, budget - name.length);
        if (indexing) this.insert(name, value);
      }
      listSize += name.length + value.length + ENTRY_OVERHEAD;
      if (listSize > maxListSize) throw listTooLarge(start);
      list.push([name, value]);
    }
    return list;
  }

  private nameAt(index: number, at: number): string {
    if (index <= STATIC_COUNT) return STATIC_TABLE[index - 1]![0];
    const pos = this.entries.length - 2 * (index - STATIC_COUNT);
    if (pos < 0) {
      throw new HpackError(`header field at octet ${at} refers to index ${index}, past the ${STATIC_COUNT} static and ${this.entries.length / 2} dynamic entries`);
    }
    return this.entries[pos]!;
  }

  /** The value at an index nameAt has checked. */
  private valueAt(index: number): string {
    if (index <= STATIC_COUNT) return STATIC_TABLE[index - 1]![1];
    return this.entries[this.entries.length - 2 * (index - STATIC_COUNT) + 1]!;
  }

  /** RFC 7541 §4.4: evict the oldest until the new entry fits; one larger than the table empties it and is not kept. */
  private insert(name: string, value: string): void {
    const entrySize = name.length + value.length + ENTRY_OVERHEAD;
    if (entrySize > this.capacity) {
      this.entries.length = 0;
      this.size = 0;
      return;
    }
    this.evictTo(this.capacity - entrySize);
    this.entries.push(name, value);
    this.size += entrySize;
  }

  /** Drops the oldest entries until the table holds at most `limit` octets (RFC 7541 §4.3). */
  private evictTo(limit: number): void {
    let drop = 0;
    while (this.size > limit) {
      this.size -= this.entries[drop]!.length + this.entries[drop + 1]!.length + ENTRY_OVERHEAD;
      drop += 2;
    }
    if (drop > 0) this.entries.splice(0, drop);
  }
}

function listTooLarge(at: number): HpackError {
  return new HpackError(`header list passes its size limit (name + value + 32 octets per field) at octet ${at}`);
}

/** RFC 7541 §5.1: an integer with an N-bit prefix, then 7 bits per continuation octet. */
function readInteger(c: Cursor, prefixBits: number): number {
  const start = c.pos;
  const mask = (1 << prefixBits) - 1;
  let value = c.buf[c.pos++]! & mask;
  if (value < mask) return value;
  // Multiplication, not shifts: bitwise operators would wrap at 32 bits before the check.
  for (let factor = 1; ; factor *= 128) {
    if (c.pos >= c.buf.length) throw new HpackError(`integer at octet ${start} is cut off by the end of the block`);
    const b = c.buf[c.pos++]!;
    value += (b & 0x7f) * factor;
    if (value > MAX_INTEGER || factor > 2 ** 28) throw new HpackError(`integer at octet ${start} overflows (more than ${MAX_INTEGER} or 5 continuation octets)`);
    if ((b & 0x80) === 0) return value;
  }
}

/** RFC 7541 §5.2: H bit, 7-bit-prefix length, octets; `budget` bounds the decoded length. */
function readString(c: Cursor, budget: number): string {
  const start = c.pos;
  if (start >= c.buf.length) throw new HpackError(`string literal expected at octet ${start}, the block ends there`);
  const huffman = (c.buf[start]! & 0x80) !== 0;
  const length = readInteger(c, 7);
  const from = c.pos;
  if (length > c.buf.length - from) {
    throw new HpackError(`string literal at octet ${start} is ${length} octets long but the block has ${c.buf.length - from} left`);
  }
  c.pos = from + length;
  if (!huffman) {
    if (length > budget) throw listTooLarge(start);
    return c.buf.toString('latin1', from, from + length);
  }
  return huffmanDecode(c.buf, from, from + length, budget, start);
}

function huffmanDecode(buf: Buffer, from: number, to: number, budget: number, at: number): string {
  // At most 8/5 symbols per octet (the shortest code has 5 bits), and at most 2 past the
  // budget (one octet's worth) before the check below stops it.
  const most = Math.min(Math.ceil(((to - from) * 8) / 5), budget + 2);
  if (huffmanOut.length < most) huffmanOut = Buffer.allocUnsafe(Math.max(most, 2 * huffmanOut.length));
  const out = huffmanOut;
  let n = 0;
  let state = 0;
  for (let i = from; i < to; i++) {
    const octet = buf[i]!;
    let t = HUFFMAN_TRANSITIONS[(state << 4) | (octet >> 4)]!;
    if (t & FAIL) throw new HpackError(`Huffman string at octet ${at} contains EOS`);
    if (t & EMIT) out[n++] = (t >> 8) & 0xff;
    t = HUFFMAN_TRANSITIONS[((t & 0xff) << 4) | (octet & 0x0f)]!;
    if (t & FAIL) throw new HpackError(`Huffman string at octet ${at} contains EOS`);
    if (t & EMIT) out[n++] = (t >> 8) & 0xff;
    if (n > budget) throw listTooLarge(at);
    state = t & 0xff;
  }
  if (!HUFFMAN_ACCEPTING[state]) throw new HpackError(`Huffman string at octet ${at} ends in padding that is not up to 7 1-bits`);
  return out.toString('latin1', 0, n);
}

/**
 * Encodes a header list as literals without indexing and without Huffman (we keep no encoder
 * state, so the peer's decoder table is never touched); a name in the static table is written
 * as its index. Names and values are latin1 strings (one octet per character); a character
 * above U+00FF is a programming error and throws a RangeError.
 */
export function encodeHeaders(headers: ReadonlyArray<readonly [string, string]>): Buffer {
  let size = 0;
  for (const [name, value] of headers) {
    checkLatin1(name, name);
    checkLatin1(name, value);
    const index = STATIC_NAME_INDEX.get(name);
    size += index === undefined ? 1 + integerLength(name.length, 7) + name.length : integerLength(index, 4);
    size += integerLength(value.length, 7) + value.length;
  }
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const [name, value] of headers) {
    const index = STATIC_NAME_INDEX.get(name);
    // 0000xxxx: literal header field without indexing (RFC 7541 §6.2.2).
    if (index !== undefined) {
      pos = writeInteger(out, pos, 0x00, 4, index);
    } else {
      out[pos++] = 0x00;
      pos = writeInteger(out, pos, 0x00, 7, name.length);
      pos += out.write(name, pos, 'latin1');
    }
    pos = writeInteger(out, pos, 0x00, 7, value.length);
    pos += out.write(value, pos, 'latin1');
  }
  return out;
}

/** Any UTF-16 unit above U+00FF (surrogates included): what latin1 cannot carry. */
const NON_LATIN1 = /[\u0100-\uffff]/;

function checkLatin1(name: string, s: string): void {
  if (NON_LATIN1.test(s)) throw new RangeError(`encodeHeaders: header ${JSON.stringify(name)} has a character above U+00FF; HTTP/2 fields are octets`);
}

function integerLength(value: number, prefixBits: number): number {
  const mask = (1 << prefixBits) - 1;
  if (value < mask) return 1;
  let n = 2;
  for (let rest = value - mask; rest >= 128; rest = Math.floor(rest / 128)) n++;
  return n;
}

/** RFC 7541 §5.1 encoding; `flags` are the bits above the prefix in the first octet. */
function writeInteger(out: Buffer, pos: number, flags: number, prefixBits: number, value: number): number {
  const mask = (1 << prefixBits) - 1;
  if (value < mask) {
    out[pos++] = flags | value;
    return pos;
  }
  out[pos++] = flags | mask;
  let rest = value - mask;
  while (rest >= 128) {
    out[pos++] = (rest % 128) | 0x80;
    rest = Math.floor(rest / 128);
  }
  out[pos++] = rest;
  return pos;
}
