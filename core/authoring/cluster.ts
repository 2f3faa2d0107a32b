/**
 * The parts of Kubernetes objects authoring reads (pods from `kubectl get pods -A -o json`,
 * workloads, Services and ConfigMaps from rendered manifests), as plain records. Unknown
 * kinds are skipped by the callers; malformed fields are skipped here with a note, never
 * thrown: a suggestion degrades to fewer facts, it does not crash.
 */
import { stripPodHash } from '../flow/index.js';
import type { PolicyProtocol } from '../policy/index.js';
import type { Labels } from './labels.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function stringRecord(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObj(v)) return out;
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

export interface ContainerPort {
  readonly name: string | null;
  readonly port: number;
  readonly protocol: PolicyProtocol;
}

export interface ContainerFacts {
  readonly ports: readonly ContainerPort[];
  /** env values, args and command: where Service names are written. */
  readonly strings: readonly string[];
  /** ConfigMaps the container reads (envFrom, env valueFrom). */
  readonly configMaps: readonly string[];
}

export interface PodFacts {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
  /** The controlling workload's name (a ReplicaSet's Deployment, a Job's CronJob), or the pod name without hashes. */
  readonly workload: string;
  readonly ports: readonly ContainerPort[];
}

export interface WorkloadFacts {
  readonly namespace: string;
  readonly name: string;
  readonly kind: string;
  readonly selector: Labels;
  readonly templateLabels: Labels;
  readonly containers: readonly ContainerFacts[];
  /** ConfigMaps mounted as volumes. */
  readonly volumeConfigMaps: readonly string[];
}

export interface ServicePort {
  readonly name: string | null;
  readonly port: number;
  readonly targetPort: number | string;
  readonly protocol: PolicyProtocol;
}

export interface ServiceFacts {
  readonly namespace: string;
  readonly name: string;
  readonly type: string;
  /** `clusterIP: None`: each pod also has a name, `<pod>.<svc>.<ns>.svc…`. */
  readonly headless: boolean;
  readonly selector: Labels;
  readonly ports: readonly ServicePort[];
}

export interface ConfigMapFacts {
  readonly namespace: string;
  readonly name: string;
  readonly values: readonly string[];
}

const PROTOCOLS: readonly string[] = ['TCP', 'UDP', 'SCTP'];
const protocolOf = (v: unknown): PolicyProtocol => (typeof v === 'string' && PROTOCOLS.includes(v) ? (v as PolicyProtocol) : 'TCP');
const validPort = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;

function metadataOf(o: Obj): { name: string | null; namespace: string; labels: Labels } {
  const m = isObj(o['metadata']) ? o['metadata'] : {};
  return { name: str(m['name']), namespace: str(m['namespace']) ?? 'default', labels: stringRecord(m['labels']) };
}

function containersOf(podSpec: Obj): ContainerFacts[] {
  const out: ContainerFacts[] = [];
  for (const group of ['containers', 'initContainers']) {
    for (const c of list(podSpec[group])) {
      if (!isObj(c)) continue;
      const ports: ContainerPort[] = [];
      for (const p of list(c['ports'])) {
        if (!isObj(p) || !validPort(p['containerPort'])) continue;
        ports.push({ name: str(p['name']), port: p['containerPort'], protocol: protocolOf(p['protocol']) });
      }
      const strings: string[] = [];
      const configMaps: string[] = [];
      for (const e of list(c['env'])) {
        if (!isObj(e)) continue;
        if (typeof e['value'] === 'string') strings.push(e['value']);
        const from = isObj(e['valueFrom']) ? e['valueFrom'] : null;
        const ref = from !== null && isObj(from['configMapKeyRef']) ? str(from['configMapKeyRef']['name']) : null;
        if (ref !== null) configMaps.push(ref);
      }
      for (const e of list(c['envFrom'])) {
        if (isObj(e) && isObj(e['configMapRef'])) {
          const n = str(e['configMapRef']['name']);
          if (n !== null) configMaps.push(n);
        }
      }
      for (const k of ['args', 'command']) for (const a of list(c[k])) if (typeof a === 'string') strings.push(a);
      out.push({ ports, strings, configMaps });
    }
  }
  return out;
}

/** The controller of a pod from its ownerReferences: ReplicaSet `x-<hash>` → `x`, CronJob Job `x-<n>` → `x`. */
function controllerOf(o: Obj, podName: string): string {
  const meta = isObj(o['metadata']) ? o['metadata'] : {};
  const owner = list(meta['ownerReferences']).find((r) => isObj(r) && r['controller'] === true) ?? list(meta['ownerReferences'])[0];
  if (isObj(owner)) {
    const kind = str(owner['kind']);
    const name = str(owner['name']);
    if (name !== null) {
      if (kind === 'ReplicaSet') return name.replace(/-[a-z0-9]{6,10}$/, '');
      if (kind === 'Job') return name.replace(/-\d{6,}$/, '');
      return name;
    }
  }
  return stripPodHash(podName);
}

