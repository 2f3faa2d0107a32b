/**
 * The fuzzer's randomness: one seeded generator (mulberry32), so a run is reproduced exactly
 * by its seed, plus the generators and mutators every target shares (bytes, JSON values,
 * structure-aware JSON edits). No Math.random anywhere in the fuzzer.
 */

export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** Values that break parsers: boundaries, wrong types, odd strings. */
const INTERESTING_NUMBERS = [0, -1, 1, 0.5, -0.0, 65535, 65536, 2 ** 31 - 1, -(2 ** 31), 2 ** 32, 2 ** 53, -(2 ** 53), 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2];
const INTERESTING_STRINGS = [
  '', ' ', '0', '-1', 'NaN', 'Infinity', 'null', 'true', '1e999', '10.0.0.0/', '10..1.1', '0x0a.0.0.1', '::', '::ffff:1.2.3.4', 'fe80::1%eth0',
  '1.2.3.4/33', '2001:db8::/129', 'TCP', 'UDP', 'SCTP', 'ICMPv4', 'FORWARDED', 'DROPPED', 'k8s:app=x', 'reserved:world', '1s', '-1s', '1h2m',
  '9999999999999999999999s', '\u0000', '\ud800', '\u202e', 'é', '"', '\\', '{', '[', '%s%n', 'a'.repeat(300), '__proto__', 'constructor', 'toString',
];
const KEYS = ['__proto__', 'constructor', 'flow', 'IP', 'l4', 'TCP', 'UDP', 'source', 'destination', 'spec', 'metadata', 'name', 'policies', 'rollout', 'stages', 'gates', 'x'];

export function randomString(rng: Rng): string {
  if (rng.chance(0.5)) return rng.pick(INTERESTING_STRINGS);
  const n = rng.int(12);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(rng.chance(0.9) ? 32 + rng.int(95) : rng.int(0x10000));
  return s;
}

export function randomNumber(rng: Rng): number {
  return rng.chance(0.6) ? rng.pick(INTERESTING_NUMBERS) : (rng.next() - 0.5) * 10 ** rng.int(12);
}

/** A random JSON value of bounded depth and size. */
export function randomJson(rng: Rng, depth = 3): unknown {
  const k = rng.int(depth > 0 ? 7 : 5);
  switch (k) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return randomNumber(rng);
    case 3:
    case 4:
      return randomString(rng);
    case 5:
      return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth - 1));
    default: {
      const o: Record<string, unknown> = {};
      const n = rng.int(4);
      for (let i = 0; i < n; i++) o[rng.chance(0.5) ? rng.pick(KEYS) : randomString(rng)] = randomJson(rng, depth - 1);
      return o;
    }
  }
}

/** Every (container, key) of a JSON tree, for structure-aware edits. */
function slots(root: unknown): { parent: Record<string, unknown> | unknown[]; key: string | number }[] {
  const out: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (v: unknown, budget: { n: number }): void => {
    if (budget.n-- <= 0 || typeof v !== 'object' || v === null) return;
    if (Array.isArray(v)) {
      v.forEach((item, i) => {
        out.push({ parent: v, key: i });
        walk(item, budget);
      });
    } else {
      for (const [k, item] of Object.entries(v)) {
        out.push({ parent: v as Record<string, unknown>, key: k });
        walk(item, budget);
      }
    }
  };
  walk(root, { n: 2000 });
  return out;
}

/**
 * A structure-aware edit of a JSON document (a deep copy): replace a value with one of another
 * type or a boundary value, delete a key, duplicate an array item, or swap two subtrees.
 */
