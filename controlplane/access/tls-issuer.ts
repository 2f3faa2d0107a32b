/**
 * A small private CA for the agents' gRPC port, for clusters without cert-manager: a CA
 * (10 years) and a serving certificate it signs (90 days, renewed a month before it ends) for
 * the control plane's Service names. Keys are made by node:crypto; the X.509 encoding is
 * node-forge's (Node can parse certificates but not write them, and DER by hand is not ours
 * to maintain).
 */
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import forge from 'node-forge';

export interface TlsMaterial {
  readonly caPem: string;
  readonly caKeyPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export const TLS_LIFETIMES = Object.freeze({ caDays: 3650, servingDays: 90, renewBeforeDays: 30 });
const DAY_MS = 86_400_000;

function newKey(): { publicPem: string; privatePem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), privatePem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString() };
}

function certificate(o: { subjectCn: string; issuer: forge.pki.Certificate | null; issuerKeyPem: string; publicPem: string; nowMs: number; days: number; ca: boolean; dnsNames: readonly string[] }): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(o.publicPem);
  // A positive 16-byte serial (the high bit cleared), unique enough for a private CA.
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  cert.serialNumber = serial.toString('hex');
  // Valid from a minute ago: clocks of agents and replicas differ a little.
  cert.validity.notBefore = new Date(o.nowMs - 60_000);
  cert.validity.notAfter = new Date(o.nowMs + o.days * DAY_MS);
  cert.setSubject([{ name: 'commonName', value: o.subjectCn }]);
  cert.setIssuer(o.issuer ? o.issuer.subject.attributes : [{ name: 'commonName', value: o.subjectCn }]);
  cert.setExtensions(
    o.ca
      ? [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }, { name: 'subjectKeyIdentifier' }]
      : [
          { name: 'basicConstraints', cA: false },
          { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
          { name: 'extKeyUsage', serverAuth: true },
          { name: 'subjectAltName', altNames: o.dnsNames.map((value) => ({ type: 2, value })) },
        ],
  );
  cert.sign(forge.pki.privateKeyFromPem(o.issuerKeyPem), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

/** A serving certificate for `dnsNames`, signed by the given CA, or by a new one. */
export function issueTlsMaterial(dnsNames: readonly string[], nowMs: number, ca: { readonly caPem: string; readonly caKeyPem: string } | null = null): TlsMaterial {
  let caPem: string;
  let caKeyPem: string;
  if (ca) {
    ({ caPem, caKeyPem } = ca);
  } else {
    const k = newKey();
    caKeyPem = k.privatePem;
    caPem = certificate({ subjectCn: 'rampart-controlplane-ca', issuer: null, issuerKeyPem: k.privatePem, publicPem: k.publicPem, nowMs, days: TLS_LIFETIMES.caDays, ca: true, dnsNames: [] });
  }
  const serving = newKey();
  const certPem = certificate({ subjectCn: dnsNames[0] ?? 'rampart-controlplane', issuer: forge.pki.certificateFromPem(caPem), issuerKeyPem: caKeyPem, publicPem: serving.publicPem, nowMs, days: TLS_LIFETIMES.servingDays, ca: false, dnsNames });
  return { caPem, caKeyPem, certPem, keyPem: serving.privatePem };
}

/**
 * Why the material cannot serve as it is (null: it can): the CA or the certificate does not
 * parse, the certificate is not the CA's, it lacks one of the names, or it ends within the
 * renewal window.
 */
export function renewalReason(m: TlsMaterial, dnsNames: readonly string[], nowMs: number): string | null {
  let ca: X509Certificate;
  let cert: X509Certificate;
  try {
    ca = new X509Certificate(m.caPem);
    cert = new X509Certificate(m.certPem);
  } catch (e) {
    return `unreadable certificate: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'the serving certificate is not signed by the CA';
  const names = new Set((cert.subjectAltName ?? '').split(',').map((s) => s.trim().replace(/^DNS:/, '')));
  const missing = dnsNames.filter((n) => !names.has(n));
  if (missing.length > 0) return `the serving certificate lacks ${missing.join(', ')}`;
  if (Date.parse(cert.validTo) - nowMs < TLS_LIFETIMES.renewBeforeDays * DAY_MS) return `the serving certificate ends ${cert.validTo}`;
  return null;
}

/** The names agents may dial: the Service, its namespace forms, and each pod of a headless Service. */
export function controlplaneDnsNames(service: string, namespace: string): string[] {
  const base = [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
  return [...base, `*.${service}.${namespace}.svc`, `*.${service}.${namespace}.svc.cluster.local`];
}
