import { describe, expect, it } from 'vitest';
import { loadControlplaneConfig } from '../../../controlplane/config/config.js';
import { parseListen } from '../../../io/listen-address.js';

describe('loadControlplaneConfig', () => {
  it('fills every default', () => {
    const r = loadControlplaneConfig(['--contracts', 'c', '--state', 's'], {});
    expect(r).toEqual({
      ok: true,
      value: {
        contractsDir: 'c',
        stateDir: 's',
        baselineDir: null,
        workloads: null,
        grpcListen: '0.0.0.0:9967',
        grpcTls: null,
        grpcTlsSecret: null,
        httpListen: { host: '0.0.0.0', port: 9968 },
        tokenFile: null,
        openReads: false,
        reconcileIntervalMs: 1000,
        contractRescanMs: 2000,
        expectedNodes: [],
        expectedNodeTtlMs: 600_000,
        staticDir: null,
        logLevel: 'info',
        mapRetentionMs: 168 * 3_600_000,
        mapMaxEdges: 20_000,
        mapSaveIntervalMs: 5000,
        webhook: null,
        kubeconfig: null,
        kubernetes: null,
        notify: [],
      },
    });
  });

  it('takes --grpc-tls-secret in Kubernetes mode only, and not beside certificate files', () => {
    expect(loadControlplaneConfig(['--kubernetes', '--grpc-tls-secret', 'rampart-controlplane-tls'], {})).toMatchObject({ ok: true, value: { grpcTlsSecret: 'rampart-controlplane-tls' } });
    const fileMode = loadControlplaneConfig(['--contracts', 'c', '--state', 's', '--grpc-tls-secret', 'x'], {});
    expect(fileMode.ok ? [] : fileMode.error.map((p) => `${p.path}: ${p.message}`)).toEqual(['--grpc-tls-secret: only with --kubernetes: the certificate is kept in a Secret']);
    const both = loadControlplaneConfig(['--kubernetes', '--grpc-tls-secret', 'x', '--grpc-tls-cert', 'c', '--grpc-tls-key', 'k'], {});
    expect(both.ok ? [] : both.error.map((p) => p.path)).toEqual(['--grpc-tls-secret']);
  });

  it('reads --notify (repeatable), else NOTIFY_URLS, and names a bad URL', () => {
    const r = loadControlplaneConfig(['--contracts', 'c', '--state', 's', '--notify', 'https://events.example/hook', '--notify=https://hooks.slack.com/services/T/B/x'], {});
    expect(r.ok && r.value.notify).toEqual([
      { url: 'https://events.example/hook', format: 'cloudevents', label: 'https://events.example' },
      { url: 'https://hooks.slack.com/services/T/B/x', format: 'slack', label: 'https://hooks.slack.com' },
    ]);
    const fromEnv = loadControlplaneConfig(['--contracts', 'c', '--state', 's'], { NOTIFY_URLS: 'http://a.example/x  slack+http://b.example/y' });
    expect(fromEnv.ok && fromEnv.value.notify.map((t) => t.format)).toEqual(['cloudevents', 'slack']);
    const bad = loadControlplaneConfig(['--contracts', 'c', '--state', 's', '--notify', 'mailto:ops@example.com'], {});
    expect(bad.ok ? [] : bad.error.map((p) => `${p.path}: ${p.message}`)).toEqual(['--notify: expected an http(s) URL, got "mailto:ops@example.com"']);
  });

  it('reads the traffic map and webhook flags, and says what is missing', () => {
    const r = loadControlplaneConfig(['--contracts', 'c', '--state', 's', '--map-retention', '24h', '--map-max-edges', '500', '--map-save-interval', '1s', '--webhook-listen', '127.0.0.1:9443', '--tls-cert', 'c.pem', '--tls-key', 'k.pem'], {});
    expect(r.ok && r.value).toMatchObject({ mapRetentionMs: 86_400_000, mapMaxEdges: 500, mapSaveIntervalMs: 1000, webhook: { listen: { host: '127.0.0.1', port: 9443 }, tlsCertFile: 'c.pem', tlsKeyFile: 'k.pem' } });
    const bad = loadControlplaneConfig(['--contracts', 'c', '--state', 's', '--map-retention', '1s', '--map-max-edges', 'lots', '--map-save-interval', '10ms', '--webhook-listen', ':9443'], {});
    expect(bad.ok ? [] : bad.error.map((p) => p.path).sort()).toEqual(['--map-max-edges', '--map-retention', '--map-save-interval', '--tls-cert', '--tls-key']);
    const orphan = loadControlplaneConfig(['--contracts', 'c', '--state', 's', '--tls-cert', 'c.pem'], {});
    expect(orphan.ok ? [] : orphan.error.map((p) => `${p.path}: ${p.message}`)).toEqual(['--tls-cert: only with --webhook-listen']);
  });

  const cases: { name: string; args: string[]; env?: Record<string, string>; expect: Record<string, unknown> }[] = [
    { name: 'flags with =', args: ['--contracts=c', '--state=s', '--grpc-listen=:0', '--http-listen=127.0.0.1:0'], expect: { grpcListen: '0.0.0.0:0', httpListen: { host: '127.0.0.1', port: 0 } } },
    { name: 'environment fallback', args: [], env: { CONTRACTS_DIR: 'c', STATE_DIR: 's', TOKEN_FILE: '/t', OPEN_READS: 'true' }, expect: { contractsDir: 'c', tokenFile: '/t', openReads: true } },
    { name: 'flags win over environment', args: ['--contracts', 'flag', '--state', 's'], env: { CONTRACTS_DIR: 'env' }, expect: { contractsDir: 'flag' } },
    { name: 'boolean flags read =true and =false', args: ['--contracts', 'c', '--state', 's', '--open-reads=false'], env: { OPEN_READS: 'true' }, expect: { openReads: false } },
    { name: 'unix socket for gRPC', args: ['--contracts', 'c', '--state', 's', '--grpc-listen', 'unix:///tmp/cp.sock'], expect: { grpcListen: 'unix:///tmp/cp.sock' } },
    {
      name: 'test knobs',
      args: ['--contracts', 'c', '--state', 's', '--open-reads', '--reconcile-interval', '200ms', '--expected-nodes', 'a, b,,c', '--expected-node-ttl', '30s'],
      expect: { openReads: true, reconcileIntervalMs: 200, expectedNodes: ['a', 'b', 'c'], expectedNodeTtlMs: 30_000 },
    },
    { name: 'server TLS', args: ['--contracts', 'c', '--state', 's', '--grpc-tls-cert', 'a.crt', '--grpc-tls-key', 'a.key'], expect: { grpcTls: { certFile: 'a.crt', keyFile: 'a.key', clientCaFile: null } } },
    { name: 'mutual TLS from the environment', args: ['--contracts', 'c', '--state', 's'], env: { GRPC_TLS_CERT_FILE: 'a.crt', GRPC_TLS_KEY_FILE: 'a.key', GRPC_TLS_CLIENT_CA_FILE: 'ca.crt' }, expect: { grpcTls: { certFile: 'a.crt', keyFile: 'a.key', clientCaFile: 'ca.crt' } } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = loadControlplaneConfig(c.args, c.env ?? {});
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.value).toMatchObject(c.expect);
    });
  }

  it('collects every problem', () => {
    const r = loadControlplaneConfig(['--http-listen', 'nope', '--reconcile-interval', 'soon', '--log-level', 'loud', '--bogus', 'x'], {});
    expect(r.ok).toBe(false);
    if (r.ok) return;
    // `x` is taken as the unknown flag's value, not reported a second time.
    expect(r.error.map((p) => p.path)).toEqual(['--bogus', '--contracts', '--state', '--http-listen', '--log-level', '--reconcile-interval']);
  });

  describe('Kubernetes mode', () => {
    it('needs no --contracts or --state, and reads --kubeconfig and --namespace', () => {
      const r = loadControlplaneConfig(['--kubernetes', '--kubeconfig', '/k', '--namespace', 'ops'], {});
      expect(r).toMatchObject({ ok: true, value: { kubernetes: { kubeconfig: '/k', namespace: 'ops' }, contractsDir: '', stateDir: '' } });
    });
    it('takes KUBECONFIG when no --kubeconfig is given, else leaves it to in-cluster config', () => {
      expect(loadControlplaneConfig(['--kubernetes'], { KUBECONFIG: '/env' })).toMatchObject({ ok: true, value: { kubernetes: { kubeconfig: '/env', namespace: null } } });
      expect(loadControlplaneConfig(['--kubernetes'], {})).toMatchObject({ ok: true, value: { kubernetes: { kubeconfig: null, namespace: null } } });
      expect(loadControlplaneConfig(['--kubernetes', '--kubeconfig', '/flag'], { KUBECONFIG: '/env' })).toMatchObject({ ok: true, value: { kubernetes: { kubeconfig: '/flag' } } });
    });
    it('refuses --contracts beside it and a namespace that is not a DNS label', () => {
      const r = loadControlplaneConfig(['--kubernetes', '--contracts', 'c', '--namespace', 'Bad_NS'], {});
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.map((p) => p.path)).toEqual(['--contracts', '--namespace']);
    });
    it('reads the RAMPART_* timings of Kubernetes mode here, and leaves junk to the defaults', () => {
      const env = { RAMPART_LEASE_DURATION_MS: '3000', RAMPART_LEADER_IDENTITY: 'a', RAMPART_STATUS_INTERVAL_MS: 'soon', RAMPART_WATCH_WATCHDOG_MS: '-5' };
      const r = loadControlplaneConfig(['--kubernetes'], env);
      expect(r.ok && r.value.kubernetes?.tuning).toEqual({
        watchTimeoutSeconds: undefined,
        watchdogMs: undefined,
        leaderIdentity: 'a',
        leaseDurationMs: 3000,
        leaseRenewDeadlineMs: undefined,
        leaseRenewPeriodMs: undefined,
        leaseRetryPeriodMs: undefined,
        actuatorResyncMs: undefined,
        statusIntervalMs: undefined,
      });
    });
    it('ignores KUBECONFIG in file mode', () => {
      expect(loadControlplaneConfig(['--contracts', 'c', '--state', 's'], { KUBECONFIG: '/env' })).toMatchObject({ ok: true, value: { kubernetes: null } });
    });
  });

  it('refuses half a TLS configuration', () => {
    const paths = (args: string[]): string[] => {
      const r = loadControlplaneConfig(['--contracts', 'c', '--state', 's', ...args], {});
      return r.ok ? [] : r.error.map((p) => `${p.path}: ${p.message}`);
    };
    expect(paths(['--grpc-tls-cert', 'a.crt'])).toEqual(['--grpc-tls-key: the server certificate and key go together']);
    expect(paths(['--grpc-tls-key', 'a.key'])).toEqual(['--grpc-tls-cert: the server certificate and key go together']);
    expect(paths(['--grpc-tls-client-ca', 'ca.crt'])).toEqual(['--grpc-tls-client-ca: client certificates need server TLS: set --grpc-tls-cert and --grpc-tls-key']);
  });
});

describe('parseListen', () => {
  it('reads host:port, :port and [v6]:port', () => {
    expect(parseListen(':80')).toEqual({ ok: true, value: { host: '0.0.0.0', port: 80 } });
    expect(parseListen('[::1]:9')).toEqual({ ok: true, value: { host: '::1', port: 9 } });
    expect(parseListen('host:70000').ok).toBe(false);
    expect(parseListen('host').ok).toBe(false);
  });
});

describe('--workloads', () => {
  it('is a file-mode flag: Kubernetes mode reads CronJobs and Pods from the API server', () => {
    const ok = loadControlplaneConfig(['--contracts', 'c', '--state', 's', '--workloads', 'cluster/'], {});
    expect(ok.ok && ok.value.workloads).toBe('cluster/');
    const bad = loadControlplaneConfig(['--kubernetes', '--workloads', 'cluster/'], {});
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toEqual([{ path: '--workloads', message: expect.stringContaining('not with --kubernetes') }]);
  });
});
