/**
 * Inferring the connections workloads need from rendered manifests when no traffic has been
 * recorded yet (authoring.md §2, np-guard's algorithm with its known faults fixed): a
 * workload calls a Service when the Service's DNS name (`svc`, `svc.ns`, `svc.ns.svc`,
 * `svc.ns.svc.cluster.local`, optionally `:port`) appears in its env, args, command or a
 * ConfigMap it reads; the connection goes to the pods the Service selects on its targetPort
 * (resolved to the container port, never the Service port). Also: a headless Service's pod
 * names (`pod.svc.ns…`), the variables Kubernetes injects for a Service of the caller's
 * namespace (`$(SVC_SERVICE_HOST)`, `SVC_SERVICE_PORT[_NAME]`). A LoadBalancer or NodePort
 * Service is a public entry point: the world (0.0.0.0/0, ::/0) reaches its target ports; an
 * Ingress backend is reached by an ingress controller the manifests do not show. Every caller
 * needs DNS. Selectors are the controllers' own `spec.selector`; a workload whose pods carry
 * no label its selector names is skipped (a rule for it would select every pod).
 */
import type { Endpoint } from '../flow/index.js';
import { matchLabelsMatch, type PolicyProtocol } from '../policy/index.js';
import { configMapFacts, ingressFacts, serviceFacts, workloadFacts, type IngressFacts, type ServiceFacts, type WorkloadFacts } from './cluster.js';
import type { Labels } from './labels.js';
import type { ObservationSet } from './observe.js';
import { syntheticFlow, syntheticPod, WORLD } from './synthetic-flow.js';

export interface InferredEdge {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: PolicyProtocol;
  /** Why: `env of api mentions db.data:5432`, `Service web is LoadBalancer`. */
  readonly evidence: string;
}

/** A workload the world or an ingress controller reaches, and why (for suggest's rules and audit's findings). */
export interface PublicEntryPoint {
  /** `ns/workload`. */
  readonly workload: string;
  readonly namespace: string;
  /** The labels of its pods (the pod template's), to tell which policies select it. */
  readonly labels: Labels;
  readonly ports: readonly { readonly protocol: PolicyProtocol; readonly port: number }[];
  /** `Service shop/web is LoadBalancer`, `Ingress shop/www routes to Service shop/web`. */
  readonly reason: string;
}

/** The world, as ipBlocks: where a public entry point's clients come from. */
export const WORLD_CIDRS: readonly string[] = ['0.0.0.0/0', '::/0'];

