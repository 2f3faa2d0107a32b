/**
 * The replay server's GetFlows semantics over real gRPC (time ranges, number/first with
 * filters, lost events bypassing filters, ServerStatus, GetNamespaces, GetNodes), and the
 * `rampart replay` / `rampart observe` commands as processes (unix socket, bad input).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubbleGrpc, type PbRecord } from '../../proto/codec/hubble-types.js';
import { HubbleServer } from '../../replay/server.js';
import { RAMPART_BIN, startReplay } from '../support/replay-process.js';
import { waitFor } from '../support/wait-for.js';

const T0 = 1_700_000_000;
function aFlow(i: number, ns: string, verdict = 'FORWARDED'): PbRecord {
  return {
    time: { seconds: T0 + i, nanos: 0 },
    verdict,
    IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 'IPv4' },
    l4: { TCP: { source_port: 10_000 + i, destination_port: 80 }, protocol: 'TCP' },
    source: { namespace: ns, pod_name: `p-${i}`, labels: [`k8s:io.kubernetes.pod.namespace=${ns}`] },
    destination: { namespace: 'db', pod_name: 'db-0' },
    Type: 'L3_L4',
    event_type: { type: 4 },
  };
}

type Client = grpc.Client & Record<string, (...args: unknown[]) => unknown>;
let server: HubbleServer;
let client: Client;
const tmp = mkdtempSync(join(tmpdir(), 'rampart-replay-'));

beforeAll(async () => {
  server = new HubbleServer({ nodeName: 'node-a', ringCapacity: 15 });
  // 20 flows and one lost notice into a ring of 15: flows 0..5 are overwritten.
  for (let i = 0; i < 20; i++) {
    server.publish(aFlow(i, i % 2 === 0 ? 'shop' : 'web', i % 5 === 0 ? 'DROPPED' : 'FORWARDED'));
    if (i === 12) server.injectLost('PERF_EVENT_RING_BUFFER', 3);
  }
  const { address } = await server.listen('127.0.0.1:0');
  const Observer = (hubbleGrpc() as unknown as { observer: { Observer: grpc.ServiceClientConstructor } }).observer.Observer;
  client = new Observer(address, grpc.credentials.createInsecure()) as unknown as Client;
});

afterAll(async () => {
  client.close();
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
});

function getFlows(request: PbRecord): Promise<{ responses: PbRecord[]; error: grpc.ServiceError | null }> {
  return new Promise((resolve) => {
    const responses: PbRecord[] = [];
    const call = client['GetFlows']!(request) as grpc.ClientReadableStream<PbRecord>;
    call.on('data', (r: PbRecord) => responses.push(r));
    call.on('error', (e: grpc.ServiceError) => resolve({ responses, error: e }));
    call.on('end', () => resolve({ responses, error: null }));
  });
}
const ports = (rs: PbRecord[]): (number | string)[] =>
  rs.map((r) =>
    r['flow']
      ? (((r['flow'] as PbRecord)['l4'] as PbRecord)['TCP'] as PbRecord)['source_port'] as number - 10_000
      : `lost:${String((r['lost_events'] as PbRecord)['num_events_lost'])}`,
  );

describe('GetFlows', () => {
  it('number=0 without follow: the whole ring, lost notices in place', async () => {
    const { responses, error } = await getFlows({});
    expect(error).toBeNull();
    expect(ports(responses)).toEqual([6, 7, 8, 9, 10, 11, 12, 'lost:3', 13, 14, 15, 16, 17, 18, 19]);
    expect(responses[0]).toMatchObject({ node_name: 'node-a', time: { seconds: T0 + 6 } });
  });

  it('number=N is the newest N matching flows; lost notices bypass filters and do not count', async () => {
    const { responses } = await getFlows({ number: 3, whitelist: [{ source_pod: ['shop/'] }] });
    expect(ports(responses)).toEqual([14, 16, 18]);
    const wider = await getFlows({ number: 5, whitelist: [{ source_pod: ['shop/'] }] });
    expect(ports(wider.responses)).toEqual([10, 12, 'lost:3', 14, 16, 18]);
  });

  it('first=true takes the oldest N; blacklist removes', async () => {
    const { responses } = await getFlows({ first: true, number: 3, blacklist: [{ verdict: ['DROPPED'] }] });
    expect(ports(responses)).toEqual([6, 7, 8]);
    const dropped = await getFlows({ first: true, number: 3, whitelist: [{ verdict: ['DROPPED'] }] });
    // the lost notice between them bypasses the filter, as in Hubble
    expect(ports(dropped.responses)).toEqual([10, 'lost:3', 15]);
  });

  it('since/until bound the time range; a since older than the ring reports what was overwritten', async () => {
    const range = await getFlows({ since: { seconds: T0 + 9 }, until: { seconds: T0 + 11 } });
    expect(ports(range.responses)).toEqual([9, 10, 11]);
    const old = await getFlows({ since: { seconds: T0 + 2 }, until: { seconds: T0 + 7 } });
    expect(old.responses[0]).toMatchObject({ lost_events: { source: 'HUBBLE_RING_BUFFER', num_events_lost: 4 } }); // flows 2..5
    expect(ports(old.responses)).toEqual(['lost:4', 6, 7]);
  });

  it('first with follow is INVALID_ARGUMENT', async () => {
    const { error } = await getFlows({ first: true, follow: true });
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('follow without number: only new flows, filtered', async () => {
    const received: PbRecord[] = [];
    const call = client['GetFlows']!({ follow: true, whitelist: [{ source_pod: ['web/'] }] }) as grpc.ClientReadableStream<PbRecord>;
    const done = new Promise<void>((resolve) => {
      call.on('data', (r: PbRecord) => {
        received.push(r);
        if (received.length === 2) resolve();
      });
    });
    call.on('error', () => {});
    await waitFor(() => server.openStreams === 1, { what: 'the follow stream' });
    for (let i = 20; i < 24; i++) server.publish(aFlow(i, i % 2 === 0 ? 'shop' : 'web'));
    await done;
    call.cancel();
    expect(ports(received)).toEqual([21, 23]);
  });
});

describe('unary calls', () => {
  const unary = (name: string): Promise<{ value: PbRecord | undefined; error: grpc.ServiceError | null }> =>
    new Promise((resolve) => {
      client[name]!({}, (error: grpc.ServiceError | null, value?: PbRecord) => resolve({ value, error }));
    });

  it('ServerStatus reports ring fill, capacity, flows seen and uptime', async () => {
    const { value } = await unary('ServerStatus');
    expect(value).toMatchObject({ max_flows: 15, version: 'rampart-replay' });
    expect(value?.['num_flows']).toBe(14); // 15 slots, one holds the lost notice
    expect(value?.['seen_flows']).toBeGreaterThanOrEqual(20);
    expect(value?.['uptime_ns']).toBeGreaterThan(0);
  });

  it('GetNamespaces lists namespaces seen in the ring; GetNodes is Relay-only', async () => {
    const ns = await unary('GetNamespaces');
    expect(ns.value).toEqual({ namespaces: [{ namespace: 'db' }, { namespace: 'shop' }, { namespace: 'web' }] });
    const nodes = await unary('GetNodes');
    expect(nodes.error?.code).toBe(grpc.status.UNIMPLEMENTED);
  });
});

function rampart(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [RAMPART_BIN, ...args], { timeout: 30_000 }, (e, stdout, stderr) => {
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('rampart replay and rampart observe as commands', () => {
  it('serve and read over a unix socket, in JSON and as a table', async () => {
    const capture = join(tmp, 'c.jsonl');
    const line = (i: number) =>
      JSON.stringify({
        flow: { time: `2024-01-01T00:00:0${i}Z`, verdict: 'DROPPED', IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 'IPv4' }, l4: { UDP: { source_port: 5000 + i, destination_port: 53 } }, source: { namespace: 'a', pod_name: 'x' }, drop_reason_desc: 'POLICY_DENIED', Summary: 'UDP' },
        node_name: 'n1',
        time: `2024-01-01T00:00:0${i}Z`,
      });
    writeFileSync(capture, `${line(1)}\n\n${line(2)}\n`);
    const sock = `unix://${join(tmp, 'hubble.sock')}`;
    const replay = await startReplay(['--flows', capture, '--listen', sock]);
    try {
      expect(replay.address).toBe(sock);
      const json = await rampart(['observe', '--server', sock, '-o', 'json', '--last', '10']);
      expect(json.code).toBe(0);
      expect(json.stdout).toBe(`${line(1)}\n${line(2)}\n`);
      const table = await rampart(['observe', '--server', sock, '--verdict', 'DROPPED', '--port', '5002']);
      expect(table.stdout.trim().split('\n')).toHaveLength(1);
      expect(table.stdout).toMatch(/2024-01-01T00:00:02Z\s+a\/x:5002\s+->\s+10\.0\.0\.2:53/);
    } finally {
      await replay.stop();
    }
  });

  it('rejects a bad capture with the file and line, and bad flags, with exit 2', async () => {
    const capture = join(tmp, 'bad.jsonl');
    writeFileSync(capture, '{"flow":{"verdict":"FORWARDED"}}\n{"flow":{"verdict":"SOMETIMES"}}\nnot json\n');
    const r = await rampart(['replay', '--flows', capture, '--listen', '127.0.0.1:0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${capture}:2.flow.verdict: unknown Verdict value "SOMETIMES"`);
    expect(r.stderr).toContain(`${capture}:3: not JSON`);
    const loop = await rampart(['replay', '--flows', capture, '--listen', '127.0.0.1:0', '--loop']);
    expect(loop.code).toBe(2);
    expect(loop.stderr).toContain('rampart replay: --loop: needs --rate');
    const observe = await rampart(['observe', '--server', '127.0.0.1:1', '-o', 'yaml']);
    expect(observe.code).toBe(2);
    const unreachable = await rampart(['observe', '--server', '127.0.0.1:1', '--last', '1']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('127.0.0.1:1');
  });
});
