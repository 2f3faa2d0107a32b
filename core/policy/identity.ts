/**
 * Which policy a reference names: kind/namespace/name (product.md "Changes to what is
 * enforced"). One object per identity exists in a cluster, so this is what `replaces` and
 * `removes` name, what a proposed policy collides with, and what the change evaluator keys
 * its set algebra by. The kind defaults to NetworkPolicy; a cluster-wide kind has namespace ''.
 */

export const NETWORK_POLICY_KIND = 'NetworkPolicy';

export interface PolicyIdentity {
  readonly kind: string;
  /** '' for a cluster-wide kind. */
  readonly namespace: string;
  readonly name: string;
}

/** The identity of a parsed policy (a model without `kind` is a NetworkPolicy). */
export function identityOf(p: { readonly kind?: string; readonly namespace: string; readonly name: string }): PolicyIdentity {
  return { kind: p.kind ?? NETWORK_POLICY_KIND, namespace: p.namespace, name: p.name };
}

/** A map key for an identity. */
export const identityKey = (id: PolicyIdentity): string => `${id.kind}/${id.namespace}/${id.name}`;

/** How messages name a policy: `namespace/name` for a NetworkPolicy, else `Kind namespace/name`. */
export function formatIdentity(id: PolicyIdentity): string {
  const where = id.namespace === '' ? id.name : `${id.namespace}/${id.name}`;
  return id.kind === NETWORK_POLICY_KIND ? where : `${id.kind} ${where}`;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : '');
const record = (v: unknown): Readonly<Record<string, unknown>> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/**
 * The identity of a raw manifest, before or without parsing: its kind (NetworkPolicy when
 * absent) and metadata; a NetworkPolicy without a namespace is in `default`, as the API
 * server puts it.
 */
export function manifestIdentity(raw: unknown): PolicyIdentity {
  const m = record(raw);
  const metadata = record(m['metadata']);
  const kind = text(m['kind']) || NETWORK_POLICY_KIND;
  const namespace = text(metadata['namespace']) || (kind === NETWORK_POLICY_KIND ? 'default' : '');
  return { kind, namespace, name: text(metadata['name']) };
}
