/**
 * Which flows count (product.md "Evaluating a flow" 1–2, hubble.md 6.3): one count per
 * connection start per node, and only for the sides whose endpoint is local to that node.
 * Time is the flows' own (`timeMs`), never the wall clock, so replaying an old capture
 * classifies it exactly as it was classified live.
 */
import { newStartFacts, startFactsOf, startSkipReason, SKIP_REASONS, type SkipReason } from './connection-start.js';
import type { Endpoint, Flow } from './flow.js';

/** Default lifetime of a seen 5-tuple: Cilium's non-TCP conntrack lifetime (`bpf-ct-timeout-regular-any`, 1m). */
export const DEFAULT_CONNECTION_TTL_MS = 60_000;
/** Default bound on remembered 5-tuples; the oldest is evicted (and counted) past it. */
export const DEFAULT_MAX_CONNECTIONS = 100_000;
/** Expired keys are swept at most this often (lookups check expiry themselves). */
const SWEEP_INTERVAL_MS = 1_000;

export type Classification =
  | { readonly kind: 'skip'; readonly reason: SkipReason }
  /** A connection start; `egress`: evaluate the source's egress side, `ingress`: the destination's ingress side. */
  | { readonly kind: 'connection'; readonly egress: boolean; readonly ingress: boolean };

export interface ConnectionTrackerOptions {
  /** How long a seen 5-tuple suppresses duplicates and marks replies (default 60 s). */
  readonly ttlMs?: number;
  /** Bound on remembered 5-tuples (default 100,000). */
  readonly maxEntries?: number;
}

const SKIP: Readonly<Record<SkipReason, Classification>> = Object.freeze(
  Object.fromEntries(SKIP_REASONS.map((reason) => [reason, Object.freeze({ kind: 'skip', reason })])) as Record<SkipReason, Classification>,
);
const BOTH: Classification = Object.freeze({ kind: 'connection', egress: true, ingress: true });
const EGRESS_ONLY: Classification = Object.freeze({ kind: 'connection', egress: true, ingress: false });
const INGRESS_ONLY: Classification = Object.freeze({ kind: 'connection', egress: false, ingress: true });

/**
 * The endpoint part of a connection key: its security identity, or for identity-less records
 * its pod. One packet carries the same identities at every observation point, so this never
 * splits a real connection; it keeps apart hand-written lines that reuse one 5-tuple for
 * different endpoints (test cases, replays of synthetic traffic). Numbers and strings never
 * compare equal, so an identity can never be taken for a pod name.
 */
function endpointKey(e: Endpoint): string | number {
  if (e.identity > 0) return e.identity;
  return e.kind === 'pod' || e.kind === 'unknown' ? `${e.namespace ?? ''}/${e.podName}` : e.kind;
}

/**
 * A canonical dotted-quad IPv4 address as its 32-bit value, or -1 for anything else (IPv6,
 * leading zeros, junk). Canonical text and value map one to one, so comparing values compares
 * the exact strings, and the tracker need not keep the string alive.
 */
function ipv4Value(s: string): number {
  const n = s.length;
  if (n < 7 || n > 15) return -1;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1; // a leading zero: not the canonical text
      octet = octet * 10 + (c - 48);
      if (octet > 255) return -1;
      digits++;
    } else return -1;
  }
  return digits === 0 || dots !== 3 ? -1 : value * 256 + octet;
}

function stringHash(s: string): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

function mix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** One end of a connection (address, port, endpoint key) as a 32-bit hash. */
function endHash(ipNum: number, ip: string, port: number, ep: string | number): number {
  let h = ipNum >= 0 ? mix32(ipNum) : stringHash(ip);
  h = Math.imul(h ^ port, 0x9e3779b1);
  return mix32(h ^ (typeof ep === 'number' ? mix32(ep) : stringHash(ep)));
}

/** Order matters: (a, b) and (b, a) are a connection and its reverse. */
const keyHash = (base: number, a: number, b: number): number => mix32((Math.imul(base ^ a, 0x27d4eb2f) + b) | 0);

const baseHash = (nodeHash: number, proto: string): number => nodeHash ^ Math.imul(stringHash(proto), 0x2c1b3c6d);

