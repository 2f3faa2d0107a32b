/**
 * Unknown fields of a NetworkPolicy manifest, by field path, as `kubectl apply` reports them
 * (`unknown field "spec.ingres"`): a misspelt field is otherwise dropped without a word, and
 * the policy silently means something else (an `ingres` list is no ingress rule at all).
 * The walk knows the networking.k8s.io/v1 fields; maps of free keys (labels, annotations,
 * matchLabels) are not walked. Callers decide whether an unknown field warns or refuses
 * (`--strict`); the RampContract's own fields are checked by parse.ts.
 */
import { childPath, type Problem } from '../common/index.js';

/** A field tree: known keys and what is under each; `free` accepts any value below it. */
type Shape = { readonly fields: Readonly<Record<string, Shape>> } | { readonly items: Shape } | 'free';

const FREE = 'free' as const;
const object = (fields: Record<string, Shape>): Shape => ({ fields });
const list = (items: Shape): Shape => ({ items });

const OBJECT_META = object({
  name: FREE,
  generateName: FREE,
  namespace: FREE,
  selfLink: FREE,
  uid: FREE,
  resourceVersion: FREE,
  generation: FREE,
  creationTimestamp: FREE,
  deletionTimestamp: FREE,
  deletionGracePeriodSeconds: FREE,
  labels: FREE,
  annotations: FREE,
  ownerReferences: FREE,
  finalizers: FREE,
  managedFields: FREE,
});

const LABEL_SELECTOR = object({ matchLabels: FREE, matchExpressions: list(object({ key: FREE, operator: FREE, values: FREE })) });
const PEER = object({ podSelector: LABEL_SELECTOR, namespaceSelector: LABEL_SELECTOR, ipBlock: object({ cidr: FREE, except: FREE }) });
const PORT = object({ protocol: FREE, port: FREE, endPort: FREE });

const NETWORK_POLICY = object({
  apiVersion: FREE,
  kind: FREE,
  metadata: OBJECT_META,
  spec: object({
    podSelector: LABEL_SELECTOR,
    policyTypes: FREE,
    ingress: list(object({ from: list(PEER), ports: list(PORT) })),
    egress: list(object({ to: list(PEER), ports: list(PORT) })),
  }),
  // Older API servers (1.24–1.26) print an empty status.
  status: FREE,
});

function walk(value: unknown, shape: Shape, path: string, out: Problem[]): void {
  if (shape === FREE || value === null || typeof value !== 'object') return;
  if ('items' in shape) {
    if (Array.isArray(value)) value.forEach((v: unknown, i) => walk(v, shape.items, childPath(path, i), out));
    return;
  }
  if (Array.isArray(value)) return; // a wrong type is the parser's to report
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    // Own keys only: `constructor` or `toString` must not find Object.prototype's members.
    const below = Object.hasOwn(shape.fields, key) ? shape.fields[key] : undefined;
    if (below === undefined) out.push({ path: childPath(path, key), message: 'unknown field (the API server drops it; a misspelt field means the policy says something else)' });
    else walk(v, below, childPath(path, key), out);
  }
}

/** Unknown fields of a NetworkPolicy manifest, with paths under `path` (`''` or `spec.policies[2]`). */
export function unknownNetworkPolicyFields(raw: unknown, path: string): Problem[] {
  const out: Problem[] = [];
  walk(raw, NETWORK_POLICY, path, out);
  return out;
}