export function podFacts(o: Obj): PodFacts | null {
  if (o['kind'] !== 'Pod') return null;
  const m = metadataOf(o);
  if (m.name === null) return null;
  const spec = isObj(o['spec']) ? o['spec'] : {};
  return { namespace: m.namespace, name: m.name, labels: m.labels, workload: controllerOf(o, m.name), ports: containersOf(spec).flatMap((c) => c.ports) };
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob']);

export function workloadFacts(o: Obj): WorkloadFacts | null {
  const kind = o['kind'];
  if (typeof kind !== 'string' || !WORKLOAD_KINDS.has(kind)) return null;
  const m = metadataOf(o);
  if (m.name === null) return null;
  let spec = isObj(o['spec']) ? o['spec'] : {};
  if (kind === 'CronJob') spec = isObj(spec['jobTemplate']) && isObj(spec['jobTemplate']['spec']) ? spec['jobTemplate']['spec'] : {};
  const template = isObj(spec['template']) ? spec['template'] : {};
  const templateMeta = isObj(template['metadata']) ? template['metadata'] : {};
  const podSpec = isObj(template['spec']) ? template['spec'] : {};
  const selector = isObj(spec['selector']) ? stringRecord(spec['selector']['matchLabels']) : {};
  const volumeConfigMaps: string[] = [];
  for (const v of list(podSpec['volumes'])) {
    if (isObj(v) && isObj(v['configMap'])) {
      const n = str(v['configMap']['name']);
      if (n !== null) volumeConfigMaps.push(n);
    }
    if (isObj(v) && isObj(v['projected'])) {
      for (const s of list(v['projected']['sources'])) {
        if (isObj(s) && isObj(s['configMap'])) {
          const n = str(s['configMap']['name']);
          if (n !== null) volumeConfigMaps.push(n);
        }
      }
    }
  }
  return { namespace: m.namespace, name: m.name, kind, selector, templateLabels: stringRecord(templateMeta['labels']), containers: containersOf(podSpec), volumeConfigMaps };
}

export function serviceFacts(o: Obj): ServiceFacts | null {
  if (o['kind'] !== 'Service') return null;
  const m = metadataOf(o);
  if (m.name === null) return null;
  const spec = isObj(o['spec']) ? o['spec'] : {};
  const ports: ServicePort[] = [];
  for (const p of list(spec['ports'])) {
    if (!isObj(p) || !validPort(p['port'])) continue;
    const t = p['targetPort'];
    const targetPort = validPort(t) ? t : typeof t === 'string' && t !== '' ? (/^\d+$/.test(t) ? Number(t) : t) : p['port'];
    ports.push({ name: str(p['name']), port: p['port'], targetPort, protocol: protocolOf(p['protocol']) });
  }
  return { namespace: m.namespace, name: m.name, type: str(spec['type']) ?? 'ClusterIP', headless: spec['clusterIP'] === 'None', selector: stringRecord(spec['selector']), ports };
}

export interface IngressFacts {
  readonly namespace: string;
  readonly name: string;
  /** Backend Services (same namespace) with the Service port each route names (number or name), null for every port. */
  readonly backends: readonly { readonly service: string; readonly port: number | string | null }[];
}

/** A networking.k8s.io/v1 Ingress: the Services its rules and default backend route to. */
export function ingressFacts(o: Obj): IngressFacts | null {
  if (o['kind'] !== 'Ingress') return null;
  const m = metadataOf(o);
  if (m.name === null) return null;
  const spec = isObj(o['spec']) ? o['spec'] : {};
  const backends: { service: string; port: number | string | null }[] = [];
  const add = (b: unknown): void => {
    if (!isObj(b) || !isObj(b['service'])) return;
    const service = str(b['service']['name']);
    if (service === null) return;
    const port = isObj(b['service']['port']) ? b['service']['port'] : {};
    backends.push({ service, port: validPort(port['number']) ? port['number'] : str(port['name']) });
  };
  add(spec['defaultBackend']);
  for (const r of list(spec['rules'])) if (isObj(r) && isObj(r['http'])) for (const p of list(r['http']['paths'])) if (isObj(p)) add(p['backend']);
  return { namespace: m.namespace, name: m.name, backends };
}

export function configMapFacts(o: Obj): ConfigMapFacts | null {
  if (o['kind'] !== 'ConfigMap') return null;
  const m = metadataOf(o);
  if (m.name === null) return null;
  return { namespace: m.namespace, name: m.name, values: Object.values(stringRecord(o['data'])) };
}
