/**
 * The reporter over TLS: a real `rampart agent` reaching a TLS collector with a CA file and
 * server name (mutual TLS with a client certificate), and refusing a server its CA did not sign.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCollector } from '../support/collector.js';
import { startAgentProcess, startReplay, TCP_CAPTURE, type ReplayProcess } from '../support/agent-harness.js';
import { waitFor } from '../support/wait-for.js';

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
    await agent.waitForLog((l) => l['msg'] === 'control plane stream ended; reconnecting', 'a refused handshake');
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
});
