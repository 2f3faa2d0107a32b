/**
 * Finding every control-plane replica behind a headless Service (product.md "Kubernetes mode",
 * High availability: agents stream to each replica). `--controlplane dns:///<name>:<port>`
 * names the Service; the agent resolves it every `intervalMs` to all its A and AAAA records
 * and the fan-out (fanout.ts) keeps one stream per address, adding and dropping streams as
 * the set changes.
 *
 * The address follows gRPC's naming (`dns:[//authority/]host:port`): without an authority the
 * name goes through the system resolver (getaddrinfo: /etc/hosts, the pod's search domains);
 * with one (`dns://10.96.0.10:53/name:port`) it is asked of that DNS server directly.
 *
 * A failed lookup, or one with no address, keeps the current set: a DNS blip must not close
 * the streams of replicas that are still there (the fail-safe side: a gone replica's stream
 * only fails to connect).
 */
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import type { Logger } from '../../core/common/index.js';
import { sleep } from '../hubble/backoff.js';

export interface DnsTarget {
  /** `host:port` of the DNS server to ask, or null for the system resolver. */
  readonly server: string | null;
  readonly host: string;
  readonly port: number;
}

const DNS_TARGET = /^dns:(?:\/\/([^/]*))?\/([^/:]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/;

/** Parses `dns:///host:port` or `dns://server[:port]/host:port`; null when `text` is not a `dns:` address. */
export function parseDnsTarget(text: string): { ok: true; value: DnsTarget } | { ok: false; error: string } | null {
  if (!text.startsWith('dns:')) return null;
  const m = DNS_TARGET.exec(text);
  if (m === null) return { ok: false, error: `expected dns:///<name>:<port> or dns://<dns server>/<name>:<port>, got ${JSON.stringify(text)}` };
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return { ok: false, error: `port must be between 1 and 65535, got ${m[3]}` };
  const authority = m[1] ?? '';
  let server: string | null = null;
  if (authority !== '') {
    // node:dns wants `ip` or `ip:port` (IPv6 in brackets with a port).
    const a = /^(\[[0-9a-fA-F:]+\]|[0-9.]+)(?::(\d{1,5}))?$/.exec(authority);
    if (a === null || isIP(a[1]!.replace(/^\[|\]$/g, '')) === 0) return { ok: false, error: `the DNS server must be an IP address with an optional port, got ${JSON.stringify(authority)}` };
    server = authority;
  }
  return { ok: true, value: { server, host: m[2]!, port } };
}

/** A replica's gRPC target for an address (IPv6 in brackets). */
export const addressTarget = (address: string, port: number): string => (isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`);

/** Every A and AAAA address of `target.host`, sorted; throws when the lookup fails. */
export async function resolveAll(target: DnsTarget): Promise<string[]> {
  if (target.server === null) {
    const found = await dns.lookup(target.host, { all: true, verbatim: true });
    return [...new Set(found.map((a) => a.address))].sort();
  }
  const resolver = new dns.Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers([target.server]);
  // A name with only A (or only AAAA) records answers the other query with no data.
  const noData = (e: unknown): string[] => {
    const code = (e as { code?: string }).code;
    if (code === 'ENODATA' || code === 'ENOTFOUND') return [];
    throw e;
  };
  const [v4, v6] = await Promise.all([resolver.resolve4(target.host).catch(noData), resolver.resolve6(target.host).catch(noData)]);
  return [...new Set([...v4, ...v6])].sort();
}

/**
 * Resolves `target` now and then every `intervalMs` until `signal` aborts, calling `onTargets`
 * with every replica's gRPC target whenever the set changes (never with an empty set).
 */
export async function discoverReplicas(
  target: DnsTarget,
  intervalMs: number,
  signal: AbortSignal,
  onTargets: (targets: readonly string[]) => void,
  log: Logger,
  resolve: (t: DnsTarget) => Promise<string[]> = resolveAll,
): Promise<void> {
  let current = '';
  let failing = false;
  while (!signal.aborted) {
    try {
      const addresses = await resolve(target);
      if (addresses.length === 0) throw new Error('no A or AAAA record');
      const key = addresses.join(',');
      if (failing) log.info('control plane replicas resolve again', { name: target.host });
      failing = false;
      if (key !== current && !signal.aborted) {
        current = key;
        log.info('control plane replicas', { name: target.host, addresses });
        onTargets(addresses.map((a) => addressTarget(a, target.port)));
      }
    } catch (e) {
      // Logged once per outage, not every interval.
      if (!failing) log.warn('control plane replicas not resolved; keeping the current set', { name: target.host, server: target.server, err: { message: e instanceof Error ? e.message : String(e) } });
      failing = true;
    }
    await sleep(intervalMs, signal);
  }
}
