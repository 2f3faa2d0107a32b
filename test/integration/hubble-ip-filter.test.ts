/**
 * Hubble IP flow filters against the references: (1) a differential test of the replay
 * server's filter compiler against Cilium's own filterByIPs on Go's net/netip (the netip
 * oracle, test/support/netip-oracle) over generated and mutated filter strings and flow IPs;
 * (2) the upstream `hubble` CLI against `rampart replay` with the same filter strings: the
 * ones netip rejects fail the call with INVALID_ARGUMENT, the others return exactly the flows
 * the oracle says match.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileFlowFilter } from '../../replay/flow-filter.js';
import { hubbleCli } from '../support/hubble-cli/hubble-cli.js';
import { askOracle, netipOracle, type OracleAnswer } from '../support/netip-oracle/oracle.js';
import { startReplay } from '../support/replay-process.js';

const FLOWS_DIR = fileURLToPath(new URL('../../../shared/flows/', import.meta.url));
const CAPTURE = 'cilium-hubble-otel_testdata_basic-sample-400-tcp-flows.jsonl';
const SEED = 20261204;
const GENERATED_PAIRS = 20_000;

type Json = Record<string, unknown>;

let oracle = '';
beforeAll(async () => {
  oracle = await netipOracle();
}, 5 * 60_000);

/** What the replay server's compiler says for one filter string and one flow IP. */
function ours(filter: string, ip: string): OracleAnswer {
  const c = compileFlowFilter({ source_ip: [filter] });
  if (!c.ok) return 'reject';
  return c.value({ IP: { source: ip } }) ? 'match' : 'nomatch';
}

// ----------------------------------------------------------------- generators

