/**
 * The agents' gRPC port over TLS without cert-manager (`--grpc-tls-secret <name>`, Kubernetes
 * mode): the certificate lives in a Secret of the control plane's namespace (tls.crt, tls.key,
 * ca.crt, and ca.key so that any replica can renew it). The first replica to start creates it
 * (a create race is settled by the API server: the loser reads the winner's); a replica that
 * finds it unusable or within a month of its end renews it with the same CA, by
 * resourceVersion compare-and-swap. Agents mount only ca.crt.
 *
 * A running replica serves the certificate it started with; when the Secret changes under it
 * (renewed here or by another replica) it asks to be restarted (`onChanged`), so every replica
 * serves the new one within a check interval. That happens about every 60 days.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import type { Clock, Logger } from '../../core/common/index.js';
import { describeApiError, isConflict, isNotFound } from '../../io/kube/api-error.js';
import { controlplaneDnsNames, issueTlsMaterial, renewalReason, TLS_LIFETIMES, type TlsMaterial } from './tls-issuer.js';

export interface TlsSecretOptions {
  readonly kc: KubeConfig;
  readonly namespace: string;
  readonly name: string;
  /** The Service agents dial (its names go into the certificate). */
  readonly service: string;
  readonly clock: Clock;
  readonly log: Logger;
  /** How often the Secret is checked (default 1 h). */
  readonly checkIntervalMs?: number;
}

const KEYS = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt', caKey: 'ca.key' } as const;
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined): string => (s === undefined ? '' : Buffer.from(s, 'base64').toString('utf8'));

function materialOf(s: V1Secret): TlsMaterial {
  const d = s.data ?? {};
  return { certPem: unb64(d[KEYS.cert]), keyPem: unb64(d[KEYS.key]), caPem: unb64(d[KEYS.ca]), caKeyPem: unb64(d[KEYS.caKey]) };
}

export class TlsSecret {
  private readonly o: TlsSecretOptions;
  private readonly api: CoreV1Api;
  private readonly dnsNames: string[];
  private serving: TlsMaterial | null = null;

  constructor(o: TlsSecretOptions) {
    this.o = o;
    this.api = o.kc.makeApiClient(CoreV1Api);
    this.dnsNames = controlplaneDnsNames(o.service, o.namespace);
  }

  /** The material to serve: read, created or renewed. Throws (a start-up error) if the API refuses. */
  async ensure(): Promise<TlsMaterial> {
    for (let attempt = 0; attempt < 5; attempt++) {
      let secret: V1Secret | null = null;
      try {
        secret = await this.api.readNamespacedSecret({ name: this.o.name, namespace: this.o.namespace });
      } catch (e) {
        if (!isNotFound(e)) throw new Error(`reading Secret ${this.o.namespace}/${this.o.name}: ${describeApiError(e)}`, { cause: e });
      }
      const nowMs = this.o.clock.nowMs();
      const current = secret ? materialOf(secret) : null;
      const why = current ? renewalReason(current, this.dnsNames, nowMs) : 'no Secret yet';
      if (current && why === null) return (this.serving = current);
      // Keep the CA agents already trust; start a new one only when it is missing or unusable.
      const next = issueTlsMaterial(this.dnsNames, nowMs, current && isCaUsable(current, nowMs) ? current : null);
      const body: V1Secret = {
        metadata: { name: this.o.name, namespace: this.o.namespace, labels: { 'app.kubernetes.io/name': 'rampart', 'app.kubernetes.io/component': 'controlplane' }, ...(secret ? { resourceVersion: secret.metadata?.resourceVersion } : {}) },
        type: 'kubernetes.io/tls',
        data: { [KEYS.cert]: b64(next.certPem), [KEYS.key]: b64(next.keyPem), [KEYS.ca]: b64(next.caPem), [KEYS.caKey]: b64(next.caKeyPem) },
      };
      try {
        if (secret) await this.api.replaceNamespacedSecret({ name: this.o.name, namespace: this.o.namespace, body });
        else await this.api.createNamespacedSecret({ namespace: this.o.namespace, body });
        this.o.log.info(secret ? 'gRPC serving certificate renewed' : 'gRPC serving certificate created', { secret: `${this.o.namespace}/${this.o.name}`, why });
        return (this.serving = next);
      } catch (e) {
        // Another replica wrote it first: read theirs.
        if (!isConflict(e)) throw new Error(`writing Secret ${this.o.namespace}/${this.o.name}: ${describeApiError(e)}`, { cause: e });
      }
    }
    throw new Error(`Secret ${this.o.namespace}/${this.o.name}: it kept changing while this replica wrote it`);
  }

  /** Checks the Secret every interval (renewing it when due); calls onChanged when it no longer holds what this replica serves. */
  watch(signal: AbortSignal, onChanged: (reason: string) => void): void {
    const interval = this.o.checkIntervalMs ?? 3_600_000;
    // Jitter: replicas notice a renewal at different moments, so they do not restart together.
    const timer = setInterval(() => {
      const before = this.serving;
      this.ensure().then(
        (now) => {
          if (before && now.certPem !== before.certPem) onChanged('the gRPC serving certificate was renewed');
        },
        (e: unknown) => {
          this.o.log.warn('gRPC certificate check failed; serving the current one', { err: { message: e instanceof Error ? e.message : String(e) } });
        },
      );
    }, interval * (0.9 + Math.random() * 0.2));
    signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  }
}

/** The CA and its key are readable, belong together, and the CA outlives a new serving certificate. */
function isCaUsable(m: TlsMaterial, nowMs: number): boolean {
  try {
    const ca = new X509Certificate(m.caPem);
    return ca.ca && ca.checkPrivateKey(createPrivateKey(m.caKeyPem)) && Date.parse(ca.validTo) - nowMs > TLS_LIFETIMES.servingDays * 86_400_000;
  } catch {
    return false;
  }
}