export function mutateJson(rng: Rng, value: unknown): unknown {
  const root: unknown = structuredClone(value);
  const edits = 1 + rng.int(3);
  for (let e = 0; e < edits; e++) {
    const all = slots(root);
    if (all.length === 0) return randomJson(rng);
    const { parent, key } = rng.pick(all);
    const get = (): unknown => (parent as Record<string | number, unknown>)[key];
    const set = (v: unknown): void => {
      (parent as Record<string | number, unknown>)[key] = v;
    };
    switch (rng.int(7)) {
      case 0:
        set(randomJson(rng, 2));
        break;
      case 1:
        set(typeof get() === 'number' ? randomNumber(rng) : randomString(rng));
        break;
      case 2:
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key as string];
        break;
      case 3:
        if (Array.isArray(parent)) parent.push(structuredClone(get()));
        else parent[rng.pick(KEYS)] = randomJson(rng, 1);
        break;
      case 4: {
        const other = rng.pick(all);
        set(structuredClone((other.parent as Record<string | number, unknown>)[other.key]));
        break;
      }
      case 5:
        set(rng.pick([null, true, 0, '', [], {}]));
        break;
      default: {
        const v = get();
        if (typeof v === 'number') set(rng.pick([v + 1, v - 1, -v, v * 2 ** 32, v / 3]));
        else if (typeof v === 'string') set(v.slice(0, rng.int(v.length + 1)) + (rng.chance(0.5) ? randomString(rng) : ''));
        else set(randomJson(rng, 1));
      }
    }
  }
  return root;
}

/** Byte-level mutations: flips, overwrites with boundary bytes, inserts, deletes, truncation, splices. */
export function mutateBytes(rng: Rng, input: Uint8Array, other?: Uint8Array): Buffer {
  let b = Buffer.from(input);
  const edits = 1 + rng.int(4);
  for (let e = 0; e < edits; e++) {
    const at = b.length === 0 ? 0 : rng.int(b.length);
    switch (rng.int(7)) {
      case 0:
        if (b.length > 0) b[at] = b[at]! ^ (1 << rng.int(8));
        break;
      case 1:
        if (b.length > 0) b[at] = rng.pick([0x00, 0x01, 0x7f, 0x80, 0xff, 0x08, 0x0a, 0x12]);
        break;
      case 2: {
        const ins = Buffer.from(Array.from({ length: 1 + rng.int(8) }, () => (rng.chance(0.5) ? 0xff : rng.int(256))));
        b = Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
        break;
      }
      case 3:
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rng.int(8)))]);
        break;
      case 4:
        b = b.subarray(0, at);
        break;
      case 5:
        if (other && other.length > 0) {
          const from = rng.int(other.length);
          b = Buffer.concat([b.subarray(0, at), Buffer.from(other.subarray(from, from + 1 + rng.int(64))), b.subarray(at)]);
        }
        break;
      default:
        // A length prefix or varint made huge: the classic overrun.
        if (b.length > 0) b[at] = 0x80 | rng.int(128);
    }
  }
  return b;
}

/** Text-level mutations for JSON lines and YAML: cut, duplicate, insert syntax, flip a character. */
export function mutateText(rng: Rng, input: string): string {
  let s = input;
  const edits = 1 + rng.int(3);
  for (let e = 0; e < edits; e++) {
    const at = rng.int(s.length + 1);
    switch (rng.int(6)) {
      case 0:
        s = s.slice(0, at);
        break;
      case 1:
        s = s.slice(0, at) + s.slice(at + 1 + rng.int(10));
        break;
      case 2:
        s = s.slice(0, at) + rng.pick(['{', '}', '[', ']', ':', ',', '"', '\n', '- ', '  ', '&a ', '*a', '!!binary ', '? ', '---\n', '\t', '#', '|', '>', '\\u0000', 'ñ']) + s.slice(at);
        break;
      case 3: {
        const from = rng.int(s.length + 1);
        s = s.slice(0, at) + s.slice(from, from + rng.int(40)) + s.slice(at);
        break;
      }
      case 4:
        s = s.slice(0, at) + randomString(rng) + s.slice(at);
        break;
      default:
        if (s.length > 0) s = s.slice(0, at) + String.fromCharCode(s.charCodeAt(Math.min(at, s.length - 1)) ^ (1 << rng.int(7))) + s.slice(at + 1);
    }
  }
  return s;
}
