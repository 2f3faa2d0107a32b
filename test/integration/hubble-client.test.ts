/**
 * The agent's Hubble client against real servers on loopback (and one unix socket): resume
 * after a killed server with no duplicate and no silent gap, lost events, backoff while the
 * server is absent, malformed and oversized messages, fatal statuses, mutual TLS.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { createHubbleClient, MAX_BATCH, type HubbleClientOptions } from '../../agent/hubble/client.js';
import { HubbleClientError } from '../../agent/hubble/errors.js';
import type { HubbleEvent } from '../../agent/hubble/events.js';
import type { LogFields, Logger } from '../../core/common/index.js';
import type { Flow } from '../../core/flow/flow.js';
import { encodeRecord, hubbleType, type PbRecord } from '../../proto/codec/hubble-types.js';
import { HubbleServer } from '../../replay/server.js';
import { waitFor } from '../support/wait-for.js';

const T0 = 1_700_000_000;

/** Flow i: a TCP SYN from port 10000+i; flows 45..49 share one timestamp (coarse clocks happen). */
function aFlow(i: number, extra: PbRecord = {}): PbRecord {
  const t = i >= 45 && i < 50 ? 45 : i;
  return {
    time: { seconds: T0 + t, nanos: 500 },
    verdict: 'FORWARDED',
    IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 'IPv4' },
    l4: { TCP: { source_port: 10_000 + i, destination_port: 8080, flags: { SYN: true } }, protocol: 'TCP' },
    source: { ID: 7, identity: 1234, namespace: 'shop', labels: ['k8s:app=web', 'k8s:io.kubernetes.pod.namespace=shop'], pod_name: 'web-1' },
    destination: { identity: 5678, namespace: 'shop', labels: ['k8s:app=api', 'k8s:io.kubernetes.pod.namespace=shop'], pod_name: 'api-1' },
    Type: 'L3_L4',
    node_name: 'node-1',
    event_type: { type: 4, sub_type: 0 },
    traffic_direction: 'EGRESS',
    trace_observation_point: 'TO_ENDPOINT',
    is_reply: {},
    ...extra,
  };
}
const indexOf = (f: Flow): number => (f.l4?.sourcePort ?? 0) - 10_000;

interface LogEntry {
  readonly level: string;
  readonly msg: string;
  readonly fields: LogFields;
}
function captureLogger(into: LogEntry[], base: LogFields = {}): Logger {
  const at = (level: string) => (msg: string, fields?: LogFields) => into.push({ level, msg, fields: { ...base, ...fields } });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (f) => captureLogger(into, { ...base, ...f }) };
}

/** Runs the client in the background, collecting events. */
function collect(options: HubbleClientOptions) {
  const events: HubbleEvent[] = [];
  const client = createHubbleClient(options);
  const done = (async () => {
    for await (const e of client) events.push(e);
  })();
  done.catch(() => {}); // observed by the tests that expect a failure
  const flows = () => events.filter((e): e is Extract<HubbleEvent, { kind: 'flow' }> => e.kind === 'flow').map((e) => e.flow);
  return { client, events, flows, done };
}

const servers: HubbleServer[] = [];
const controllers: AbortController[] = [];
const dirs: string[] = [];

/**
 * A Unix socket address in a fresh folder, for a server that stops and comes back at the same
 * address: no other process can take it in between, as one could take a closed TCP port.
 */
function socketAddress(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-hubble-sock-'));
  dirs.push(dir);
  return `unix://${join(dir, 'hubble.sock')}`;
}
function server(options: ConstructorParameters<typeof HubbleServer>[0] = {}): HubbleServer {
  const s = new HubbleServer({ nodeName: 'node-1', ...options });
  servers.push(s);
  return s;
}
function controller(): AbortController {
  const c = new AbortController();
  controllers.push(c);
  return c;
}
/** A short real pause instead of the backoff delay, so tests stay fast but still yield. */
const quickDelay = (delays: number[]) => (ms: number, signal: AbortSignal) => {
  delays.push(ms);
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, 20);
    signal.addEventListener('abort', done, { once: true });
  });
};

