/**
 * The project's one IP address and CIDR parser (NetworkPolicy ipBlocks, netpol.md rules 15
 * and 22; Hubble IP flow filters). It accepts exactly what Go's net/netip `ParseAddr` and
 * `ParsePrefix` accept, which is what Cilium's Hubble server and Kubernetes' strict CIDR
 * validation use: four decimal octets without leading zeros, RFC 4291 IPv6 text (with an
 * IPv4 tail), a prefix length in plain decimal; no hex or octal IPv4 forms, no empty parts,
 * no surrounding space. test/integration/hubble-ip-filter.test.ts checks it against netip.
 *
 * An address is a list of 32-bit words: one word for IPv4, four for IPv6, most significant
 * first, so a range check is a word-by-word comparison and IPv4 never meets IPv6.
 */

export interface IpAddress {
  readonly version: 4 | 6;
  /** Unsigned 32-bit words, most significant first (length 1 for IPv4, 4 for IPv6). */
  readonly words: readonly number[];
  /** The IPv6 zone (`fe80::1%eth0`), only when parsed with `{ zone: true }`. */
  readonly zone?: string;
}

export interface ParseIpOptions {
  /** Accept an IPv6 zone after `%` (netip.ParseAddr does; prefixes never take one). */
  readonly zone?: boolean;
}

/** A CIDR block as an inclusive numeric range. */
export interface IpRange {
  readonly version: 4 | 6;
  readonly prefix: number;
  /** The network address (host bits cleared). */
  readonly first: readonly number[];
  /** The last address of the block (host bits set). */
  readonly last: readonly number[];
}

export interface ParsedCidr {
  readonly range: IpRange;
  /** True when the text had host bits set (`10.0.0.1/24`): the range is the masked network. */
  readonly hostBitsSet: boolean;
  /** Canonical text of the masked network (`10.0.0.0/24`). */
  readonly canonical: string;
}

const DEC_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseIpv4Word(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    // NOTE: leading zeros are rejected, as Go's net.ParseIP does since 1.17 (octal ambiguity).
    if (!DEC_OCTET.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    value = value * 256 + n;
  }
  return value >>> 0;
}

function parseIpv6Words(text: string): number[] | null {
  if (text.length === 0 || text.includes(':::')) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (part: string, allowV4Tail: boolean): number[] | null => {
    if (part === '') return [];
    const items = part.split(':');
    const out: number[] = [];
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (allowV4Tail && i === items.length - 1 && item.includes('.')) {
        const v4 = parseIpv4Word(item);
        if (v4 === null) return null;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else {
        if (!HEX_GROUP.test(item)) return null;
        out.push(parseInt(item, 16));
      }
    }
    return out;
  };
  let groups: number[];
  if (halves.length === 2) {
    const head = groupsOf(halves[0]!, false);
    const tail = groupsOf(halves[1]!, true);
    if (head === null || tail === null || head.length + tail.length > 7) return null;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = groupsOf(text, true);
    if (all === null || all.length !== 8) return null;
    groups = all;
  }
  const words: number[] = [];
  for (let i = 0; i < 8; i += 2) words.push(((groups[i]! << 16) | groups[i + 1]!) >>> 0);
  return words;
}

/** Parses a bare IPv4 or IPv6 address; null when it is not one. */
export function parseIp(text: string, options: ParseIpOptions = {}): IpAddress | null {
  if (text.includes(':')) {
    const percent = text.indexOf('%');
    if (percent >= 0) {
      const zone = text.slice(percent + 1);
      if (options.zone !== true || zone === '') return null;
      const words = parseIpv6Words(text.slice(0, percent));
      return words === null ? null : { version: 6, words, zone };
    }
    const words = parseIpv6Words(text);
    return words === null ? null : { version: 6, words };
  }
  const word = parseIpv4Word(text);
  return word === null ? null : { version: 4, words: [word] };
}

/** The mask of word `index` for a prefix length (all ones for words fully inside the prefix). */
function wordMask(prefix: number, index: number): number {
  const bits = Math.min(32, Math.max(0, prefix - index * 32));
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

function formatIp(version: 4 | 6, words: readonly number[]): string {
  if (version === 4) {
    const w = words[0]!;
    return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
  }
  const groups: number[] = [];
  for (const w of words) groups.push(w >>> 16, w & 0xffff);
  // Compress the longest run (length >= 2) of zero groups, as RFC 5952 asks.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Parses `addr/prefix`; a string error says what was expected. */
export function parseCidr(text: string): ParsedCidr | string {
  const slash = text.indexOf('/');
  if (slash < 0) return `must be a CIDR such as 10.0.0.0/16 or fd00::/64, got ${JSON.stringify(text)}`;
  const ip = parseIp(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  // NOTE: no leading zeros (`/08`), no sign: netip.ParsePrefix rejects both since Go 1.22.
  if (ip === null || !/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) {
    return `must be a CIDR such as 10.0.0.0/16 or fd00::/64, got ${JSON.stringify(text)}`;
  }
  const prefix = Number(prefixText);
  const maxPrefix = ip.version === 4 ? 32 : 128;
  if (prefix > maxPrefix) {
    return `prefix length must be at most ${maxPrefix} for IPv${ip.version}, got ${JSON.stringify(text)}`;
  }
  const first: number[] = [];
  const last: number[] = [];
  let hostBitsSet = false;
  ip.words.forEach((w, i) => {
    const mask = wordMask(prefix, i);
    const net = (w & mask) >>> 0;
    if (net !== w) hostBitsSet = true;
    first.push(net);
    last.push((net | ~mask) >>> 0);
  });
  return {
    range: { version: ip.version, prefix, first, last },
    hostBitsSet,
    canonical: `${formatIp(ip.version, first)}/${prefix}`,
  };
}

function compareWords(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * True when the address lies in the range (network and broadcast addresses included). An
 * address with a zone is in no range (as netip.Prefix.Contains).
 */
export function rangeContains(range: IpRange, ip: IpAddress): boolean {
  if (range.version !== ip.version || ip.zone !== undefined) return false;
  return compareWords(range.first, ip.words) <= 0 && compareWords(ip.words, range.last) <= 0;
}

/** True when `inner` is a strict subset of `outer` (same family, inside, longer prefix). */
export function isStrictSubrange(inner: IpRange, outer: IpRange): boolean {
  return (
    inner.version === outer.version &&
    inner.prefix > outer.prefix &&
    compareWords(outer.first, inner.first) <= 0 &&
    compareWords(inner.last, outer.last) <= 0
  );
}