export interface ManifestInference {
  readonly controllerSelectors: Map<string, Labels>;
  readonly publicEntryPoints: readonly PublicEntryPoint[];
  readonly edges: readonly InferredEdge[];
  readonly notes: readonly string[];
  readonly workloads: number;
  readonly services: number;
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** `my-svc` → `MY_SVC`, as Kubernetes names a Service's injected variables. */
const envName = (s: string): string => s.toUpperCase().replace(/-/g, '_');
const labelText = (l: Labels): string => Object.entries(l).map(([k, v]) => `${k}=${v}`).join(',');
const selects = (selector: Labels, labels: Labels): boolean => Object.keys(selector).length > 0 && matchLabelsMatch(selector, labels);

/** The container port a Service port reaches on a workload, or null when a named targetPort has no match. */
function targetOn(w: WorkloadFacts, sp: ServiceFacts['ports'][number]): number | null {
  if (typeof sp.targetPort === 'number') return sp.targetPort;
  for (const c of w.containers) for (const p of c.ports) if (p.name === sp.targetPort && p.protocol === sp.protocol) return p.port;
  return null;
}

export function inferFromManifests(objects: readonly Record<string, unknown>[], into: ObservationSet): ManifestInference {
  const notes: string[] = [];
  const workloads: WorkloadFacts[] = [];
  const services: ServiceFacts[] = [];
  const configMaps = new Map<string, readonly string[]>();
  const ingresses: IngressFacts[] = [];
  for (const o of objects) {
    const w = workloadFacts(o);
    if (w !== null) {
      // A selector must name labels the pods carry; without them a rule would select every pod of the namespace.
      const selector = Object.keys(w.selector).length > 0 ? w.selector : w.templateLabels;
      if (Object.keys(w.templateLabels).length === 0 && Object.keys(w.selector).length === 0) notes.push(`${w.namespace}/${w.name}: skipped: its pod template has no labels, so no rule can select its pods alone (the API server refuses such a ${w.kind} too)`);
      else if (Object.keys(w.templateLabels).length === 0) notes.push(`${w.namespace}/${w.name}: skipped: its pod template has no labels, so its selector ${labelText(w.selector)} matches none of its pods (the API server refuses such a ${w.kind} too)`);
      else if (!matchLabelsMatch(selector, w.templateLabels)) notes.push(`${w.namespace}/${w.name}: skipped: its selector ${labelText(selector)} does not match its pod template labels (the API server refuses such a ${w.kind} too)`);
      else workloads.push(w);
      continue;
    }
    const i = ingressFacts(o);
    if (i !== null) {
      ingresses.push(i);
      continue;
    }
    const s = serviceFacts(o);
    if (s !== null) {
      services.push(s);
      continue;
    }
    const c = configMapFacts(o);
    if (c !== null) configMaps.set(`${c.namespace}/${c.name}`, c.values);
  }
  const key = (w: { namespace: string; name: string }): string => `${w.namespace}/${w.name}`;
  const controllerSelectors = new Map<string, Labels>();
  const pods = new Map<string, Endpoint>();
  for (const w of workloads) {
    controllerSelectors.set(key(w), Object.keys(w.selector).length > 0 ? w.selector : w.templateLabels);
    pods.set(key(w), syntheticPod(w.namespace, w.name, w.kind, w.templateLabels));
  }
  const backends = (s: ServiceFacts): WorkloadFacts[] => workloads.filter((w) => w.namespace === s.namespace && selects(s.selector, w.templateLabels));

  const edges: InferredEdge[] = [];
  const seen = new Set<string>();
  const publicEntryPoints = new Map<string, { namespace: string; labels: Labels; ports: Map<string, { protocol: PolicyProtocol; port: number }>; reasons: Set<string> }>();
  /** `from`: a workload, `world` (a public entry point: 0.0.0.0/0 and ::/0) or `ingress` (a controller the manifests do not show). */
  const add = (from: WorkloadFacts | 'world' | 'ingress', to: WorkloadFacts, protocol: PolicyProtocol, port: number, evidence: string): void => {
    const k = `${typeof from === 'string' ? from : key(from)}|${key(to)}|${protocol}|${port}`;
    if (seen.has(k)) return;
    seen.add(k);
    const dst = pods.get(key(to))!;
    if (typeof from === 'string') {
      edges.push({ from: from === 'world' ? `world (${evidence})` : `an ingress controller (${evidence})`, to: key(to), port, protocol, evidence });
      const flow = syntheticFlow(WORLD, dst, protocol, port, { source: '198.18.0.1', destination: '10.255.0.2' });
      if (from === 'world') into.addConnection(flow, { externalSourceCidrs: WORLD_CIDRS });
      else into.addConnection(flow, { externalSourceAs: `an ingress controller (${evidence})` });
      const e = publicEntryPoints.get(key(to)) ?? { namespace: to.namespace, labels: to.templateLabels, ports: new Map(), reasons: new Set<string>() };
      e.ports.set(`${protocol}/${port}`, { protocol, port });
      e.reasons.add(evidence);
      publicEntryPoints.set(key(to), e);
      return;
    }
    edges.push({ from: key(from), to: key(to), port, protocol, evidence });
    into.addConnection(syntheticFlow(pods.get(key(from))!, dst, protocol, port));
  };

  const callers = new Set<WorkloadFacts>();
  /** Where Service names are written: env, args and command, and the ConfigMaps a workload reads. */
  const textsOf = (w: WorkloadFacts): { text: string; where: string }[] => {
    const texts: { text: string; where: string }[] = [];
    for (const c of w.containers) {
      for (const t of c.strings) texts.push({ text: t, where: `env/args of ${w.name}` });
      for (const cm of c.configMaps) for (const t of configMaps.get(`${w.namespace}/${cm}`) ?? []) texts.push({ text: t, where: `ConfigMap ${cm}` });
    }
    for (const cm of w.volumeConfigMaps) for (const t of configMaps.get(`${w.namespace}/${cm}`) ?? []) texts.push({ text: t, where: `ConfigMap ${cm}` });
    return texts;
  };
  /** `(caller, text)` pairs a Service pattern matched, so the undefined-Service notes skip them. */
  const named = new Set<string>();
  const namespaces = new Set([...workloads.map((w) => w.namespace), ...services.map((s) => s.namespace)]);
  for (const s of services) {
    const targets = backends(s);
    if (targets.length === 0) {
      notes.push(`Service ${s.namespace}/${s.name} selects no workload in the manifests`);
      continue;
    }
    const routes = ingresses.filter((i) => i.namespace === s.namespace).flatMap((i) => i.backends.filter((b) => b.service === s.name).map((b) => ({ ingress: i, port: b.port })));
    if (s.type === 'LoadBalancer' || s.type === 'NodePort' || routes.length > 0) {
      const exposed: { sp: ServiceFacts['ports'][number]; why: string; from: 'world' | 'ingress' }[] = s.type === 'LoadBalancer' || s.type === 'NodePort' ? s.ports.map((sp) => ({ sp, why: `Service ${s.namespace}/${s.name} is ${s.type}`, from: 'world' as const })) : [];
      for (const r of routes) {
        for (const sp of s.ports.filter((p) => r.port === null || p.port === r.port || p.name === r.port)) exposed.push({ sp, why: `Ingress ${r.ingress.namespace}/${r.ingress.name} routes to Service ${s.namespace}/${s.name}`, from: 'ingress' as const });
      }
      for (const t of targets) {
        for (const { sp, why, from } of exposed) {
          const port = targetOn(t, sp);
          if (port === null) notes.push(`Service ${s.namespace}/${s.name} port ${sp.port}: targetPort ${String(sp.targetPort)} is no container port of ${key(t)}`);
          else add(from, t, sp.protocol, port, why);
        }
      }
      for (const r of new Set(routes.map((x) => x.ingress))) notes.push(`Ingress ${r.namespace}/${r.name} → Service ${s.namespace}/${s.name}: its traffic comes from an ingress controller the manifests do not show, so the rule admits any peer on the Service's target ports; narrow it to your controller's pods`);
    }
    // svc, svc.ns, svc.ns.svc, svc.ns.svc.cluster.local, optionally :port; a headless Service's pods also as pod.svc….
    const podPrefix = s.headless ? '(?:[a-z0-9]([-a-z0-9]*[a-z0-9])?\\.)?' : '';
    const pattern = new RegExp(`(?<![a-z0-9.-])${podPrefix}${esc(s.name)}(\\.${esc(s.namespace)}(?:\\.svc(?:\\.cluster\\.local)?)?)?(?::(\\d+))?(?![a-z0-9-]|\\.[a-z0-9])`, 'g');
    // The variables Kubernetes injects into pods of the Service's namespace: SVC_SERVICE_HOST, SVC_SERVICE_PORT, SVC_SERVICE_PORT_<NAME>.
    const variables = new RegExp(`(?<![A-Z0-9_])${esc(envName(s.name))}_SERVICE_(?:HOST|PORT(?:_([A-Z0-9_]+))?)(?![A-Z0-9_])`, 'g');
    for (const w of workloads) {
      const texts = textsOf(w);
      const connect = (caller: WorkloadFacts, ports: readonly ServiceFacts['ports'][number][], where: string, text: string): void => {
        for (const t of targets) {
          if (t === caller) continue;
          for (const sp of ports) {
            const port = targetOn(t, sp);
            if (port === null) continue;
            callers.add(caller);
            add(caller, t, sp.protocol, port, `${where} names ${text}`);
          }
        }
      };
      for (const { text, where } of texts) {
        for (const m of text.matchAll(pattern)) {
          const nsPart = s.headless ? m[2] : m[1];
          const portPart = s.headless ? m[3] : m[2];
          if (nsPart === undefined && w.namespace !== s.namespace) continue; // a bare name resolves in the caller's namespace only
          const wanted = portPart === undefined ? null : Number(portPart);
          const ports = wanted === null ? s.ports : s.ports.filter((p) => p.port === wanted);
          if (ports.length === 0) notes.push(`${key(w)}: ${where} names ${m[0]}, but Service ${s.namespace}/${s.name} has no port ${wanted}`);
          named.add(`${key(w)}|${m[0]}`);
          connect(w, ports, where, m[0]);
        }
        if (w.namespace !== s.namespace) continue;
        // SVC_SERVICE_PORT is the Service's first port, SVC_SERVICE_PORT_<NAME> a named one; the host alone, any port.
        const found = [...text.matchAll(variables)];
        const portRefs = found.filter((m) => m[0].includes('_SERVICE_PORT'));
        for (const m of portRefs.length > 0 ? portRefs : found) {
          const portName = m[1]?.toLowerCase().replace(/_/g, '-');
          const ports = portRefs.length === 0 ? s.ports : portName === undefined ? s.ports.slice(0, 1) : s.ports.filter((p) => p.name === portName);
          connect(w, ports, where, m[0]);
        }
      }
    }
  }
  for (const w of workloads) {
    for (const { text, where } of textsOf(w)) {
      for (const ref of hostPorts(text)) {
        if ([...named].some((n) => n.startsWith(`${key(w)}|`) && n.endsWith(ref.text))) continue;
        const [svc, ns] = ref.host.split('.') as [string, string | undefined];
        const namespace = ns ?? w.namespace;
        if (ns !== undefined && !ref.host.endsWith('.svc') && !ref.host.endsWith('.svc.cluster.local') && !namespaces.has(ns)) continue; // svc.ns only for a namespace of the manifests; else it may be a domain
        if (services.some((s) => s.name === svc && s.namespace === namespace)) continue;
        notes.push(`${key(w)}: ${where} names ${ref.text}, but no Service ${svc}${ns === undefined ? '' : `.${ns}`} is in the manifests: no rule is written for it`);
      }
    }
  }

  // DNS for every workload (servers resolve names too: upstreams, peers, reverse lookups): to
  // the kube-dns Service's pods when the manifests have them, else to kube-dns as deployed by default.
  const kubeDns = services.find((s) => s.namespace === 'kube-system' && s.name === 'kube-dns');
  const dnsTargets = kubeDns === undefined ? [] : backends(kubeDns);
  for (const w of [...workloads].sort((a, b) => (key(a) < key(b) ? -1 : 1))) {
    if (dnsTargets.length > 0 && kubeDns !== undefined) {
      for (const t of dnsTargets) for (const sp of kubeDns.ports) {
        const port = targetOn(t, sp);
        if (port !== null) add(w, t, sp.protocol, port, 'pods resolve names');
      }
    } else {
      const coredns = syntheticPod('kube-system', 'coredns', 'Deployment', { 'k8s-app': 'kube-dns' });
      into.addConnection(syntheticFlow(pods.get(key(w))!, coredns, 'UDP', 53));
      edges.push({ from: key(w), to: 'kube-system/coredns', port: 53, protocol: 'UDP', evidence: 'pods resolve names (kube-dns assumed at k8s-app=kube-dns)' });
    }
  }
  for (const w of workloads) if (!callers.has(w) && !edges.some((e) => e.to === key(w))) notes.push(`${key(w)}: no Service reference found to or from it; it gets only DNS`);
  for (const w of workloads) {
    const k = key(w);
    // Workloads nobody calls still need their namespace in scope: record them as seen.
    const ow = into.workloads.get(k);
    if (ow !== undefined) ow.hasSide = true;
  }
  const entries: PublicEntryPoint[] = [...publicEntryPoints.entries()].map(([workload, e]) => ({ workload, namespace: e.namespace, labels: e.labels, ports: [...e.ports.values()], reason: [...e.reasons].join('; ') }));
  return { controllerSelectors, publicEntryPoints: entries, edges, notes, workloads: workloads.length, services: services.length };
}

/** `host:port` references in a text (env value, argument, ConfigMap value): a host of one label, `svc.ns`, or `svc.ns.svc[.cluster.local]`. */
function hostPorts(text: string): { host: string; text: string }[] {
  const out: { host: string; text: string }[] = [];
  for (const m of text.matchAll(/(?<![A-Za-z0-9.:_-])([a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)?)(\.svc(?:\.cluster\.local)?)?:(\d{1,5})(?![0-9])/g)) {
    const host = m[1]!;
    if (host === 'localhost') continue;
    out.push({ host: `${host}${m[2] ?? ''}`.replace(/\.svc(\.cluster\.local)?$/, ''), text: m[0] });
  }
  return out;
}
