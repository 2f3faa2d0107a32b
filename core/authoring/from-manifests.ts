/**
 * Inferring the connections workloads need from rendered manifests when no traffic has been
 * recorded yet (authoring.md §2, np-guard's algorithm with its known faults fixed): a
 * workload calls a Service when the Service's DNS name (`svc`, `svc.ns`, `svc.ns.svc`,
 * `svc.ns.svc.cluster.local`, optionally `:port`) appears in its env, args, command or a
 * ConfigMap it reads; the connection goes to the pods the Service selects on its targetPort
 * (resolved to the container port, never the Service port); a LoadBalancer or NodePort
 * Service is open to anyone on its target ports; every caller needs DNS. Selectors are the
 * controllers' own `spec.selector`.
 */
import type { Endpoint } from '../flow/index.js';
import { matchLabelsMatch, type PolicyProtocol } from '../policy/index.js';
import { configMapFacts, serviceFacts, workloadFacts, type ServiceFacts, type WorkloadFacts } from './cluster.js';
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

export interface ManifestInference {
  readonly controllerSelectors: Map<string, Labels>;
  readonly edges: readonly InferredEdge[];
  readonly notes: readonly string[];
  readonly workloads: number;
  readonly services: number;
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
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
  for (const o of objects) {
    const w = workloadFacts(o);
    if (w !== null) {
      workloads.push(w);
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
  const add = (from: WorkloadFacts | null, to: WorkloadFacts, protocol: PolicyProtocol, port: number, evidence: string, anyone?: string): void => {
    const k = `${from === null ? '*' : key(from)}|${key(to)}|${protocol}|${port}`;
    if (seen.has(k)) return;
    seen.add(k);
    edges.push({ from: from === null ? (anyone ?? 'anyone') : key(from), to: key(to), port, protocol, evidence });
    const dst = pods.get(key(to))!;
    if (from === null) into.addConnection(syntheticFlow(WORLD, dst, protocol, port, { source: '198.18.0.1', destination: '10.255.0.2' }), { externalSourceAs: anyone ?? 'anyone' });
    else into.addConnection(syntheticFlow(pods.get(key(from))!, dst, protocol, port));
  };

  const callers = new Set<WorkloadFacts>();
  for (const s of services) {
    const targets = backends(s);
    if (targets.length === 0) {
      notes.push(`Service ${s.namespace}/${s.name} selects no workload in the manifests`);
      continue;
    }
    if (s.type === 'LoadBalancer' || s.type === 'NodePort') {
      for (const t of targets) {
        for (const sp of s.ports) {
          const port = targetOn(t, sp);
          if (port === null) notes.push(`Service ${s.namespace}/${s.name} port ${sp.port}: targetPort ${String(sp.targetPort)} is no container port of ${key(t)}`);
          else add(null, t, sp.protocol, port, `Service ${s.namespace}/${s.name} is ${s.type}: open to anyone`, `anyone (Service ${s.name} is ${s.type})`);
        }
      }
    }
    const pattern = new RegExp(`(?<![a-z0-9.-])${esc(s.name)}(\\.${esc(s.namespace)}(?:\\.svc(?:\\.cluster\\.local)?)?)?(?::(\\d+))?(?![a-z0-9-]|\\.[a-z0-9])`, 'g');
    for (const w of workloads) {
      const texts: { text: string; where: string }[] = [];
      for (const c of w.containers) {
        for (const t of c.strings) texts.push({ text: t, where: `env/args of ${w.name}` });
        for (const cm of c.configMaps) for (const t of configMaps.get(`${w.namespace}/${cm}`) ?? []) texts.push({ text: t, where: `ConfigMap ${cm}` });
      }
      for (const cm of w.volumeConfigMaps) for (const t of configMaps.get(`${w.namespace}/${cm}`) ?? []) texts.push({ text: t, where: `ConfigMap ${cm}` });
      for (const { text, where } of texts) {
        for (const m of text.matchAll(pattern)) {
          if (m[1] === undefined && w.namespace !== s.namespace) continue; // a bare name resolves in the caller's namespace only
          const wanted = m[2] === undefined ? null : Number(m[2]);
          const ports = wanted === null ? s.ports : s.ports.filter((p) => p.port === wanted);
          if (ports.length === 0) notes.push(`${key(w)}: ${where} names ${m[0]}, but Service ${s.namespace}/${s.name} has no port ${wanted}`);
          for (const t of targets) {
            if (t === w) continue;
            for (const sp of ports) {
              const port = targetOn(t, sp);
              if (port === null) continue;
              callers.add(w);
              add(w, t, sp.protocol, port, `${where} names ${m[0]}`);
            }
          }
        }
      }
    }
  }

  // DNS for every caller: to the kube-dns Service's pods when the manifests have them, else to kube-dns as deployed by default.
  const kubeDns = services.find((s) => s.namespace === 'kube-system' && s.name === 'kube-dns');
  const dnsTargets = kubeDns === undefined ? [] : backends(kubeDns);
  for (const w of [...callers].sort((a, b) => (key(a) < key(b) ? -1 : 1))) {
    if (dnsTargets.length > 0 && kubeDns !== undefined) {
      for (const t of dnsTargets) for (const sp of kubeDns.ports) {
        const port = targetOn(t, sp);
        if (port !== null) add(w, t, sp.protocol, port, 'callers resolve Service names');
      }
    } else {
      const coredns = syntheticPod('kube-system', 'coredns', 'Deployment', { 'k8s-app': 'kube-dns' });
      into.addConnection(syntheticFlow(pods.get(key(w))!, coredns, 'UDP', 53));
      edges.push({ from: key(w), to: 'kube-system/coredns', port: 53, protocol: 'UDP', evidence: 'callers resolve Service names (kube-dns assumed at k8s-app=kube-dns)' });
    }
  }
  for (const w of workloads) if (!callers.has(w) && !edges.some((e) => e.to === key(w))) notes.push(`${key(w)}: no Service reference found to or from it; it gets only the default-deny`);
  for (const w of workloads) {
    const k = key(w);
    // Workloads nobody calls still need their namespace in scope: record them as seen.
    const ow = into.workloads.get(k);
    if (ow !== undefined) ow.hasSide = true;
  }
  return { controllerSelectors, edges, notes, workloads: workloads.length, services: services.length };
}
