/**
 * HPACK codec (io/http2/hpack.ts): RFC 7541 Appendix C (octets, decoded lists and dynamic
 * tables as the RFC prints them), every error the decoder must raise, the Huffman code at every
 * length, and encodeHeaders through the decoder. The real peer (nghttp2 through node:http2) is
 * test/integration/http2-hpack-peer.test.ts: it needs a socket, which the unit project has not.
 */
import { describe, expect, it } from 'vitest';
import { encodeHeaders, HpackDecoder, HpackError, type HeaderList } from '../../../../io/http2/hpack.js';
import { HUFFMAN_LENGTHS } from '../../../../io/http2/huffman-table.js';
import { hex, huffman, integer, latin1Codes, literalIndexed, stringLiteral, tableOf } from './hpack-support.js';

interface Step {
  readonly block: string;
  readonly list: HeaderList;
  /** The dynamic table after the block, newest first, and its size, as the RFC gives them. */
  readonly table: HeaderList;
  readonly size: number;
}

/** Decodes the steps in order on one decoder, as one connection would. */
function runSequence(maxTableSize: number, steps: readonly Step[]): void {
  const decoder = new HpackDecoder(maxTableSize);
  steps.forEach((step, i) => {
    expect(decoder.decode(hex(step.block)), `list after block ${i + 1}`).toEqual(step.list);
    const table = tableOf(decoder);
    expect(table.entries, `table after block ${i + 1}`).toEqual(step.table);
    expect(table.size, `table size after block ${i + 1}`).toBe(step.size);
  });
}

const WWW: [string, string] = [':authority', 'www.example.com'];
const REQ1: HeaderList = [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], WWW];
const REQ2: HeaderList = [...REQ1, ['cache-control', 'no-cache']];
const REQ3: HeaderList = [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], WWW, ['custom-key', 'custom-value']];
const REQ_TABLES: HeaderList[] = [[WWW], [['cache-control', 'no-cache'], WWW], [['custom-key', 'custom-value'], ['cache-control', 'no-cache'], WWW]];

const DATE1: [string, string] = ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'];
const DATE2: [string, string] = ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'];
const LOC: [string, string] = ['location', 'https://www.example.com'];
const PRIV: [string, string] = ['cache-control', 'private'];
const COOKIE: [string, string] = ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'];
const RES1: HeaderList = [[':status', '302'], PRIV, DATE1, LOC];
const RES2: HeaderList = [[':status', '307'], PRIV, DATE1, LOC];
const RES3: HeaderList = [[':status', '200'], PRIV, DATE2, LOC, ['content-encoding', 'gzip'], COOKIE];
const RES_TABLES: HeaderList[] = [[LOC, DATE1, PRIV, [':status', '302']], [[':status', '307'], LOC, DATE1, PRIV], [COOKIE, ['content-encoding', 'gzip'], DATE2]];

