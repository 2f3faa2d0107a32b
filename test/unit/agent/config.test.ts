import { describe, expect, it } from 'vitest';
import { AGENT_DEFAULTS, loadAgentConfig } from '../../../agent/config.js';

describe('loadAgentConfig', () => {
  it('takes flags, defaults the rest', () => {
    const r = loadAgentConfig(['--controlplane', '127.0.0.1:9090', '--node', 'worker-1'], {});
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({
      node: 'worker-1',
      hubbleTarget: AGENT_DEFAULTS.hubbleTarget,
      controlplaneTarget: '127.0.0.1:9090',
      windowMs: 10_000,
      outboxMs: 600_000,
      metricsListen: ':9966',
      tokenFile: null,
      hubbleTls: null,
      topK: 100,
    });
    expect(Object.isFrozen(r.value)).toBe(true);
  });

  it('reads the environment (downward API NODE_NAME) and lets flags win', () => {
    const env = { NODE_NAME: 'from-env', CONTROLPLANE_ADDR: 'cp.rampart:9090', WINDOW: '5s', HUBBLE_ADDR: 'unix:///tmp/h.sock', TOKEN_FILE: '/var/run/token' };
    const r = loadAgentConfig(['--window=2s', '--metrics-listen', '127.0.0.1:0'], env);
    expect(r.ok && r.value).toMatchObject({ node: 'from-env', controlplaneTarget: 'cp.rampart:9090', windowMs: 2000, hubbleTarget: 'unix:///tmp/h.sock', tokenFile: '/var/run/token', metricsListen: '127.0.0.1:0' });
  });

  it('lists every problem at once', () => {
    const r = loadAgentConfig(['--window', 'soon', '--hubble', 'nowhere', '--bogus', 'x', '--metrics-listen', 'abc', '--hubble-tls-cert', 'c.pem'], {});
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const paths = r.error.map((p) => p.path).sort();
    expect(paths).toEqual(['--bogus', '--controlplane', '--hubble', '--hubble-tls-ca', '--hubble-tls-key', '--metrics-listen', '--node', '--window'].sort());
    expect(r.error.find((p) => p.path === '--window')?.message).toMatch(/duration/);
  });

  it('rejects an outbox smaller than a window and a bad node name', () => {
    const r = loadAgentConfig(['--controlplane', 'h:1', '--node', 'Bad_Node', '--window', '10s', '--outbox-duration', '5s'], {});
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.map((p) => p.path).sort()).toEqual(['--node', '--outbox-duration']);
  });

  it('turns the HTTP server off with an empty listen address', () => {
    const r = loadAgentConfig(['--controlplane', 'h:1', '--node', 'n', '--metrics-listen', 'off'], {});
    expect(r.ok && r.value.metricsListen).toBe(null);
  });

  it('reads RAMPART_ENROLL_SETTLE_MS (environment only), and leaves junk to the default', () => {
    const base = ['--controlplane', 'h:1', '--node', 'n'];
    expect(loadAgentConfig(base, { RAMPART_ENROLL_SETTLE_MS: '500' })).toMatchObject({ ok: true, value: { enrollSettleMs: 500 } });
    expect(loadAgentConfig(base, { RAMPART_ENROLL_SETTLE_MS: 'soon' })).toMatchObject({ ok: true, value: { enrollSettleMs: null } });
    expect(loadAgentConfig(base, {})).toMatchObject({ ok: true, value: { enrollSettleMs: null } });
  });
});

describe('--controlplane with every replica', () => {
  it('takes a comma-separated list, the first being the primary; a bad or repeated address is named', () => {
    const r = loadAgentConfig(['--controlplane', 'cp-0.cp:9967, cp-1.cp:9967', '--node', 'worker-1'], {});
    expect(r.ok && r.value.controlplaneTargets).toEqual(['cp-0.cp:9967', 'cp-1.cp:9967']);
    expect(r.ok && r.value.controlplaneTarget).toBe('cp-0.cp:9967');
    const bad = loadAgentConfig(['--controlplane', 'cp-0.cp:9967,nowhere,cp-0.cp:9967', '--node', 'worker-1'], {});
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.map((p) => p.message)).toEqual([expect.stringContaining('"nowhere"'), expect.stringContaining('listed twice')]);
  });
});

describe('--controlplane naming a headless Service', () => {
  it('takes dns:///name:port (system resolver) or dns://server/name:port, and a resolve interval', () => {
    const r = loadAgentConfig(['--controlplane', 'dns:///rampart-controlplane-replicas.rampart-system.svc:9967', '--node', 'n'], {});
    expect(r.ok && r.value).toMatchObject({ controlplaneDiscovery: { server: null, host: 'rampart-controlplane-replicas.rampart-system.svc', port: 9967 }, controlplaneResolveIntervalMs: AGENT_DEFAULTS.controlplaneResolveIntervalMs });
    const s = loadAgentConfig(['--controlplane', 'dns://10.96.0.10:53/cp.rampart.svc:9967', '--node', 'n', '--controlplane-resolve-interval', '2s'], {});
    expect(s.ok && s.value).toMatchObject({ controlplaneDiscovery: { server: '10.96.0.10:53', host: 'cp.rampart.svc', port: 9967 }, controlplaneResolveIntervalMs: 2000 });
    expect(loadAgentConfig(['--controlplane', 'cp-0:9967', '--node', 'n'], {})).toMatchObject({ ok: true, value: { controlplaneDiscovery: null } });
  });

  it('names a bad dns: address, one in a list, and a bad DNS server', () => {
    for (const [value, message] of [
      ['dns:///no-port.svc', 'expected dns:///<name>:<port>'],
      ['dns:///cp.svc:99999', 'port must be between 1 and 65535'],
      ['dns://resolver.local/cp.svc:9967', 'the DNS server must be an IP address'],
      ['dns:///cp.svc:9967,cp-1:9967', 'not in a list'],
    ] as const) {
      const r = loadAgentConfig(['--controlplane', value, '--node', 'n'], {});
      expect(r.ok, value).toBe(false);
      if (!r.ok) expect(r.error).toEqual([expect.objectContaining({ path: '--controlplane', message: expect.stringContaining(message) })]);
    }
  });
});
