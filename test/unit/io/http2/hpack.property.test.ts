/**
 * Properties of io/http2/hpack.ts over random input, from the run's fast-check seed
 * (vitest.config.ts: fixed under CI, printed, FC_SEED=<n> repeats a run):
 *  - encodeHeaders then decode gives back any latin1 header list, and leaves the table empty;
 *  - blocks written by a test-side encoder that uses every representation (indexed fields from
 *    both tables, literals with, without and never indexing, raw and Huffman strings, table size
 *    updates) decode to the list it meant, and leave the table a plain model of RFC 7541 §4
 *    predicts;
 *  - random and mutated octets throw nothing but HpackError.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeHeaders, HpackDecoder, HpackError, type HeaderList } from '../../../../io/http2/hpack.js';
import { integer, literalIndexed, stringLiteral, tableOf } from './hpack-support.js';

const latin1 = (maxLength: number): fc.Arbitrary<string> => fc.uint8Array({ maxLength }).map((b) => Buffer.from(b).toString('latin1'));
/** Mostly short strings, sometimes past 127 octets (a multi-octet length). */
const fieldString = fc.oneof({ arbitrary: latin1(12), weight: 4 }, { arbitrary: latin1(300), weight: 1 });
const headerList = fc.array(fc.tuple(fieldString, fieldString), { maxLength: 20 });

describe('encodeHeaders → HpackDecoder', () => {
  it('round-trips any latin1 header list and leaves the table empty', () => {
    const decoder = new HpackDecoder();
    fc.assert(
      fc.property(headerList, (list) => {
        expect(decoder.decode(encodeHeaders(list), Number.MAX_SAFE_INTEGER)).toEqual(list);
      }),
      { numRuns: 300 },
    );
    expect(tableOf(decoder)).toEqual({ entries: [], size: 0 });
  });
});

/** RFC 7541 §4 as a model: entries newest first, evicted from the end. */
class TableModel {
  entries: HeaderList = [];
  readonly advertised: number;
  capacity: number;
  constructor(advertised: number) {
    this.advertised = advertised;
    this.capacity = advertised;
  }
  get size(): number {
    return this.entries.reduce((n, [k, v]) => n + k.length + v.length + 32, 0);
  }
  resize(capacity: number): void {
    this.capacity = capacity;
    while (this.size > capacity) this.entries.pop();
  }
  insert(name: string, value: string): void {
    while (this.entries.length > 0 && this.size + name.length + value.length + 32 > this.capacity) this.entries.pop();
    if (name.length + value.length + 32 <= this.capacity) this.entries.unshift([name, value]);
  }
}

type Op =
  | { kind: 'indexed'; pick: number }
  | { kind: 'literal'; mode: 'incremental' | 'without' | 'never'; nameRef: number | null; name: string; value: string; huffman: boolean };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('indexed' as const), pick: fc.nat() }),
  fc.record({
    kind: fc.constant('literal' as const),
    mode: fc.constantFrom('incremental' as const, 'without' as const, 'never' as const),
    nameRef: fc.option(fc.nat(), { nil: null }),
    name: fieldString,
    value: fieldString,
    huffman: fc.boolean(),
  }),
);
/** Table size updates are drawn from 0..4096 and reduced to the decoder's advertised size. */
const blockSpec = fc.record({ sizeUpdates: fc.array(fc.integer({ min: 0, max: 4096 }), { maxLength: 2 }), ops: fc.array(op, { maxLength: 12 }) });

