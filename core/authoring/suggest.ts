/**
 * `rampart suggest`: a RampContract from observed traffic (product.md "Authoring"). Per
 * namespace in scope: a default-deny for Ingress and Egress, an allow-dns when DNS was seen
 * (kube-dns pods, UDP and TCP), and per workload the allow rules its observed connections
 * need: peers by workload selector (+ `kubernetes.io/metadata.name` across namespaces),
 * external peers as /32 or /128 ipBlocks, ports as Hubble saw them after DNAT (container
 * ports, never Service ports).
 *
 * The result is verified before it is returned: every representative connection is
 * re-evaluated against the suggestion (both sides, whichever node saw it) and must not be
 * denied, and every rule must admit at least one of them. A failure there is a bug and is
 * returned as a problem rather than a contract.
 */
import { err, ok, type Problem, type Result } from '../common/index.js';
import { parseContract } from '../contract/index.js';
import { parseNetworkPolicy, type NetworkPolicy } from '../policy/index.js';
import { contractDocument } from './contract-doc.js';
import { BOTH_SIDES, evaluatorFor } from './engine.js';
import { chooseSelectors, type Labels, type WorkloadLabels } from './labels.js';
import { comparePorts, dnsLabel, networkPolicy, NAMESPACE_NAME_LABEL, portManifest, needsByPeer, rulesFor, splitPolicies, type Manifest, type PeerNeed, type PortEntry, type Selector } from './manifests.js';
import { peerKey, type ObservationSet, type SideEdge } from './observe.js';
import { indexFlows, ruleUsage } from './rule-usage.js';
import { WORLD_CIDRS, type PublicEntryPoint } from './from-manifests.js';
import { flowEdge } from '../flow/index.js';

/**
 * Namespaces never locked down unless asked with `lockSystemNamespaces`: their shared
 * services (DNS above all) serve every namespace, and a short capture never shows all of it.
 */
export const SYSTEM_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease'];

export interface SuggestOptions {
  readonly name?: string;
  /** Namespaces to write policies for; default: every observed one except SYSTEM_NAMESPACES. */
  readonly namespaces?: readonly string[] | null;
  /** Controller selectors (`ns/workload` → matchLabels), e.g. from Deployments in --manifests. */
  readonly controllerSelectors?: ReadonlyMap<string, Labels>;
  /** Extra pod label sets per workload (from --pods), so selectors also match pods the capture missed. */
  readonly podLabelSets?: ReadonlyMap<string, readonly Labels[]>;
  readonly monitor?: string;
  /** Also write policies for system namespaces (SYSTEM_NAMESPACES) in scope; their DNS servers keep serving every namespace. */
  readonly lockSystemNamespaces?: boolean;
  /**
   * Workloads the world reaches (LoadBalancer/NodePort Services, from --manifests): their
   * ingress from external addresses on the serving ports is the world (0.0.0.0/0, ::/0), not
   * the addresses one capture happened to show, which would lock the public out.
   */
  readonly publicEntryPoints?: readonly PublicEntryPoint[];
  /**
   * Off by default (/32 per address, nothing guessed): with a prefix length (IPv4, 8..31), the
   * external peers of one workload's side that share a network of that size, two or more of
   * them, become one ipBlock of that network (authoring.md §7.4: aggregation only when asked).
   */
  readonly externalPrefix?: number;
}

/** `a.b.c.d/32` → its network of `prefix` bits, or null for IPv6 / malformed input. */
export function ipv4Network(cidr: string, prefix: number): string | null {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/32$/.exec(cidr);
  if (m === null) return null;
  const n = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const net = (n & mask) >>> 0;
  return `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}/${prefix}`;
}

/** Edges with external peers folded into networks where two or more addresses share one. */
function aggregateExternal(edges: readonly SideEdge[], prefix: number): SideEdge[] {
  const members = new Map<string, Set<string>>();
  const netOf = (e: SideEdge): string | null => (e.peer.kind === 'cidr' ? ipv4Network(e.peer.cidr, prefix) : null);
  for (const e of edges) {
    const net = netOf(e);
    if (net === null) continue;
    const k = `${e.self}\u0000${e.direction}\u0000${net}`;
    const set = members.get(k) ?? new Set<string>();
    set.add((e.peer as { cidr: string }).cidr);
    members.set(k, set);
  }
  return edges.map((e) => {
    const net = netOf(e);
    if (net === null || (members.get(`${e.self}\u0000${e.direction}\u0000${net}`)?.size ?? 0) < 2) return e;
    return { ...e, peer: { kind: 'cidr', cidr: net } };
  });
}

