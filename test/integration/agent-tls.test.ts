/**
 * The reporter over TLS: a real `rampart agent` reaching a TLS collector with a CA file and
 * server name (mutual TLS with a client certificate), and refusing a server its CA did not
 * sign; then against the real `rampart controlplane` serving TLS and checking the token:
 * reports land, and a wrong CA or a wrong token is refused with a line saying so.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCollector } from '../support/collector.js';
import { startAgentProcess, startReplay, TCP_CAPTURE, waitForAgentWindows, type ReplayProcess } from '../support/agent-harness.js';
import { startControlplaneProcess, type ControlplaneProcess } from '../support/controlplane-process.js';
import { waitFor } from '../support/wait-for.js';
import { contractDoc } from '../support/window-builders.js';
import { mkdirSync } from 'node:fs';

const SERVER_NAME = 'collector.rampart.svc';

describe('agent → control plane over TLS', () => {
  let dir: string;
  let replay: ReplayProcess;
  const f = (n: string): string => join(dir, n);
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rampart-agent-tls-'));
    const ssl = (args: string[]): void => {
      execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    };
    ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=rampart-test-ca']);
    writeFileSync(f('san.ext'), `subjectAltName=DNS:${SERVER_NAME}\n`);
    ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=${SERVER_NAME}`]);
    ssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'san.ext']);
    ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=rampart-agent']);
    ssl(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '1']);
    ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'rogue.key', '-out', 'rogue.crt', '-days', '1', '-subj', `/CN=${SERVER_NAME}`, '-addext', `subjectAltName=DNS:${SERVER_NAME}`]);
    replay = await startReplay(TCP_CAPTURE);
  });

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    await replay?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const contracts = { generation: 1, contracts: [{ name: 'c', revision: 1, stageIndex: 0, stageName: 'monitor', policies: [], enforcement: { mode: 'monitor' as const } }] };
  const tlsFlags = ['--controlplane-tls-ca', 'ca.crt', '--controlplane-tls-cert', 'client.crt', '--controlplane-tls-key', 'client.key', '--controlplane-tls-server-name', SERVER_NAME];
  const withDir = (flags: string[]): string[] => flags.map((x) => (x.endsWith('.crt') || x.endsWith('.key') ? f(x) : x));

  it('reports windows over mutual TLS', async () => {
    const collector = new TestCollector({ contracts, tls: { certPem: readFileSync(f('server.crt')), keyPem: readFileSync(f('server.key')), clientCaPem: readFileSync(f('ca.crt')) } });
    await collector.start(0);
    cleanups.push(() => collector.stop());
    const agent = await startAgentProcess({ hubble: replay.address, controlplane: `127.0.0.1:${collector.port}`, node: 'tls-node', extra: withDir(tlsFlags) });
    cleanups.push(() => agent.stop('SIGKILL'));
    await waitFor(() => collector.accepted.length >= 2, { timeoutMs: 20_000, what: 'windows over TLS' });
    expect(collector.accepted[0]).toMatchObject({ node: 'tls-node', contracts: [expect.objectContaining({ contract: 'c' })] });
    expect(await agent.stop('SIGTERM')).toBe(0);
  });

  it('does not report to a server whose certificate its CA did not sign', async () => {
    const rogue = new TestCollector({ contracts, tls: { certPem: readFileSync(f('rogue.crt')), keyPem: readFileSync(f('rogue.key')) } });
    await rogue.start(0);
    cleanups.push(() => rogue.stop());
    const agent = await startAgentProcess({ hubble: replay.address, controlplane: `127.0.0.1:${rogue.port}`, node: 'tls-node', extra: withDir(tlsFlags) });
    cleanups.push(() => agent.stop('SIGKILL'));
    const refused = await agent.waitForLog((l) => l['msg'] === 'TLS handshake with the control plane failed', 'a refused handshake');
    expect(refused).toMatchObject({ level: 'error', caFile: f('ca.crt'), serverName: SERVER_NAME });
    expect(String(refused['reason'])).toMatch(/certificate/i);
    expect(rogue.accepted).toEqual([]);
    expect(rogue.connects).toBe(0);
    expect((await agent.metrics()).value('rampart_agent_controlplane_connected')).toBe(0);
    // Never got a contract set, so it never opened Hubble: not ready, and says why.
    const ready = await agent.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toContain('no contract set received');
    expect(ready.body).toContain('hubble not connected');
    expect((await agent.get('/healthz')).status).toBe(200);
  });

  describe('against the real control plane (server TLS, client certificates, bearer token)', () => {
    const TOKEN = 'tls-token';
    let cp: ControlplaneProcess;
    // Live traffic: the agent says Hubble is connected once flows arrive.
    let live: ReplayProcess;

    beforeAll(async () => {
      mkdirSync(f('contracts'));
      writeFileSync(f('contracts/shop.json'), JSON.stringify(contractDoc({ minDuration: '1h' })));
      writeFileSync(f('token'), `${TOKEN}\n`);
      writeFileSync(f('wrong-token'), 'not-the-token\n');
      cp = await startControlplaneProcess([
        '--contracts', f('contracts'),
        '--state', f('state'),
        '--token-file', f('token'),
        '--grpc-tls-cert', f('server.crt'),
        '--grpc-tls-key', f('server.key'),
        '--grpc-tls-client-ca', f('ca.crt'),
        '--reconcile-interval', '200ms',
        '--expected-nodes', 'tls-node',
      ]);
      cleanups.push(() => cp.stop('SIGKILL'));
      live = await startReplay(TCP_CAPTURE, ['--loop', '--rate', '200']);
      cleanups.push(() => live.stop('SIGKILL'));
    });

    const reporting = async (): Promise<number> => {
      const res = await fetch(`${cp.base}/api/v1/contracts/shop-lockdown`, { headers: { authorization: `Bearer ${TOKEN}` } });
      return ((await res.json()) as { evidence: { nodes: { reporting: number } } }).evidence.nodes.reporting;
    };
    const accepted = async (): Promise<number> => {
      const text = await (await fetch(`${cp.base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
      const m = /^rampart_controlplane_reports_total\{result="accepted"\} (\d+)/m.exec(text);
      return m ? Number(m[1]) : 0;
    };

    it('serves TLS (mutual) and says so; the agent reports over it with its token', async () => {
      expect(cp.logs.find((l) => l['msg'] === 'listening')).toMatchObject({ grpcTls: 'mutual' });
      const agent = await startAgentProcess({ hubble: live.address, controlplane: `127.0.0.1:${cp.grpcPort}`, node: 'tls-node', extra: [...withDir(tlsFlags), '--token-file', f('token')] });
      cleanups.push(() => agent.stop('SIGKILL'));
      await waitFor(async () => (await accepted()) >= 2, { timeoutMs: 20_000, what: 'reports accepted over TLS' });
      await waitFor(async () => (await reporting()) === 1, { timeoutMs: 10_000, what: 'tls-node reporting' });
      expect(await agent.stop('SIGTERM')).toBe(0);
      expect(agent.logs.some((l) => l['msg'] === 'TLS handshake with the control plane failed' || l['msg'] === 'control plane refused the bearer token')).toBe(false);
    });

    it('an agent trusting another CA refuses the control plane, and says it was the TLS handshake', async () => {
      const before = await accepted();
      const agent = await startAgentProcess({
        hubble: live.address,
        controlplane: `127.0.0.1:${cp.grpcPort}`,
        node: 'tls-node',
        extra: [...withDir(tlsFlags).map((x) => (x === f('ca.crt') ? f('rogue.crt') : x)), '--token-file', f('token')],
      });
      cleanups.push(() => agent.stop('SIGKILL'));
      const line = await agent.waitForLog((l) => l['msg'] === 'TLS handshake with the control plane failed', 'the TLS refusal line');
      expect(line).toMatchObject({ level: 'error', caFile: f('rogue.crt'), serverName: SERVER_NAME });
      expect(String(line['reason'])).toMatch(/certificate/i);
      expect((await agent.metrics()).value('rampart_agent_controlplane_connected')).toBe(0);
      expect(await accepted()).toBe(before);
    });

    it('an agent without a client certificate is refused by the control plane', async () => {
      const before = await accepted();
      const agent = await startAgentProcess({
        hubble: live.address,
        controlplane: `127.0.0.1:${cp.grpcPort}`,
        node: 'tls-node',
        extra: ['--controlplane-tls-ca', f('ca.crt'), '--controlplane-tls-server-name', SERVER_NAME, '--token-file', f('token')],
      });
      cleanups.push(() => agent.stop('SIGKILL'));
      const line = await agent.waitForLog((l) => l['msg'] === 'control plane stream ended; reconnecting', 'the refused stream');
      expect(String(line['reason'])).toMatch(/^UNAVAILABLE: /);
      // Two of the agent's windows (1 s of its time) later it is still not connected.
      await waitForAgentWindows(agent, 2);
      expect((await agent.metrics()).value('rampart_agent_controlplane_connected')).toBe(0);
      expect(await accepted()).toBe(before);
    });

    it('a wrong token is refused: the agent names the token file, the control plane logs the refusal', async () => {
      const before = await accepted();
      const refusalsBefore = cp.logs.filter((l) => l['msg'] === 'agent refused: missing or invalid bearer token').length;
      const agent = await startAgentProcess({ hubble: live.address, controlplane: `127.0.0.1:${cp.grpcPort}`, node: 'tls-node', extra: [...withDir(tlsFlags), '--token-file', f('wrong-token')] });
      cleanups.push(() => agent.stop('SIGKILL'));
      const line = await agent.waitForLog((l) => l['msg'] === 'control plane refused the bearer token', 'the token refusal line');
      expect(line).toMatchObject({ level: 'error', tokenFile: f('wrong-token') });
      expect(String(line['reason'])).toBe('UNAUTHENTICATED: missing or invalid bearer token');
      await waitFor(() => cp.logs.filter((l) => l['msg'] === 'agent refused: missing or invalid bearer token').length > refusalsBefore, { what: 'the control plane refusal line' });
      expect((await agent.metrics()).value('rampart_agent_controlplane_connected')).toBe(0);
      expect(await accepted()).toBe(before);
      // Refused, it waits (the max backoff) rather than hammering the control plane.
      await waitForAgentWindows(agent, 3); // 1.5 s of the agent's own time
      expect(agent.logs.filter((l) => l['msg'] === 'control plane refused the bearer token').length).toBe(1);
    });
  });
});