/** Writes one block and the list it means, advancing the model as a decoder must. */
function writeBlock(model: TableModel, spec: { sizeUpdates: number[]; ops: Op[] }): { octets: number[]; list: HeaderList } {
  const octets: number[] = [];
  const list: HeaderList = [];
  for (const drawn of spec.sizeUpdates) {
    const size = drawn % (model.advertised + 1);
    octets.push(...integer(size, 5, 0x20));
    model.resize(size);
  }
  // What an index means now: 1..61 static (only names matter for these checks), then the model.
  const indexable = (): number => 61 + model.entries.length;
  const at = (index: number): [string, string] => (index <= 61 ? (STATIC_PROBE[index - 1]!) : model.entries[index - 62]!);
  for (const o of spec.ops) {
    if (o.kind === 'indexed') {
      const index = 1 + (o.pick % indexable());
      octets.push(...integer(index, 7, 0x80));
      list.push(at(index));
      continue;
    }
    const [prefix, flags] = o.mode === 'incremental' ? [6, 0x40] : o.mode === 'without' ? [4, 0x00] : [4, 0x10];
    let name = o.name;
    if (o.nameRef === null) {
      octets.push(flags, ...stringLiteral(name, o.huffman));
    } else {
      const index = 1 + (o.nameRef % indexable());
      name = at(index)[0];
      octets.push(...integer(index, prefix, flags));
    }
    octets.push(...stringLiteral(o.value, o.huffman));
    list.push([name, o.value]);
    if (o.mode === 'incremental') model.insert(name, o.value);
  }
  return { octets, list };
}

/** The static table as the decoder itself reports it (indexed fields 1..61 of a fresh decoder). */
const STATIC_PROBE: HeaderList = new HpackDecoder().decode(Buffer.from(Array.from({ length: 61 }, (_, i) => 0x81 + i)));

describe('HpackDecoder against a model of the dynamic table', () => {
  it('the static table probe is the RFC 7541 Appendix A table', () => {
    expect(STATIC_PROBE).toHaveLength(61);
    expect(STATIC_PROBE[0]).toEqual([':authority', '']);
    expect(STATIC_PROBE[7]).toEqual([':status', '200']);
    expect(STATIC_PROBE[22]).toEqual(['authorization', '']);
    expect(STATIC_PROBE[60]).toEqual(['www-authenticate', '']);
  });

  it('decodes sequences of blocks using every representation, keeping the table the model keeps', () => {
    fc.assert(
      // Small tables too, so that evictions happen often.
      fc.property(fc.constantFrom(0, 64, 200, 1000, 4096), fc.array(blockSpec, { minLength: 1, maxLength: 6 }), (tableSize, specs) => {
        const decoder = new HpackDecoder(tableSize);
        const model = new TableModel(tableSize);
        for (const spec of specs) {
          const { octets, list } = writeBlock(model, spec);
          expect(decoder.decode(Buffer.from(octets), Number.MAX_SAFE_INTEGER)).toEqual(list);
          expect(tableOf(decoder)).toEqual({ entries: model.entries, size: model.size });
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('HpackDecoder on hostile input', () => {
  /** Runs decode and lets only HpackError through. */
  function decodeOrHpackError(decoder: HpackDecoder, octets: Uint8Array, maxListSize?: number): void {
    try {
      decoder.decode(octets, maxListSize);
    } catch (err) {
      if (!(err instanceof HpackError)) throw err;
      expect(err.code).toBe('COMPRESSION_ERROR');
    }
  }
  /** A decoder with entries in its table, so dynamic indexes resolve sometimes. */
  const primed = (): HpackDecoder => {
    const d = new HpackDecoder();
    d.decode(Buffer.from([...literalIndexed('x-a', '1', false), ...literalIndexed('x-b', 'two', true)]));
    return d;
  };

  it('random octets throw nothing but HpackError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 4096 }), fc.integer({ min: 0, max: 2000 }), (octets, tableSize, listSize) => {
        decodeOrHpackError(new HpackDecoder(tableSize), octets, listSize);
        decodeOrHpackError(primed(), octets);
      }),
      { numRuns: 2000 },
    );
  });

  it('valid blocks with octets changed or cut throw nothing but HpackError', () => {
    fc.assert(
      fc.property(blockSpec, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }), fc.nat(), (spec, changes, cut) => {
        const { octets } = writeBlock(new TableModel(4096), spec);
        if (octets.length === 0) return;
        const mutated = [...octets];
        for (const [where, octet] of changes) mutated[where % mutated.length] = octet;
        decodeOrHpackError(primed(), Buffer.from(mutated));
        decodeOrHpackError(primed(), Buffer.from(octets.slice(0, cut % octets.length)));
      }),
      { numRuns: 500 },
    );
  });
});