describe('RFC 7541 Appendix C', () => {
  it('C.2.1 literal with indexing', () => {
    runSequence(4096, [{ block: '400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572', list: [['custom-key', 'custom-header']], table: [['custom-key', 'custom-header']], size: 55 }]);
  });
  it('C.2.2 literal without indexing', () => {
    runSequence(4096, [{ block: '040c 2f73 616d 706c 652f 7061 7468', list: [[':path', '/sample/path']], table: [], size: 0 }]);
  });
  it('C.2.3 literal never indexed', () => {
    runSequence(4096, [{ block: '1008 7061 7373 776f 7264 0673 6563 7265 74', list: [['password', 'secret']], table: [], size: 0 }]);
  });
  it('C.2.4 indexed field', () => {
    runSequence(4096, [{ block: '82', list: [[':method', 'GET']], table: [], size: 0 }]);
  });
  it('C.3 requests without Huffman, one decoder', () => {
    runSequence(4096, [
      { block: '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d', list: REQ1, table: REQ_TABLES[0]!, size: 57 },
      { block: '8286 84be 5808 6e6f 2d63 6163 6865', list: REQ2, table: REQ_TABLES[1]!, size: 110 },
      { block: '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65', list: REQ3, table: REQ_TABLES[2]!, size: 164 },
    ]);
  });
  it('C.4 requests with Huffman, one decoder', () => {
    runSequence(4096, [
      { block: '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff', list: REQ1, table: REQ_TABLES[0]!, size: 57 },
      { block: '8286 84be 5886 a8eb 1064 9cbf', list: REQ2, table: REQ_TABLES[1]!, size: 110 },
      { block: '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf', list: REQ3, table: REQ_TABLES[2]!, size: 164 },
    ]);
  });
  it('C.5 responses without Huffman, table size 256, with evictions', () => {
    runSequence(256, [
      {
        block: `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768
                7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d`,
        list: RES1, table: RES_TABLES[0]!, size: 222,
      },
      { block: '4803 3330 37c1 c0bf', list: RES2, table: RES_TABLES[1]!, size: 222 },
      {
        block: `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153
                444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31`,
        list: RES3, table: RES_TABLES[2]!, size: 215,
      },
    ]);
  });
  it('C.6 responses with Huffman, table size 256, with evictions', () => {
    runSequence(256, [
      {
        block: `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8
                e9ae 82ae 43d3`,
        list: RES1, table: RES_TABLES[0]!, size: 222,
      },
      { block: '4883 640e ffc1 c0bf', list: RES2, table: RES_TABLES[1]!, size: 222 },
      {
        block: `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b
                3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
        list: RES3, table: RES_TABLES[2]!, size: 215,
      },
    ]);
  });
});

describe('dynamic table', () => {
  it('a size update evicts down to the new size, and later inserts respect it', () => {
    const d = new HpackDecoder();
    d.decode(Buffer.from([...literalIndexed('a', '1', false), ...literalIndexed('b', '2', false), ...literalIndexed('c', '3', false)]));
    expect(tableOf(d).entries).toEqual([['c', '3'], ['b', '2'], ['a', '1']]);
    // 70 octets hold two 34-octet entries: the oldest goes.
    d.decode(Buffer.from([...integer(70, 5, 0x20), 0x82]));
    expect(tableOf(d).entries).toEqual([['c', '3'], ['b', '2']]);
    d.decode(Buffer.from(literalIndexed('d', '4', true)));
    expect(tableOf(d).entries).toEqual([['d', '4'], ['c', '3']]);
    // Size 0 empties it; several updates may open one block (RFC 7541 §4.2).
    d.decode(Buffer.from([0x20, ...integer(4096, 5, 0x20)]));
    expect(tableOf(d)).toEqual({ entries: [], size: 0 });
  });

  it('an entry larger than the table empties it and is not kept, but is still in the list (RFC 7541 §4.4)', () => {
    const d = new HpackDecoder(100);
    d.decode(Buffer.from(literalIndexed('x', 'y', false)));
    const big = 'v'.repeat(100 - 32);
    expect(d.decode(Buffer.from(literalIndexed('k', big, false)))).toEqual([['k', big]]);
    expect(tableOf(d)).toEqual({ entries: [], size: 0 });
    // Exactly the table size fits.
    const fits = 'v'.repeat(100 - 32 - 1);
    d.decode(Buffer.from(literalIndexed('k', fits, false)));
    expect(tableOf(d)).toEqual({ entries: [['k', fits]], size: 100 });
  });

  it('a literal may name a dynamic entry by index, and indexes shift as entries are added', () => {
    const d = new HpackDecoder();
    d.decode(Buffer.from([...literalIndexed('x-one', 'a', false), ...literalIndexed('x-two', 'b', false)]));
    // 62 is the newest (x-two), 63 x-one; a 4-bit-prefix literal names 63.
    expect(d.decode(Buffer.from([...integer(63, 4, 0x00), ...stringLiteral('z', false), 0xbe]))).toEqual([['x-one', 'z'], ['x-two', 'b']]);
  });
});

describe('errors: HpackError with code COMPRESSION_ERROR', () => {
  // [what, block, the message's telling part (so each case fails for its own reason), advertised table size]
  const cases: ReadonlyArray<[string, number[], RegExp, number?]> = [
    ['block ends inside an integer', [0xff], /integer at octet 0 is cut off/],
    ['block ends inside a multi-octet integer', [0xff, 0x80], /integer at octet 0 is cut off/],
    ['string longer than the block', [0x00, 0x05, 0x61, 0x62], /string literal at octet 1 is 5 octets long but the block has 2 left/],
    ['block ends before the value string', [0x41], /string literal expected at octet 1/],
    ['block ends before the name string', [0x40], /string literal expected at octet 1/],
    ['indexed field with index 0', [0x80], /index 0/],
    ['indexed field past the static table on an empty dynamic table', [0xbe], /index 62, past the 61 static and 0 dynamic/],
    ['literal naming an index past the table', [...integer(62, 6, 0x40), 0x01, 0x61], /index 62, past/],
    ['literal without indexing naming an index past the table', [...integer(100, 4, 0x00), 0x01, 0x61], /index 100, past/],
    ['table size update above the advertised size', integer(4097, 5, 0x20), /update at octet 0 to 4097 octets is above the 4096/],
    ['table size update after a field', [0x82, 0x20], /update at octet 1 comes after a header field/],
    ['table size update above a small advertised size', integer(101, 5, 0x20), /above the 100/, 100],
    ['integer above 2^31 - 1', [0xff, 0xff, 0xff, 0xff, 0xff, 0x0f], /integer at octet 0 overflows/],
    ['integer with 6 continuation octets', [0x0f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0x61], /integer at octet 0 overflows/],
    ['Huffman string holding EOS alone', [0x00, 0x01, 0x61, 0x84, ...huffman([256], { bits: 2, value: 3 })], /at octet 3 contains EOS/],
    ['Huffman string holding EOS after a symbol', [0x00, 0x01, 0x61, 0x85, ...huffman([97, 256], { bits: 5, value: 31 })], /contains EOS/],
    ['Huffman string holding EOS before a symbol', [0x00, 0x01, 0x61, 0x85, ...huffman([256, 97], { bits: 5, value: 31 })], /contains EOS/],
    ['Huffman padding of 8 bits', [0x00, 0x01, 0x61, 0x81, 0xff], /padding/],
    ['Huffman padding of 11 bits after a symbol', [0x00, 0x01, 0x61, 0x82, ...huffman([97], { bits: 11, value: 0x7ff })], /padding/],
    ['Huffman padding not all 1s', [0x00, 0x01, 0x61, 0x81, ...huffman([97], { bits: 3, value: 0b110 })], /padding/],
    ['Huffman padding of 0s', [0x00, 0x01, 0x61, 0x81, ...huffman([97], { bits: 3, value: 0 })], /padding/],
  ];
  it.each(cases)('%s', (_what, octets, message, maxTableSize) => {
    const d = new HpackDecoder(maxTableSize);
    let thrown: unknown;
    try {
      d.decode(Buffer.from(octets));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(HpackError);
    expect((thrown as HpackError).code).toBe('COMPRESSION_ERROR');
    expect((thrown as HpackError).message).toMatch(message);
  });

  it('the valid neighbours of those cases decode', () => {
    expect(new HpackDecoder().decode(Buffer.from(integer(4096, 5, 0x20)))).toEqual([]);
    expect(new HpackDecoder(100).decode(Buffer.from([...integer(100, 5, 0x20), 0x82]))).toEqual([[':method', 'GET']]);
    expect(new HpackDecoder().decode(Buffer.from([0xbd]))).toEqual([['www-authenticate', '']]);
    expect(new HpackDecoder().decode(Buffer.from([0x00, 0x01, 0x61, 0x81, ...huffman([97], { bits: 3, value: 7 })]))).toEqual([['a', 'a']]);
    // 2^31 - 1 is the largest integer read: here a (far too long) string length, refused as such.
    expect(() => new HpackDecoder().decode(Buffer.from([0x00, ...integer(2 ** 31 - 1, 7)]))).toThrow(/string literal .* octets long/);
    // Redundant continuation octets within the 5 allowed are fine.
    expect(new HpackDecoder().decode(Buffer.from([0x0f, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0x61]))).toEqual([['accept-charset', 'a']]);
  });

  it('refuses a list above maxListSize, counting name + value + 32 per field', () => {
    const block = Buffer.from([...literalIndexed('name', 'value', false), 0x82]); // 4+5+32 + 7+3+32 = 83
    expect(new HpackDecoder().decode(block, 83)).toHaveLength(2);
    expect(() => new HpackDecoder().decode(block, 82)).toThrow(/header list passes its size limit/);
    // Refused at the long string itself (octet 3), before it is decoded: a raw one and a Huffman one; then indexed fields.
    const long = 'x'.repeat(1000);
    expect(() => new HpackDecoder().decode(Buffer.from([0x00, ...stringLiteral('n', false), ...stringLiteral(long, false)]), 500)).toThrow(/size limit .* at octet 3$/);
    expect(() => new HpackDecoder().decode(Buffer.from([0x00, ...stringLiteral('n', true), ...stringLiteral(long, true)]), 500)).toThrow(/size limit .* at octet 3$/);
    expect(() => new HpackDecoder().decode(Buffer.from([0x82, 0x82, 0x82]), 3 * 42 - 1)).toThrow(/size limit .* at octet 2/);
    expect(new HpackDecoder().decode(Buffer.from([0x82, 0x82, 0x82]), 3 * 42)).toHaveLength(3);
  });

  it('the default list limit is 64 KiB', () => {
    const value = 'v'.repeat(64 * 1024 - 32 - 1);
    expect(new HpackDecoder().decode(Buffer.from([0x00, ...stringLiteral('n', false), ...stringLiteral(value, false)]))).toEqual([['n', value]]);
    expect(() => new HpackDecoder().decode(Buffer.from([0x00, ...stringLiteral('n', false), ...stringLiteral(`${value}v`, false)]))).toThrow(/size limit/);
  });
});

describe('Huffman', () => {
  it('the code is complete: 257 codes of 5..30 bits whose Kraft sum is exactly 1', () => {
    expect(HUFFMAN_LENGTHS).toHaveLength(257);
    expect(Math.min(...HUFFMAN_LENGTHS)).toBe(5);
    expect(Math.max(...HUFFMAN_LENGTHS)).toBe(30);
    expect(HUFFMAN_LENGTHS.reduce((sum, len) => sum + 2 ** (30 - len), 0)).toBe(2 ** 30);
  });

  it('decodes every symbol (every code length) alone, between others, and all 256 in one string', () => {
    const d = new HpackDecoder();
    for (let s = 0; s < 256; s++) {
      for (const symbols of [[s], [97, s, 0xff], [s, s, s, 0]]) {
        const value = Buffer.from(symbols).toString('latin1');
        const block = [0x00, ...stringLiteral('n', false), ...integer(huffman(symbols).length, 7, 0x80), ...huffman(symbols)];
        expect(d.decode(Buffer.from(block))).toEqual([['n', value]]);
      }
    }
    const all = Array.from({ length: 256 }, (_, i) => i);
    const block = [0x00, ...stringLiteral('n', false), ...integer(huffman(all).length, 7, 0x80), ...huffman(all)];
    expect(d.decode(Buffer.from(block))).toEqual([['n', Buffer.from(all).toString('latin1')]]);
  });

  it('an empty Huffman string is the empty string', () => {
    expect(new HpackDecoder().decode(Buffer.from([0x00, 0x01, 0x61, 0x80]))).toEqual([['a', '']]);
  });
});

describe('encodeHeaders', () => {
  it('round-trips through the decoder: empty, long (multi-octet length) and latin1 values, and leaves the table empty', () => {
    const list: HeaderList = [
      [':status', '200'],
      ['content-type', 'application/grpc'],
      ['x-empty', ''],
      ['', 'empty name'],
      ['x-long', 'L'.repeat(300)],
      ['x-' + 'n'.repeat(200), 'long name'],
      ['x-latin1', Buffer.from([0x00, 0x7f, 0x80, 0xa0, 0xe9, 0xff]).toString('latin1')],
      ['grpc-status', '0'],
      ['grpc-status', '0'],
    ];
    const d = new HpackDecoder();
    expect(d.decode(encodeHeaders(list))).toEqual(list);
    // A plain Uint8Array (not a Buffer) reads the same.
    expect(d.decode(new Uint8Array(encodeHeaders(list)))).toEqual(list);
    expect(tableOf(d)).toEqual({ entries: [], size: 0 });
  });

  it('writes a static name as its index, a new name as a literal, never Huffman, never indexing', () => {
    // :status is static index 8 (0000 1000); value "200" raw (H=0).
    expect([...encodeHeaders([[':status', '200']])]).toEqual([0x08, 0x03, ...latin1Codes('200')]);
    // A name not in the table: 0000 0000, then the name and value raw.
    expect([...encodeHeaders([['grpc-status', '0']])]).toEqual([0x00, 0x0b, ...latin1Codes('grpc-status'), 0x01, 0x30]);
    // Name index 16 takes a continuation octet on a 4-bit prefix (15 + 1).
    expect([...encodeHeaders([['accept-encoding', 'x']])]).toEqual([0x0f, 0x01, 0x01, 0x78]);
    expect([...encodeHeaders([])]).toEqual([]);
  });

  it('refuses a character above U+00FF, naming the header', () => {
    expect(() => encodeHeaders([['x-name', 'caf\u00e9 \u20ac']])).toThrow(/"x-name".*U\+00FF/);
  });
});