/** Ingress from external addresses on a public entry point's serving ports → from the world. */
function worldForPublic(edges: readonly SideEdge[], entries: readonly PublicEntryPoint[]): SideEdge[] {
  if (entries.length === 0) return [...edges];
  const serving = new Set(entries.flatMap((e) => e.ports.map((p) => `${e.workload}|${p.protocol}/${p.port}`)));
  const out: SideEdge[] = [];
  const seen = new Set<string>();
  for (const e of edges) {
    if (e.direction !== 'ingress' || e.peer.kind !== 'cidr' || !serving.has(`${e.self}|${e.protocol}/${e.port}`)) {
      out.push(e);
      continue;
    }
    for (const cidr of WORLD_CIDRS) {
      const k = `${e.self}|${e.protocol}/${e.port}|${cidr}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push({ ...e, peer: { kind: 'cidr', cidr } });
    }
  }
  return out;
}

export interface SuggestReport {
  readonly connections: number;
  readonly skipped: number;
  readonly namespaces: readonly string[];
  readonly policies: number;
  readonly rules: number;
  /** Re-evaluation of the suggestion over the distinct connections it was built from. */
  readonly verification: { readonly flows: number; readonly allow: number; readonly deny: number; readonly indeterminate: number };
  readonly selectors: readonly { readonly workload: string; readonly matchLabels: Selector }[];
  readonly notes: readonly string[];
}

export interface Suggestion {
  readonly contract: Manifest;
  readonly policies: readonly Manifest[];
  readonly parsed: readonly NetworkPolicy[];
  readonly report: SuggestReport;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function needsOf(edges: readonly SideEdge[]): PeerNeed[] {
  const needs = needsByPeer(edges);
  return [...needs.keys()].sort(cmp).map((k) => needs.get(k)!);
}

export function suggestFromObservations(obs: ObservationSet, options: SuggestOptions = {}): Result<Suggestion, Problem[]> {
  const notes: string[] = [];
  if (obs.edgeOverflow > 0) {
    return err([{ path: 'flows', message: `more than ${obs.edges.size} distinct edges (${obs.edgeOverflow} connection sides beyond that): too many for one contract; narrow it with --namespaces` }]);
  }
  const observedNs = [...new Set([...obs.workloads.values()].filter((w) => w.hasSide).map((w) => w.namespace))].sort(cmp);
  const explicit = options.namespaces != null && options.namespaces.length > 0;
  const requested = explicit ? [...new Set(options.namespaces)].sort(cmp) : observedNs;
  const system = requested.filter((n) => SYSTEM_NAMESPACES.includes(n));
  const scope = options.lockSystemNamespaces === true ? requested : requested.filter((n) => !SYSTEM_NAMESPACES.includes(n));
  // Unasked, a system namespace is worth a note only when its own pods were seen doing more
  // than answering DNS (the kube-dns peer every suggestion has is no news).
  const dnsServers = new Set([...obs.edges.values()].flatMap((e) => (e.dns && e.peer.kind === 'workload' ? [e.peer.workload] : [])));
  const busy = new Set([...obs.edges.values()].filter((e) => !(e.direction === 'ingress' && dnsServers.has(e.self))).map((e) => e.namespace));
  const mention = explicit ? system : system.filter((n) => busy.has(n));
  if (mention.length > 0 && options.lockSystemNamespaces !== true) {
    const names = mention.join(', ');
    const why = 'system namespaces run shared services (DNS) for every namespace, and locking them down breaks the cluster when any of it is missing';
    notes.push(explicit ? `${names} ${mention.length === 1 ? 'is' : 'are'} not locked down: ${why}; pass --lock-system-namespaces to write policies for ${mention.length === 1 ? 'it' : 'them'} anyway` : `left out ${names}: ${why} (--lock-system-namespaces writes policies for them anyway)`);
  }
  if (scope.length === 0) {
    return err([
      {
        path: 'flows',
        message: `no connection start of a pod outside ${SYSTEM_NAMESPACES.join(', ')} was seen (${obs.connections} connection starts, ${obs.skipped} other flows): nothing to suggest`,
      },
    ]);
  }
  // A namespace nothing was seen of would get a lone default-deny: every pod in it cut off, DNS included.
  const unseen = scope.filter((n) => !observedNs.includes(n));
  if (unseen.length > 0) {
    return err(
      unseen.map((n) => ({
        path: `namespace ${n}`,
        message: `no workload of it was seen or found in the manifests, so its policies would be a lone default-deny that cuts off every pod in it, DNS included (workloads were found in ${observedNs.filter((n) => !SYSTEM_NAMESPACES.includes(n)).join(', ') || 'no namespace'}; for manifests without metadata.namespace, say where they run with --namespace ${n})`,
      })),
    );
  }
  const inScope = new Set(scope);

  const workloadLabels: WorkloadLabels[] = [...obs.workloads.values()].map((w) => {
    const extra = options.podLabelSets?.get(w.key) ?? [];
    const controllerSelector = options.controllerSelectors?.get(w.key);
    return { key: w.key, namespace: w.namespace, labelSets: [...w.labelSets.values(), ...extra], ...(controllerSelector ? { controllerSelector } : {}) };
  });
  const selectors = chooseSelectors(workloadLabels);
  const selectorOf = (w: string): Selector => selectors.get(w) ?? {};
  // A workload without a stable label cannot be named alone: a rule for it, or naming it as a
  // peer, would open every pod of its namespace. Refuse rather than widen.
  const unnamed = new Set<string>();
  for (const e of obs.edges.values()) {
    if (!inScope.has(e.namespace)) continue;
    for (const w of [e.self, ...(e.peer.kind === 'workload' ? [e.peer.workload] : [])]) if (Object.keys(selectorOf(w)).length === 0) unnamed.add(w);
  }
  if (unnamed.size > 0) {
    return err(
      [...unnamed].sort(cmp).map((w) => {
        const ns = w.slice(0, w.indexOf('/'));
        return { path: w, message: `its pods share no stable label, so a rule naming them would select every pod of ${ns}: give them an app label (app or app.kubernetes.io/name), or leave ${ns} out with --namespaces` };
      }),
    );
  }

  const edgesBySelf = new Map<string, SideEdge[]>();
  const dnsByNs = new Map<string, SideEdge[]>();
  const prefix = options.externalPrefix;
  if (prefix !== undefined && !(Number.isInteger(prefix) && prefix >= 8 && prefix <= 31)) {
    return err([{ path: 'externalPrefix', message: `expected a prefix length from 8 to 31, got ${prefix}` }]);
  }
  const allEdges = worldForPublic(prefix === undefined ? [...obs.edges.values()] : aggregateExternal([...obs.edges.values()], prefix), options.publicEntryPoints ?? []);
  if (prefix !== undefined) notes.push(`external peers of one workload sharing a /${prefix} are one ipBlock (--external-prefix): addresses not seen in the capture are admitted too`);
  for (const e of allEdges) {
    if (!inScope.has(e.namespace)) continue;
    if (e.dns) {
      const list = dnsByNs.get(e.namespace) ?? [];
      list.push(e);
      dnsByNs.set(e.namespace, list);
      continue;
    }
    const list = edgesBySelf.get(e.self) ?? [];
    list.push(e);
    edgesBySelf.set(e.self, list);
    if (e.peer.kind === 'any') notes.push(`${e.self}: ${e.direction} with ${e.peer.what} on ${e.protocol ?? 'any protocol'}${e.protocol === null ? '' : `/${e.port}`} needs a rule without peers (no selector or ipBlock names it): review it`);
  }

  // DNS servers in scope (only with lockSystemNamespaces): every namespace resolves through
  // them on UDP and TCP, and they ask upstream resolvers wherever those are.
  const servedDns = new Map<string, Set<number>>();
  for (const e of allEdges) {
    if (!e.dns || e.peer.kind !== 'workload' || !inScope.has(e.peer.namespace)) continue;
    const ports = servedDns.get(e.peer.workload) ?? new Set<number>();
    ports.add(e.port);
    servedDns.set(e.peer.workload, ports);
  }
  const declared = new Set<string>();
  for (const [self, list] of edgesBySelf) {
    const ports = servedDns.get(self);
    if (ports !== undefined) edgesBySelf.set(self, list.filter((e) => !(e.direction === 'ingress' && (e.protocol === 'UDP' || e.protocol === 'TCP') && ports.has(e.port))));
  }

  const policies: Manifest[] = [];
  for (const ns of scope) {
    const used = new Set<string>(['default-deny']);
    policies.push(networkPolicy(ns, 'default-deny', {}, { ingress: [], egress: [] }));
    const dns = dnsByNs.get(ns);
    if (dns !== undefined) {
      used.add('allow-dns');
      const servers = [...new Map(dns.map((e) => [peerKey(e.peer), e.peer])).values()];
      const ports = [...new Set(dns.map((e) => e.port))].sort((a, b) => a - b);
      const entries: PortEntry[] = ports.flatMap((port) => [
        { protocol: 'UDP' as const, port },
        { protocol: 'TCP' as const, port },
      ]);
      const egress = rulesFor('egress', servers.map((peer) => ({ peer, ports: entries })), ns, selectorOf);
      policies.push(networkPolicy(ns, 'allow-dns', {}, { egress }));
    }
    for (const [server, ports] of [...servedDns.entries()].filter(([w]) => w.startsWith(`${ns}/`)).sort(([a], [b]) => cmp(a, b))) {
      let name = 'dns-server';
      while (used.has(name)) name = dnsLabel(`${name}-${server.slice(ns.length + 1)}`);
      used.add(name);
      declared.add(`${ns}/${name}`);
      const served: PortEntry[] = [...ports].sort((a, b) => a - b).flatMap((port) => [
        { protocol: 'UDP' as const, port },
        { protocol: 'TCP' as const, port },
      ]);
      const upstream: PortEntry[] = [
        { protocol: 'UDP', port: 53 },
        { protocol: 'TCP', port: 53 },
      ];
      policies.push(
        networkPolicy(ns, name, selectorOf(server), {
          ingress: [{ from: [{ namespaceSelector: {} }], ports: [...served].sort(comparePorts).map(portManifest) }],
          egress: [{ ports: upstream.sort(comparePorts).map(portManifest) }],
        }),
      );
      notes.push(`${server}: serves DNS to every namespace, so it admits UDP and TCP ${[...ports].join(', ')} from any namespace and may ask upstream resolvers anywhere on port 53; its other traffic (the API server) is allowed only if the capture shows it`);
    }
    const selves = [...edgesBySelf.keys()].filter((k) => k.startsWith(`${ns}/`)).sort(cmp);
    for (const self of selves) {
      const edges = edgesBySelf.get(self)!;
      const ingress = rulesFor('ingress', needsOf(edges.filter((e) => e.direction === 'ingress')), ns, selectorOf);
      const egress = rulesFor('egress', needsOf(edges.filter((e) => e.direction === 'egress')), ns, selectorOf);
      if (ingress.length === 0 && egress.length === 0) continue;
      let base = dnsLabel(self.slice(ns.length + 1), 'workload');
      while (used.has(base)) base = dnsLabel(`${base}-workload`);
      const split = splitPolicies(ns, base, selectorOf(self), ingress, egress);
      for (const p of split) used.add((p['metadata'] as { name: string }).name);
      policies.push(...split);
    }
  }
  for (const [reason, n] of [...obs.unexpressible.entries()].sort((a, b) => b[1] - a[1])) notes.push(`${n} connection side${n === 1 ? '' : 's'}: ${reason}; no rule can name it (its verdict stays indeterminate)`);
  if (obs.representativeOverflow > 0) notes.push(`verification looked at the first ${obs.representatives.size} distinct connections; ${obs.representativeOverflow} more were not re-evaluated`);

  // Parse what was written, exactly as a contract would be parsed.
  const parsed: NetworkPolicy[] = [];
  const problems: Problem[] = [];
  policies.forEach((m, i) => {
    const r = parseNetworkPolicy(m, `spec.policies[${i}]`);
    if (r.ok) parsed.push(r.value);
    else problems.push(...r.error);
  });
  if (problems.length > 0) return err(problems);

  // Round trip: nothing the suggestion was built from may be denied.
  const ev = evaluatorFor(parsed);
  let allow = 0;
  let deny = 0;
  let indeterminate = 0;
  for (const f of obs.representatives.values()) {
    const e = ev.evaluate(f, BOTH_SIDES);
    if (e.verdict === 'allow') allow++;
    else if (e.verdict === 'indeterminate') indeterminate++;
    else {
      const edge = flowEdge(f);
      deny++;
      problems.push({ path: `${edge.from} → ${edge.to}:${edge.port}/${edge.protocol}`, message: `the suggestion denies an observed connection (${e.reason}); this is a bug` });
    }
  }
  const usage = ruleUsage(parsed, indexFlows(obs.representatives.values()), 1);
  // Declared rules (a DNS server's) serve what the capture may not show: exempt from "admits something".
  for (const u of usage) if (u.count === 0 && !declared.has(u.policy)) problems.push({ path: `${u.policy} ${u.direction}[${u.index}]`, message: 'the suggested rule admits no observed connection; this is a bug' });
  if (problems.length > 0) return err(problems);

  const name = options.name ?? 'suggested';
  const contract = contractDocument(policies, { name, ...(options.monitor !== undefined ? { monitor: options.monitor } : {}) });
  const c = parseContract(contract);
  if (!c.ok) {
    const hint = ' (the suggestion is too large for one contract: narrow it with --namespaces, or fold external peers with --external-prefix)';
    return err(c.error.map((p) => ({ path: p.path, message: `${p.message}${p.code === 'over-limit' ? hint : ''}` })));
  }

  const selectorList = [...selectors.entries()]
    .filter(([w]) => inScope.has(w.slice(0, w.indexOf('/'))))
    .sort(([a], [b]) => cmp(a, b))
    .map(([workload, matchLabels]) => ({ workload, matchLabels }));
  return ok({
    contract,
    policies,
    parsed,
    report: {
      connections: obs.connections,
      skipped: obs.skipped,
      namespaces: scope,
      policies: policies.length,
      rules: parsed.reduce((n, p) => n + p.ingress.length + p.egress.length, 0),
      verification: { flows: obs.representatives.size, allow, deny, indeterminate },
      selectors: selectorList,
      notes: [...new Set(notes)],
    },
  });
}

export { NAMESPACE_NAME_LABEL };
