/**
 * The wire reader of the fast Hubble decoder: protobuf varints, lengths and skips, strict
 * about bounds, with protobufjs's value semantics.
 */

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
const WIRE_I32 = 5;

const EMPTY = Buffer.alloc(0);

/** Messages nested deeper than this are refused, as protobufjs does (`util.recursionLimit`). */
const RECURSION_LIMIT = 100;

const truncated = (): RangeError => new RangeError('truncated varint');

/**
 * A cursor over one message's bytes, with protobufjs's value semantics (so the result is the
 * reference decoder's) but a strict wire reader: a varint is at most 10 bytes and never runs
 * past the end of the message it is in, a length never runs past it either, field number 0 is
 * refused. Sub-messages narrow `end` and restore it (`enter`/`leave`), so no reader is
 * allocated per sub-message.
 */
export class WireReader {
  buf: Buffer = EMPTY;
  pos = 0;
  end = 0;
  /**
   * NOTE: a node's Hubble names the same node in every message (twice: the flow and the
   * envelope), so the last node name is kept with its bytes and reused when the bytes match
   * (one memcmp instead of a decode). Same result either way.
   */
  #lastNameBytes = EMPTY;
  #lastName = '';

  /** Starts reading one message; `release` lets go of it. */
  begin(bytes: Buffer): void {
    this.buf = bytes;
    this.pos = 0;
    this.end = bytes.length;
  }

  /** The message buffer is not ours to keep. */
  release(): void {
    this.buf = EMPTY;
  }

  /** A varint's low 32 bits, unsigned (protobufjs `uint32`; also tags and lengths). */
  u32(): number {
    const buf = this.buf;
    const end = this.end;
    let pos = this.pos;
    if (pos >= end) throw truncated();
    let b = buf[pos++]!;
    if (b < 0x80) {
      this.pos = pos;
      return b;
    }
    let v = b & 0x7f;
    for (let shift = 7; ; shift += 7) {
      if (pos >= end) throw truncated();
      b = buf[pos++]!;
      if (shift < 32) v |= (b & 0x7f) << shift;
      if (b < 0x80) break;
      if (shift === 63) throw new RangeError('varint too long');
    }
    this.pos = pos;
    return v >>> 0;
  }

  /** int32 and enums: the low 32 bits, signed (so -1, a 10-byte varint, is -1). */
  i32(): number {
    return this.u32() | 0;
  }

  /** bool: protobufjs compares the low 32 bits with 0. */
  bool(): boolean {
    return this.u32() !== 0;
  }

  /** int64 / uint64 as a JS number, exactly as protobufjs's LongBits.toNumber gives it. */
  long(unsigned: boolean): number {
    const buf = this.buf;
    const end = this.end;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    for (let i = 0; ; i++) {
      if (pos >= end) throw truncated();
      const b = buf[pos++]!;
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= bits << 28;
        hi |= bits >> 4;
      } else hi |= bits << (7 * i - 32);
      if (b < 0x80) break;
      if (i === 9) throw new RangeError('varint too long');
    }
    this.pos = pos;
    lo >>>= 0;
    hi >>>= 0;
    if (!unsigned && hi >>> 31) {
      const l = (~lo + 1) >>> 0;
      let h = ~hi >>> 0;
      if (l === 0) h = (h + 1) >>> 0;
      return -(l + h * 4294967296);
    }
    return lo + hi * 4294967296;
  }

  /** Reads a length and returns where the field ends. */
  len(): number {
    const n = this.u32();
    const end = this.pos + n;
    if (end > this.end) throw new RangeError('length past end of message');
    return end;
  }

  string(): string {
    const end = this.len();
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end;
    return s;
  }

  /** A node name, reused while its bytes repeat (see `#lastName`). */
  nodeName(): string {
    const end = this.len();
    const buf = this.buf;
    const start = this.pos;
    this.pos = end;
    const len = end - start;
    const kept = this.#lastNameBytes;
    if (len === kept.length) {
      // A byte loop: for a name this short it is cheaper than Buffer.compare's call.
      let i = 0;
      while (i < len && kept[i] === buf[start + i]) i++;
      if (i === len) return this.#lastName;
    }
    this.#lastName = buf.toString('utf8', start, end);
    this.#lastNameBytes = Buffer.from(buf.subarray(start, end));
    return this.#lastName;
  }

  /** Starts a length-delimited sub-message; returns the outer end for `leave`. */
  enter(): number {
    const end = this.len();
    const outer = this.end;
    this.end = end;
    return outer;
  }

  leave(outer: number): void {
    // Every read stops at `end`, so a sub-message always ends exactly there.
    this.end = outer;
  }

  /** Skips one unknown field (protobufjs `skipType`, groups included), `depth` as it counts it. */
  skip(wire: number, depth: number): void {
    if (depth > RECURSION_LIMIT) throw new RangeError('maximum nesting depth exceeded');
    switch (wire) {
      case WIRE_VARINT: {
        const buf = this.buf;
        for (let i = 0; ; i++) {
          if (this.pos >= this.end) throw truncated();
          if (buf[this.pos++]! < 0x80) return;
          if (i === 9) throw new RangeError('varint too long');
        }
      }
      case WIRE_I64:
        this.pos += 8;
        break;
      case WIRE_LEN:
        this.pos = this.len();
        return;
      case WIRE_START_GROUP:
        for (;;) {
          const tag = this.u32();
          if (tag >>> 3 === 0) throw new RangeError('invalid field number 0');
          const w = tag & 7;
          if (w === WIRE_END_GROUP) return;
          this.skip(w, depth + 1);
        }
      case WIRE_I32:
        this.pos += 4;
        break;
      default:
        throw new RangeError(`invalid wire type ${wire}`);
    }
    if (this.pos > this.end) throw new RangeError('field past end of message');
  }

  /** An unknown field: field number 0 is refused, anything else skipped. */
  unknown(tag: number, depth: number): void {
    if (tag >>> 3 === 0) throw new RangeError('invalid field number 0');
    this.skip(tag & 7, depth);
  }
}


// Nesting depths as protobufjs counts them (GetFlowsResponse 0, Flow 1, Endpoint 2, TCP 3, TCPFlags 4).
export const D_RESPONSE = 0;
export const D_FLOW = 1;
export const D_IN_FLOW = 2;
export const D_IN_L4 = 3;
export const D_FLAGS = 4;