/**
 * The 32-bit hash the tracker files a flow's connection key under (null without a 5-tuple).
 * Exported so tests can find two different connections with the same hash and check that the
 * tracker still keeps them apart.
 */
export function connectionKeyHash(flow: Flow): number | null {
  const l4 = flow.l4;
  const ip = flow.ip;
  if (l4 === null || ip === null) return null;
  const src = endHash(ipv4Value(ip.source), ip.source, l4.sourcePort, endpointKey(flow.source));
  const dst = endHash(ipv4Value(ip.destination), ip.destination, l4.destinationPort, endpointKey(flow.destination));
  return keyHash(baseHash(stringHash(flow.node), l4.protocol), src, dst);
}

const NIL = -1;
const INITIAL_SLOTS = 256;

/**
 * Remembers connection 5-tuples per node for a TTL and classifies each flow as a counted
 * connection start (with the sides to evaluate) or a skip with its reason. Bounded: past
 * `maxEntries` the least recently seen key is evicted and counted in `evicted`.
 *
 * NOTE: the table is hand-rolled for memory and the hot path (one lookup per flow, another
 * for its reverse): entries live in parallel typed arrays indexed by slot, chained from
 * buckets by a 32-bit hash of the key, and linked in order of last sighting so that expiry
 * and eviction take the oldest in O(1). A hash only picks the bucket: every hit compares all
 * fields (node, protocol, addresses, ports, endpoint keys), so a collision never merges two
 * connections. IPv4 addresses are kept as numbers; only other addresses keep their string.
 * Nothing is allocated per flow once the table has grown.
 */
export class ConnectionTracker {
  readonly ttlMs: number;
  readonly maxEntries: number;
  #capacity = 0;
  #mask = 0;
  /** bucket → first slot of its chain (NIL when empty). */
  #buckets = new Int32Array(0);
  /** slot → next slot in the same bucket. */
  #chain = new Int32Array(0);
  /** Last-sighting order, oldest first; `#next` also threads the free list. */
  #prev = new Int32Array(0);
  #next = new Int32Array(0);
  #hash = new Int32Array(0);
  #seenAt = new Float64Array(0);
  #srcIpNum = new Float64Array(0);
  #dstIpNum = new Float64Array(0);
  #srcPort = new Float64Array(0);
  #dstPort = new Float64Array(0);
  #node: string[] = [];
  #proto: string[] = [];
  /** The address text, only when it is not IPv4 (`#…IpNum` is -1 then). */
  #srcIp: (string | null)[] = [];
  #dstIp: (string | null)[] = [];
  #srcEp: (string | number)[] = [];
  #dstEp: (string | number)[] = [];
  #head = NIL;
  #tail = NIL;
  #free = NIL;
  /** Slots handed out so far (the high-water mark); slots below it are live or free. */
  #used = 0;
  #size = 0;
  #lastNode = '';
  #lastNodeHash = stringHash('');
  #nowMs = Number.NEGATIVE_INFINITY;
  #lastSweepMs = Number.NEGATIVE_INFINITY;
  #evicted = 0;
  /** The facts of the flow being classified (filled in place). */
  readonly #facts = newStartFacts();

  constructor(options: ConnectionTrackerOptions = {}) {
    this.ttlMs = options.ttlMs ?? DEFAULT_CONNECTION_TTL_MS;
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_CONNECTIONS;
    if (!(this.ttlMs > 0)) throw new RangeError(`ttlMs must be positive, got ${this.ttlMs}`);
    if (!(this.maxEntries >= 1)) throw new RangeError(`maxEntries must be at least 1, got ${this.maxEntries}`);
    this.#reset();
  }

  /** 5-tuples currently remembered. */
  get size(): number {
    return this.#size;
  }

  /** Keys evicted before their TTL because the tracker was full. */
  get evicted(): number {
    return this.#evicted;
  }

