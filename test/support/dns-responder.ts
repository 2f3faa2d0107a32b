/**
 * A tiny authoritative DNS server on UDP loopback (RFC 1035 wire format), the peer a headless
 * Service's name resolves against in the agent's discovery tests: it answers A and AAAA
 * queries for the names it holds, NXDOMAIN for others, and SERVFAIL for everything while
 * `failing` is set. Questions it cannot parse are dropped (the client times out).
 */
import * as dgram from 'node:dgram';
import { isIP } from 'node:net';

const TYPE_A = 1;
const TYPE_AAAA = 28;

export class DnsResponder {
  private readonly socket = dgram.createSocket('udp4');
  /** name (lower case, no trailing dot) → its addresses (IPv4 and IPv6 mixed). */
  readonly records = new Map<string, string[]>();
  failing = false;
  queries = 0;
  port = 0;

  async start(): Promise<string> {
    this.socket.on('message', (msg, from) => {
      const answer = this.answer(msg);
      if (answer !== null) this.socket.send(answer, from.port, from.address);
    });
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', () => resolve()));
    this.port = this.socket.address().port;
    return `127.0.0.1:${this.port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private answer(query: Buffer): Buffer | null {
    if (query.length < 12 || query.readUInt16BE(4) !== 1) return null;
    // The question: labels up to the zero byte, then type and class.
    const labels: string[] = [];
    let at = 12;
    for (let n = 0; n < 64; n++) {
      if (at >= query.length) return null;
      const len = query[at]!;
      if (len === 0) break;
      if (len > 63 || at + 1 + len > query.length) return null;
      labels.push(query.toString('latin1', at + 1, at + 1 + len));
      at += 1 + len;
    }
    const questionEnd = at + 5;
    if (questionEnd > query.length) return null;
    const qtype = query.readUInt16BE(at + 1);
    this.queries++;
    const name = labels.join('.').toLowerCase();
    const addresses = this.records.get(name);
    const rcode = this.failing ? 2 : addresses === undefined ? 3 : 0;
    const wanted = rcode !== 0 ? [] : addresses!.filter((a) => isIP(a) === (qtype === TYPE_AAAA ? 6 : qtype === TYPE_A ? 4 : -1));
    const header = Buffer.alloc(12);
    header.writeUInt16BE(query.readUInt16BE(0), 0); // id
    // QR, opcode 0, AA, RD copied, RA; the rcode.
    header.writeUInt16BE(0x8400 | (query.readUInt16BE(2) & 0x0100) | 0x0080 | rcode, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(wanted.length, 6);
    const parts = [header, query.subarray(12, questionEnd)];
    for (const a of wanted) {
      const v6 = isIP(a) === 6;
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
      rr.writeUInt16BE(v6 ? TYPE_AAAA : TYPE_A, 2);
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(0, 6); // TTL 0: asked again every time
      rr.writeUInt16BE(v6 ? 16 : 4, 10);
      parts.push(rr, v6 ? ipv6Bytes(a) : Buffer.from(a.split('.').map(Number)));
    }
    return Buffer.concat(parts);
  }
}

function ipv6Bytes(a: string): Buffer {
  const [head, tail] = a.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}