afterEach(async () => {
  for (const c of controllers.splice(0)) c.abort();
  for (const s of servers.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('resume after the server is killed mid-stream', () => {
  it('delivers every flow once: the overlap at the resume point is dropped, nothing is skipped', async () => {
    const flows = Array.from({ length: 100 }, (_, i) => aFlow(i));
    const a = server();
    const { address } = await a.listen(socketAddress());
    const delays: number[] = [];
    const logs: LogEntry[] = [];
    const ac = controller();
    const c = collect({ target: address, filters: {}, signal: ac.signal, delay: quickDelay(delays), logger: captureLogger(logs) });
    await waitFor(() => a.openStreams === 1, { what: 'client stream on server A' });
    for (const f of flows.slice(0, 50)) a.publish(f);
    await waitFor(() => c.flows().length === 50, { what: '50 flows from A' });

    await a.close(); // killed: the open stream breaks
    const b = server();
    b.loadHistory(flows.slice(0, 80)); // B holds history that overlaps what the client saw
    await b.listen(address);
    await waitFor(() => c.flows().length === 80, { what: 'resumed flows from B' });
    await waitFor(() => b.openStreams === 1);
    for (const f of flows.slice(80)) b.publish(f);
    await waitFor(() => c.flows().length === 100, { what: 'live flows from B' });

    expect(c.flows().map(indexOf)).toEqual(flows.map((_, i) => i));
    // flows 45..49 share the resume timestamp: all five came again and were dropped
    expect(c.client.stats.duplicatesDropped).toBe(5);
    expect(c.client.stats.reconnects).toBeGreaterThanOrEqual(1);
    expect(c.client.stats.flows).toBe(100);
    expect(logs.some((l) => l.level === 'warn' && l.msg === 'hubble stream lost, reconnecting')).toBe(true);
  });

  it('with earlySkip, flows skipped on the wire are counted once too: the overlap drops them like built ones', async () => {
    // Every third flow is a reply (skipped on the wire, never built); 46 and 49 fall in the
    // five flows sharing the resume timestamp, so the overlap holds both kinds.
    const isReply = (i: number): boolean => i % 3 === 1;
    const flows = Array.from({ length: 100 }, (_, i) => aFlow(i, isReply(i) ? { is_reply: { value: true } } : {}));
    const a = server();
    const { address } = await a.listen(socketAddress());
    const ac = controller();
    const c = collect({ target: address, filters: {}, signal: ac.signal, delay: quickDelay([]), earlySkip: true });
    const skipped = () => c.events.filter((e) => e.kind === 'flow-skipped').length;
    const seen = () => c.flows().length + skipped();
    await waitFor(() => a.openStreams === 1, { what: 'client stream on server A' });
    for (const f of flows.slice(0, 50)) a.publish(f);
    await waitFor(() => seen() === 50, { what: '50 flows from A' });

    await a.close();
    const b = server();
    b.loadHistory(flows.slice(0, 80));
    await b.listen(address);
    await waitFor(() => seen() === 80, { what: 'resumed flows from B' });
    await waitFor(() => b.openStreams === 1);
    for (const f of flows.slice(80)) b.publish(f);
    await waitFor(() => seen() === 100, { what: 'live flows from B' });

    const replies = flows.filter((_, i) => isReply(i)).length;
    expect(skipped()).toBe(replies);
    expect(c.flows().map(indexOf)).toEqual(flows.map((_, i) => i).filter((i) => !isReply(i)));
    expect(c.client.stats.duplicatesDropped).toBe(5);
    expect(c.client.stats.flows).toBe(100);
  });

  it('reports what the restarted server no longer holds as lost instead of skipping silently', async () => {
    const flows = Array.from({ length: 80 }, (_, i) => aFlow(i));
    const a = server();
    const { address } = await a.listen(socketAddress());
    const ac = controller();
    const c = collect({ target: address, filters: {}, signal: ac.signal, delay: quickDelay([]) });
    await waitFor(() => a.openStreams === 1);
    for (const f of flows.slice(0, 50)) a.publish(f);
    await waitFor(() => c.flows().length === 50);
    await a.close();

    const b = server({ ringCapacity: 16 }); // keeps flows 64..79 only
    b.loadHistory(flows);
    await b.listen(address);
    await waitFor(() => c.flows().length === 66, { what: 'flows 64..79 after the resume' });

    expect(c.flows().map(indexOf)).toEqual([...Array.from({ length: 50 }, (_, i) => i), ...Array.from({ length: 16 }, (_, i) => 64 + i)]);
    const lost = c.client.stats.lostEvents['HUBBLE_RING_BUFFER'] ?? 0;
    const missing = 64 - 50;
    // Conservative: every overwritten flow at or after the resume time is counted.
    expect(lost).toBeGreaterThanOrEqual(missing);
    expect(lost).toBe(19);
    const lostEvent = c.events.find((e) => e.kind === 'lost');
    expect(lostEvent).toMatchObject({ kind: 'lost', source: 'HUBBLE_RING_BUFFER', node: 'node-1' });
  });
});

describe('lost events', () => {
  it('surfaces lost_events the server injects, by source, in stream order', async () => {
    const s = server();
    const { address } = await s.listen('127.0.0.1:0');
    const ac = controller();
    const c = collect({ target: address, filters: {}, signal: ac.signal });
    await waitFor(() => s.openStreams === 1);
    s.publish(aFlow(1));
    s.injectLost('PERF_EVENT_RING_BUFFER', 7);
    s.publish(aFlow(2));
    await waitFor(() => c.events.length === 3);
    expect(c.events.map((e) => e.kind)).toEqual(['flow', 'lost', 'flow']);
    expect(c.events[1]).toEqual({ kind: 'lost', source: 'PERF_EVENT_RING_BUFFER', count: 7, node: 'node-1' });
    expect(c.client.stats.lostEvents).toEqual({ PERF_EVENT_RING_BUFFER: 7 });
  });

  it('a reader too slow for the ring gets HUBBLE_RING_BUFFER losses; flows + lost add up to what was published', async () => {
    const s = server({ ringCapacity: 64 });
    const { address } = await s.listen('127.0.0.1:0');
    const ac = controller();
    const client = createHubbleClient({ target: address, filters: {}, signal: ac.signal });
    const it = client[Symbol.asyncIterator]();
    const next = it.next(); // opens the stream
    await waitFor(() => s.openStreams === 1);
    s.publish(aFlow(0));
    expect((await next).value).toMatchObject({ kind: 'flow' });
    // The consumer stops pulling while 3000 flows are published: gRPC flow control pushes
    // back to the server, whose ring (64) moves on.
    const published = 3000;
    for (let i = 0; i < published; i++) {
      s.publish(aFlow(100 + i));
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    let flows = 0;
    let lost = 0;
    const deadline = Date.now() + 20_000;
    while (flows + lost < published && Date.now() < deadline) {
      const r = await it.next();
      if (r.done) break;
      if (r.value.kind === 'flow') flows++;
      else if (r.value.kind === 'lost') lost += r.value.count;
    }
    await it.return?.();
    expect(lost).toBeGreaterThan(0);
    expect(flows + lost).toBe(published);
    expect(client.stats.lostEvents['HUBBLE_RING_BUFFER']).toBe(lost);
  });
});

describe('server absent, malformed input, fatal statuses', () => {
  it('backs off 1 s ×1.6 (±20 %, here with neutral jitter) while the server is absent, logs clearly, then connects', async () => {
    const address = socketAddress(); // nothing listens there yet
    const delays: number[] = [];
    const logs: LogEntry[] = [];
    const ac = controller();
    const c = collect({
      target: address,
      filters: {},
      signal: ac.signal,
      delay: quickDelay(delays),
      backoff: { random: () => 0.5 },
      logger: captureLogger(logs),
    });
    await waitFor(() => delays.length >= 4, { what: 'four backoff delays' });
    expect(delays.slice(0, 4)).toEqual([1000, 1600, 2560, 4096]);
    const warn = logs.find((l) => l.msg === 'hubble stream lost, reconnecting');
    expect(warn?.level).toBe('warn');
    expect(warn?.fields).toMatchObject({ code: 'UNAVAILABLE', component: 'hubble', target: address, delayMs: 1000 });

    const s = server();
    s.loadHistory([]);
    await s.listen(address);
    await waitFor(() => s.openStreams === 1, { what: 'client connected after backoff' });
    s.publish(aFlow(1));
    await waitFor(() => c.flows().length === 1);
    // A message resets the backoff: the next failure waits 1 s again.
    const before = delays.length;
    s.breakStreams();
    await waitFor(() => delays.length > before);
    expect(delays[before]).toBe(1000);
  });

  it('counts and skips malformed and oversized messages without dropping the stream', async () => {
    const s = server();
    const { address } = await s.listen('127.0.0.1:0');
    const ac = controller();
    const logs: LogEntry[] = [];
    const c = collect({ target: address, filters: {}, signal: ac.signal, maxMessageBytes: 64 * 1024, logger: captureLogger(logs) });
    await waitFor(() => s.openStreams === 1);
    s.publish(aFlow(1));
    await waitFor(() => c.flows().length === 1);
    s.sendRawToStreams(Buffer.from([0x0a, 0xff, 0xff])); // length past the end
    s.sendRawToStreams(Buffer.from([0x0a, 0x02, 0x58, 0x07])); // a flow whose Type is not a FlowType
    const big = encodeRecord(hubbleType('observer.GetFlowsResponse'), {
      flow: { ...aFlow(2), Summary: 'x'.repeat(100_000) },
      response_types: 'flow',
    });
    s.sendRawToStreams(big);
    s.publish(aFlow(3));
    await waitFor(() => c.flows().length === 2);
    expect(c.flows().map(indexOf)).toEqual([1, 3]);
    expect(c.client.stats).toMatchObject({ malformed: 2, oversized: 1, reconnects: 0 });
    expect(logs.some((l) => l.msg === 'hubble message skipped: oversized' && l.fields['bytes'] === big.length)).toBe(true);
  });

  it.each([
    ['PERMISSION_DENIED', grpc.status.PERMISSION_DENIED],
    ['INVALID_ARGUMENT', grpc.status.INVALID_ARGUMENT],
  ])('stops with a clear error on %s instead of retrying', async (name, code) => {
    const s = server();
    const { address } = await s.listen('127.0.0.1:0');
    s.failNextGetFlows(code, 'not for you');
    const delays: number[] = [];
    const ac = controller();
    const c = collect({ target: address, filters: {}, signal: ac.signal, delay: quickDelay(delays) });
    const e = await c.done.then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(HubbleClientError);
    expect((e as HubbleClientError).code).toBe('HUBBLE_REJECTED');
    expect((e as HubbleClientError).grpcCode).toBe(code);
    expect((e as Error).message).toContain(name);
    expect((e as Error).message).toContain('not for you');
    expect(delays).toEqual([]);
  });

  it('a filter the server cannot apply is INVALID_ARGUMENT from the server, and fatal for the client', async () => {
    const s = server();
    const { address } = await s.listen('127.0.0.1:0');
    const ac = controller();
    const c = collect({ target: address, filters: { whitelist: [{ http_url: ['/x'] }] }, signal: ac.signal });
    const e = (await c.done.then(() => null, (x: unknown) => x)) as HubbleClientError;
    expect(e.grpcCode).toBe(grpc.status.INVALID_ARGUMENT);
    expect(e.message).toContain('http_url');
  });
});

describe('transports', () => {
  it('reads flows over a unix socket, as the DaemonSet does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-hubble-'));
    dirs.push(dir);
    const target = `unix://${join(dir, 'hubble.sock')}`;
    const s = server();
    expect((await s.listen(target)).address).toBe(target);
    const ac = controller();
    const c = collect({ target, signal: ac.signal }); // default agent filters: event types 1, 4, 5
    await waitFor(() => s.openStreams === 1);
    s.publish(aFlow(1));
    s.publish(aFlow(2, { event_type: { type: 129 }, Type: 'L7' })); // filtered out server-side
    s.publish(aFlow(3, { event_type: { type: 1, sub_type: 133 }, verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENIED' }));
    await waitFor(() => c.flows().length === 2);
    expect(c.flows().map((f) => [indexOf(f), f.observed, f.dropReason])).toEqual([
      [1, 'FORWARDED', null],
      [3, 'DROPPED', 'POLICY_DENIED'],
    ]);
  });

  it('speaks mutual TLS with a CA, a client certificate and the Hubble server name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-hubble-tls-'));
    dirs.push(dir);
    const f = (n: string) => join(dir, n);
    const ssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=hubble-ca']);
    const serverName = 'node-1.default.hubble-grpc.cilium.io';
    writeFileSync(f('san.ext'), 'subjectAltName=DNS:*.default.hubble-grpc.cilium.io\n');
    ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=*.default.hubble-grpc.cilium.io']);
    ssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'san.ext']);
    ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=rampart-agent']);
    ssl(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '1']);
    ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'rogue.key', '-out', 'rogue.crt', '-days', '1', '-subj', '/CN=rogue']);

    const s = server({ tls: { certFile: f('server.crt'), keyFile: f('server.key'), caFile: f('ca.crt') } });
    const { address } = await s.listen('127.0.0.1:0');
    const ac = controller();
    const tls = { caFile: f('ca.crt'), certFile: f('client.crt'), keyFile: f('client.key'), serverName };
    const c = collect({ target: address, tls, filters: {}, signal: ac.signal });
    await waitFor(() => s.openStreams === 1, { what: 'TLS stream' });
    s.publish(aFlow(1));
    await waitFor(() => c.flows().length === 1);

    // A client certificate from another CA is refused: no second stream ever opens.
    const ac2 = controller();
    const delays: number[] = [];
    const anonymous = collect({
      target: address,
      tls: { ...tls, certFile: f('rogue.crt'), keyFile: f('rogue.key') },
      filters: {},
      signal: ac2.signal,
      delay: quickDelay(delays),
    });
    await waitFor(() => delays.length >= 1, { what: 'a failed TLS attempt' });
    expect(s.openStreams).toBe(1);
    expect(anonymous.client.stats.flows).toBe(0);
  });
});

describe('batches', () => {
  it('hands over what grpc-js already holds in one batch (never more than MAX_BATCH), in stream order', async () => {
    const count = 2000;
    const s = server();
    s.loadHistory(Array.from({ length: count }, (_, i) => aFlow(i)));
    const { address } = await s.listen('127.0.0.1:0');
    const ac = controller();
    const client = createHubbleClient({ target: address, filters: {}, signal: ac.signal, initialNumber: count });
    const sizes: number[] = [];
    const seen: number[] = [];
    read: for await (const batch of client.batches()) {
      sizes.push(batch.length);
      for (const e of batch) {
        if (e.kind === 'flow') seen.push(indexOf(e.flow));
        if (seen.length === count) break read;
      }
    }
    ac.abort();
    expect(seen).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_BATCH);
    // One wake-up per message (what a Readable read per message gave) would make every batch a
    // single event; messages that arrive in one socket read come in one batch.
    expect(sizes.length).toBeLessThan(count);
  });
});