  classify(flow: Flow): Classification {
    const skip = startSkipReason(startFactsOf(flow, this.#facts));
    if (skip !== null) return SKIP[skip];
    // startSkipReason checked the 5-tuple.
    const l4 = flow.l4!;
    const ip = flow.ip!;
    const egress = flow.source.id !== null;
    const ingress = flow.destination.id !== null;

    const t = flow.timeMs;
    if (t > this.#nowMs) this.#nowMs = t;
    if (this.#nowMs - this.#lastSweepMs >= SWEEP_INTERVAL_MS) this.#sweep();

    const node = flow.node;
    if (node !== this.#lastNode) {
      this.#lastNode = node;
      this.#lastNodeHash = stringHash(node);
    }
    const proto = l4.protocol;
    const base = baseHash(this.#lastNodeHash, proto);
    const srcIp = ip.source;
    const dstIp = ip.destination;
    const srcNum = ipv4Value(srcIp);
    const dstNum = ipv4Value(dstIp);
    const srcPort = l4.sourcePort;
    const dstPort = l4.destinationPort;
    const src = endpointKey(flow.source);
    const dst = endpointKey(flow.destination);
    const srcHash = endHash(srcNum, srcIp, srcPort, src);
    const dstHash = endHash(dstNum, dstIp, dstPort, dst);

    const hash = keyHash(base, srcHash, dstHash);
    const slot = this.#find(hash, node, proto, srcNum, srcIp, srcPort, src, dstNum, dstIp, dstPort, dst);
    if (slot !== NIL) {
      const last = this.#seenAt[slot]!;
      if (Math.abs(t - last) <= this.ttlMs) {
        this.#seenAt[slot] = last > t ? last : t;
        this.#moveToTail(slot);
        return SKIP.duplicate;
      }
    }
    const reverse = this.#find(keyHash(base, dstHash, srcHash), node, proto, dstNum, dstIp, dstPort, dst, srcNum, srcIp, srcPort, src);
    if (reverse !== NIL && Math.abs(t - this.#seenAt[reverse]!) <= this.ttlMs) return SKIP.reply;

    if (slot !== NIL) {
      // Seen before but expired: a new sighting of the same key.
      this.#seenAt[slot] = t;
      this.#moveToTail(slot);
    } else {
      if (this.#size >= this.maxEntries) {
        this.#remove(this.#head);
        this.#evicted++;
      }
      this.#insert(hash, t, node, proto, srcNum, srcIp, srcPort, src, dstNum, dstIp, dstPort, dst);
    }
    return egress ? (ingress ? BOTH : EGRESS_ONLY) : INGRESS_ONLY;
  }

  /** Forgets everything (e.g. when the agent reconnects and the stream restarts from `since`). */
  clear(): void {
    this.#reset();
    this.#nowMs = Number.NEGATIVE_INFINITY;
    this.#lastSweepMs = Number.NEGATIVE_INFINITY;
  }

  #find(hash: number, node: string, proto: string, aNum: number, aIp: string, aPort: number, aEp: string | number, bNum: number, bIp: string, bPort: number, bEp: string | number): number {
    let s = this.#buckets[hash & this.#mask]!;
    while (s !== NIL) {
      if (
        this.#hash[s] === hash &&
        this.#srcPort[s] === aPort &&
        this.#dstPort[s] === bPort &&
        this.#srcIpNum[s] === aNum &&
        this.#dstIpNum[s] === bNum &&
        this.#srcEp[s] === aEp &&
        this.#dstEp[s] === bEp &&
        this.#proto[s] === proto &&
        this.#node[s] === node &&
        (aNum >= 0 || this.#srcIp[s] === aIp) &&
        (bNum >= 0 || this.#dstIp[s] === bIp)
      ) {
        return s;
      }
      s = this.#chain[s]!;
    }
    return NIL;
  }

  #insert(hash: number, at: number, node: string, proto: string, aNum: number, aIp: string, aPort: number, aEp: string | number, bNum: number, bIp: string, bPort: number, bEp: string | number): void {
    let s = this.#free;
    if (s !== NIL) this.#free = this.#next[s]!;
    else {
      if (this.#used === this.#capacity) this.#grow();
      s = this.#used++;
    }
    this.#hash[s] = hash;
    this.#seenAt[s] = at;
    this.#srcIpNum[s] = aNum;
    this.#dstIpNum[s] = bNum;
    this.#srcPort[s] = aPort;
    this.#dstPort[s] = bPort;
    this.#node[s] = node;
    this.#proto[s] = proto;
    this.#srcIp[s] = aNum >= 0 ? null : aIp;
    this.#dstIp[s] = bNum >= 0 ? null : bIp;
    this.#srcEp[s] = aEp;
    this.#dstEp[s] = bEp;
    const b = hash & this.#mask;
    this.#chain[s] = this.#buckets[b]!;
    this.#buckets[b] = s;
    this.#prev[s] = this.#tail;
    this.#next[s] = NIL;
    if (this.#tail === NIL) this.#head = s;
    else this.#next[this.#tail] = s;
    this.#tail = s;
    this.#size++;
  }

  #remove(s: number): void {
    // Out of its bucket's chain.
    const b = this.#hash[s]! & this.#mask;
    let cur = this.#buckets[b]!;
    if (cur === s) this.#buckets[b] = this.#chain[s]!;
    else {
      while (cur !== NIL && this.#chain[cur] !== s) cur = this.#chain[cur]!;
      if (cur !== NIL) this.#chain[cur] = this.#chain[s]!;
    }
    // Out of the sighting order.
    const p = this.#prev[s]!;
    const n = this.#next[s]!;
    if (p === NIL) this.#head = n;
    else this.#next[p] = n;
    if (n === NIL) this.#tail = p;
    else this.#prev[n] = p;
    // Release the strings it held, then onto the free list.
    this.#srcIp[s] = null;
    this.#dstIp[s] = null;
    this.#srcEp[s] = 0;
    this.#dstEp[s] = 0;
    this.#node[s] = '';
    this.#proto[s] = '';
    this.#next[s] = this.#free;
    this.#free = s;
    this.#size--;
  }

  #moveToTail(s: number): void {
    if (s === this.#tail) return;
    const p = this.#prev[s]!;
    const n = this.#next[s]!;
    if (p === NIL) this.#head = n;
    else this.#next[p] = n;
    this.#prev[n] = p; // n !== NIL: s is not the tail
    this.#prev[s] = this.#tail;
    this.#next[s] = NIL;
    this.#next[this.#tail] = s;
    this.#tail = s;
  }

  #sweep(): void {
    this.#lastSweepMs = this.#nowMs;
    const cutoff = this.#nowMs - this.ttlMs;
    while (this.#head !== NIL) {
      if (this.#seenAt[this.#head]! >= cutoff) break;
      this.#remove(this.#head);
    }
  }

  #reset(): void {
    this.#capacity = 0;
    this.#used = 0;
    this.#size = 0;
    this.#head = NIL;
    this.#tail = NIL;
    this.#free = NIL;
    this.#node = [];
    this.#proto = [];
    this.#srcIp = [];
    this.#dstIp = [];
    this.#srcEp = [];
    this.#dstEp = [];
    this.#grow();
  }

  /** Doubles the slots (up to `maxEntries`) and rebuilds the buckets at a load of at most 1/2. */
  #grow(): void {
    const capacity = Math.min(this.maxEntries, Math.max(INITIAL_SLOTS, this.#capacity * 2));
    const int32 = (old: Int32Array): Int32Array<ArrayBuffer> => {
      const a = new Int32Array(capacity);
      a.set(old);
      return a;
    };
    const float64 = (old: Float64Array): Float64Array<ArrayBuffer> => {
      const a = new Float64Array(capacity);
      a.set(old);
      return a;
    };
    this.#chain = int32(this.#chain.subarray(0, this.#used));
    this.#prev = int32(this.#prev.subarray(0, this.#used));
    this.#next = int32(this.#next.subarray(0, this.#used));
    this.#hash = int32(this.#hash.subarray(0, this.#used));
    this.#seenAt = float64(this.#seenAt.subarray(0, this.#used));
    this.#srcIpNum = float64(this.#srcIpNum.subarray(0, this.#used));
    this.#dstIpNum = float64(this.#dstIpNum.subarray(0, this.#used));
    this.#srcPort = float64(this.#srcPort.subarray(0, this.#used));
    this.#dstPort = float64(this.#dstPort.subarray(0, this.#used));
    this.#capacity = capacity;
    let buckets = 16;
    while (buckets < capacity * 2) buckets *= 2;
    this.#buckets = new Int32Array(buckets).fill(NIL);
    this.#mask = buckets - 1;
    for (let s = this.#head; s !== NIL; s = this.#next[s]!) {
      const b = this.#hash[s]! & this.#mask;
      this.#chain[s] = this.#buckets[b]!;
      this.#buckets[b] = s;
    }
  }
}