const octet = fc.oneof(
  fc.integer({ min: 0, max: 255 }).map(String),
  fc.constantFrom('', '0', '00', '01', '007', '255', '256', '999', '1000', '0x0a', '0xff', ' 1', '1 ', '+1', '-1', 'a'),
);
const ipv4 = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(octet, octet, octet, octet).map((o) => o.join('.')) },
  { weight: 1, arbitrary: fc.array(octet, { minLength: 1, maxLength: 6 }).map((o) => o.join('.')) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }).map((n) => `0x${n.toString(16)}`) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }).map(String) },
);
const validIpv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const group = fc.oneof(
  fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16)),
  fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16).toUpperCase().padStart(4, '0')),
  fc.constantFrom('', '0', '00000', '10000', 'g', 'ffff', 'FFFF', '1.2.3.4'),
);
const ipv6 = fc.oneof(
  fc.array(group, { minLength: 1, maxLength: 9 }).map((g) => g.join(':')),
  fc.tuple(fc.array(group, { maxLength: 5 }), fc.array(group, { maxLength: 5 })).map(([a, b]) => `${a.join(':')}::${b.join(':')}`),
  fc.tuple(fc.array(group, { maxLength: 5 }), validIpv4).map(([a, v4]) => `${a.join(':')}::ffff:${v4}`),
  fc.constantFrom('::', '::1', ':::', '::ffff:1.2.3', 'fe80::1', '1::2::3', ':1::', '1::2:'),
);
const zone = fc.constantFrom('', '%eth0', '%', '%0', '%a%b', '%1/2');
const bits = fc.oneof(fc.integer({ min: 0, max: 130 }).map(String), fc.constantFrom('', '08', '00', '+8', '-1', ' 8', '8 ', '1e1', '0x8', '8/8', '4294967304'));
const address = fc.oneof(ipv4, fc.tuple(ipv6, zone).map(([a, z]) => a + z));
const filterString = fc.oneof(
  { weight: 3, arbitrary: address },
  { weight: 4, arbitrary: fc.tuple(address, bits).map(([a, b]) => `${a}/${b}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);
/** A flow's IP: mostly valid addresses, sometimes the filter's own text or a near miss. */
const flowIp = fc.oneof(
  validIpv4,
  fc.array(fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16)), { minLength: 8, maxLength: 8 }).map((g) => g.join(':')),
  fc.constantFrom('', '::1', '::ffff:10.0.0.1', 'fe80::1', '10.0.0.1', '0.0.0.0', '255.255.255.255'),
);

const validIpv6 = fc.array(fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16)), { minLength: 8, maxLength: 8 }).map((g) => g.join(':'));
/** A valid prefix and an address near it (same leading octets or groups): matches happen. */
const nearPair = fc.oneof(
  fc.tuple(validIpv4, fc.integer({ min: 0, max: 32 }), fc.integer({ min: 1, max: 3 }), fc.nat(255)).map(([a, b, keep, tail]): [string, string] => {
    const o = a.split('.');
    return [`${a}/${b}`, [...o.slice(0, keep), ...Array.from({ length: 4 - keep }, (_, i) => String((tail + i * 37) % 256))].join('.')];
  }),
  fc.tuple(validIpv6, fc.integer({ min: 0, max: 128 }), fc.integer({ min: 1, max: 7 }), fc.nat(0xffff)).map(([a, b, keep, tail]): [string, string] => {
    const g = a.split(':');
    return [`${a}/${b}`, [...g.slice(0, keep), ...Array.from({ length: 8 - keep }, (_, i) => ((tail + i * 4099) % 0x10000).toString(16))].join(':')];
  }),
);

describe('the replay server\'s IP filters agree with Cilium filterByIPs on net/netip', () => {
  it(`${GENERATED_PAIRS} generated and mutated filter strings and flow IPs (seed ${SEED})`, async () => {
    const pairs = fc.sample(
      fc.oneof(
        { weight: 2, arbitrary: fc.tuple(filterString, flowIp).chain(([f, ip]) => fc.constantFrom<[string, string]>([f, ip], [f, f.split('/')[0]!])) },
        { weight: 1, arbitrary: nearPair },
      ),
      { seed: SEED, numRuns: GENERATED_PAIRS },
    );
    const want = await askOracle(oracle, pairs);
    const mismatches = pairs.flatMap(([f, ip], i) => (ours(f, ip) === want[i] ? [] : [`${JSON.stringify(f)} vs ${JSON.stringify(ip)}: netip ${want[i]}, ours ${ours(f, ip)}`]));
    // The generators must reach all three answers, or the comparison proves little.
    const counts = { reject: 0, match: 0, nomatch: 0 };
    for (const w of want) counts[w]++;
    expect(counts.reject).toBeGreaterThan(GENERATED_PAIRS / 10);
    expect(counts.match).toBeGreaterThan(GENERATED_PAIRS / 20);
    expect(counts.nomatch).toBeGreaterThan(GENERATED_PAIRS / 20);
    expect({ mismatches: mismatches.length, first: mismatches.slice(0, 20) }).toEqual({ mismatches: 0, first: [] });
  }, 120_000);
});

// ----------------------------------------------------------------- the upstream CLI

function run(bin: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(bin, [...args], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (e, stdout, stderr) => {
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Filter strings as a user types them; the references decide which are valid. */
const CLI_FILTERS = [
  '10.0.0.0/', // the old parser read this as /0
  '10..1.1',
  '10.244.0.0/16',
  '10.244.0.1/16', // host bits set: still the /16
  '10.244.0.0/016',
  '0x0a.0xf4.0.0/16',
  '10.244.0.177',
  '10.244.000.177',
  '0.0.0.0/0',
  '::/0',
  '::ffff:10.244.0.0/112',
  'fe80::1%eth0',
  '10.244.0.0/33',
];

describe('the upstream hubble CLI against rampart replay, IP filters', () => {
  let hubble = '';
  beforeAll(async () => {
    hubble = await hubbleCli();
  }, 20 * 60_000);

  it.each(CLI_FILTERS)('hubble observe --ip %j', async (filter) => {
    const capture = readFileSync(join(FLOWS_DIR, CAPTURE), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Json);
    const ipOf = (line: Json, side: 'source' | 'destination'): string => String(((line['flow'] as Json)['IP'] as Json)[side] ?? '');
    // --ip is two filters (source, destination): a flow matches when either side does.
    const answers = await askOracle(oracle, capture.flatMap((l) => [[filter, ipOf(l, 'source')] as const, [filter, ipOf(l, 'destination')] as const]));
    const replay = await startReplay(['--flows', join(FLOWS_DIR, CAPTURE), '--listen', '127.0.0.1:0']);
    try {
      const r = await run(hubble, ['observe', '--server', replay.address, '-o', 'json', '--last', String(capture.length), '--ip', filter]);
      if (answers[0] === 'reject') {
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/InvalidArgument/);
        expect(r.stderr).toContain(`invalid IP`);
        expect(r.stdout).toBe('');
      } else {
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        const want = capture.filter((_, i) => answers[2 * i] === 'match' || answers[2 * i + 1] === 'match');
        const got = r.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Json);
        expect(got).toEqual(want);
      }
    } finally {
      await replay.stop();
    }
  }, 60_000);

  it('the table above covers both outcomes and both empty and non-empty results', async () => {
    const answers = await askOracle(oracle, CLI_FILTERS.map((f) => [f, '10.244.0.177'] as const));
    expect(answers).toContain('reject');
    expect(answers).toContain('match');
    expect(answers).toContain('nomatch');
  });
});
