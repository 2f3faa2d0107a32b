/**
 * `rampart observe --server <addr> [-o json|table] [filters]`: our own debugging client for
 * any Hubble Observer server (Cilium's or `rampart replay`). `-o json` prints exactly the
 * `hubble observe -o json` line format; `table` a readable summary. Filters follow the
 * `hubble observe` flags: one-sided flags (`--from-pod`, `--to-namespace`) constrain one
 * side; either-side flags (`--pod`, `--ip`, `--label`, `--namespace`, `--port`) produce two
 * filters, one per side, as the upstream CLI does.
 */
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import process, { stderr, stdout } from 'node:process';
import { parseDurationMs, problem, type Problem } from '../../core/common/index.js';
import { formatFlagProblems, parseFlags, readInteger, readOneOf } from '../../io/flags.js';
import { formatResponseLine } from '../../proto/codec/hubble-json.js';
import { timestampFromMs, timestampFromRfc3339, rfc3339FromTimestamp, type TimestampRecord } from '../../proto/codec/hubble-time.js';
import { decodeRecord, encodeRecord, hubbleType, type PbRecord } from '../../proto/codec/hubble-types.js';

const USAGE = `usage: rampart observe --server <host:port|unix:///path> [-o json|table]
  selection:  --last N | --first N | --all   [-f|--follow]   [--since T] [--until T]
              (T: RFC 3339 time, or a duration ago such as 5m)
  filters:    --from-pod P --to-pod P --pod P          (pod-name prefix, optionally ns/)
              --from-namespace N --to-namespace N --namespace|-n N
              --from-ip IP --to-ip IP --ip IP           (address or CIDR)
              --from-label L --to-label L --label|-l L   (selector, e.g. k8s:app=web)
              --from-port N --to-port N --port N --protocol P --verdict V
              --type T (drop, trace[:point], policy-verdict, l7, trace-sock, or a number)
              --traffic-direction ingress|egress --node-name N --uuid U
  tls:        --tls-ca F --tls-cert F --tls-key F [--tls-server-name NAME]
`;

const TYPE_NUMBERS: Readonly<Record<string, number>> = { drop: 1, debug: 2, capture: 3, trace: 4, 'policy-verdict': 5, 'trace-sock': 7, l7: 129, agent: 130 };
const TRACE_POINTS: Readonly<Record<string, number>> = {
  'to-endpoint': 0, 'to-proxy': 1, 'to-host': 2, 'to-stack': 3, 'to-overlay': 4, 'from-endpoint': 5, 'from-proxy': 6,
  'from-host': 7, 'from-stack': 8, 'from-overlay': 9, 'from-network': 10, 'to-network': 11, 'from-crypto': 12, 'to-crypto': 13,
};

type Values = Record<string, string | boolean | string[] | undefined>;

const list = (v: Values, k: string): string[] => (v[k] as string[] | undefined) ?? [];

function withNamespace(pods: string[], namespaces: string[]): string[] {
  if (namespaces.length === 0) return pods;
  if (pods.length === 0) return namespaces.map((ns) => `${ns}/`);
  return namespaces.flatMap((ns) => pods.map((p) => (p.includes('/') ? p : `${ns}/${p}`)));
}

/** Builds the whitelist the way `hubble observe` does; an error names the bad flag. */
export function buildWhitelist(v: Values): { filters: PbRecord[] } | { error: string } {
  const base: PbRecord = {};
  const add = (key: string, values: unknown[]): void => {
    if (values.length > 0) base[key] = [...((base[key] as unknown[] | undefined) ?? []), ...values];
  };
  add('source_pod', withNamespace(list(v, 'from-pod'), list(v, 'from-namespace')));
  add('destination_pod', withNamespace(list(v, 'to-pod'), list(v, 'to-namespace')));
  add('source_ip', list(v, 'from-ip'));
  add('destination_ip', list(v, 'to-ip'));
  add('source_label', list(v, 'from-label'));
  add('destination_label', list(v, 'to-label'));
  add('source_port', list(v, 'from-port'));
  add('destination_port', list(v, 'to-port'));
  add('protocol', list(v, 'protocol'));
  add('uuid', list(v, 'uuid'));
  add('node_name', list(v, 'node-name'));
  add('verdict', list(v, 'verdict').map((s) => s.toUpperCase()));
  const directions = list(v, 'traffic-direction').map((s) => s.toUpperCase());
  if (directions.some((d) => d !== 'INGRESS' && d !== 'EGRESS')) return { error: '--traffic-direction: expected ingress or egress' };
  add('traffic_direction', directions);
  const types: PbRecord[] = [];
  for (const t of list(v, 'type')) {
    const [name, sub] = t.split(':') as [string, string | undefined];
    const type = TYPE_NUMBERS[name] ?? (/^\d+$/.test(name) ? Number(name) : undefined);
    if (type === undefined) return { error: `--type: unknown event type ${JSON.stringify(t)}` };
    if (sub === undefined) types.push({ type });
    else {
      const subType = TRACE_POINTS[sub] ?? (/^\d+$/.test(sub) ? Number(sub) : undefined);
      if (subType === undefined) return { error: `--type: unknown sub-type ${JSON.stringify(sub)}` };
      types.push({ type, match_sub_type: true, sub_type: subType });
    }
  }
  add('event_type', types);

  const eitherPods = withNamespace(list(v, 'pod'), list(v, 'namespace'));
  const either: [string, string, string[]][] = [
    ['source_pod', 'destination_pod', eitherPods],
    ['source_ip', 'destination_ip', list(v, 'ip')],
    ['source_label', 'destination_label', list(v, 'label')],
    ['source_port', 'destination_port', list(v, 'port')],
  ];
  if (!either.some(([, , vals]) => vals.length > 0)) return { filters: Object.keys(base).length > 0 ? [base] : [] };
  const left: PbRecord = structuredClone(base);
  const right: PbRecord = structuredClone(base);
  for (const [src, dst, vals] of either) {
    if (vals.length === 0) continue;
    left[src] = [...((left[src] as unknown[] | undefined) ?? []), ...vals];
    right[dst] = [...((right[dst] as unknown[] | undefined) ?? []), ...vals];
  }
  return { filters: [left, right] };
}

function parseTime(text: string, flag: string): TimestampRecord | string {
  const ts = timestampFromRfc3339(text);
  if (ts) return ts;
  const ago = parseDurationMs(text);
  if (ago.ok) return timestampFromMs(Date.now() - ago.value);
  return `${flag}: expected an RFC 3339 time or a duration such as 5m, got ${JSON.stringify(text)}`;
}

function endpointText(flow: PbRecord, side: 'source' | 'destination'): string {
  const ep = (flow[side] as PbRecord | undefined) ?? {};
  const ip = ((flow['IP'] as PbRecord | undefined) ?? {})[side] as string | undefined;
  const l4 = (flow['l4'] as PbRecord | undefined) ?? {};
  const body = (l4['TCP'] ?? l4['UDP'] ?? l4['SCTP']) as PbRecord | undefined;
  const port = body?.[side === 'source' ? 'source_port' : 'destination_port'];
  const pod = ep['pod_name'] ? `${String(ep['namespace'] ?? '')}/${String(ep['pod_name'])}` : undefined;
  const labels = (ep['labels'] as string[] | undefined) ?? [];
  const name = pod ?? labels.find((l) => l.startsWith('reserved:')) ?? ip ?? '?';
  return port !== undefined ? `${name}:${String(port)}` : name;
}

function tableLine(record: PbRecord): string {
  const time = record['time'] ? rfc3339FromTimestamp(record['time'] as TimestampRecord) : '';
  const lost = record['lost_events'] as PbRecord | undefined;
  if (lost) return `${time}  EVENTS LOST: ${String(lost['source'] ?? 'UNKNOWN')} ${String(lost['num_events_lost'] ?? 0)}`;
  const flow = record['flow'] as PbRecord | undefined;
  if (!flow) return `${time}  (node status)`;
  const et = (flow['event_type'] as PbRecord | undefined) ?? {};
  const typeName = Object.entries(TYPE_NUMBERS).find(([, n]) => n === (et['type'] ?? 0))?.[0] ?? String(et['type'] ?? '?');
  const point = flow['trace_observation_point'] ? `:${String(flow['trace_observation_point'])}` : '';
  const dir = flow['traffic_direction'] ? ` ${String(flow['traffic_direction'])}` : '';
  return [
    time.padEnd(31),
    endpointText(flow, 'source').padEnd(48),
    '->',
    endpointText(flow, 'destination').padEnd(48),
    `${typeName}${point}${dir}`.padEnd(28),
    String(flow['verdict'] ?? 'VERDICT_UNKNOWN').padEnd(11),
    String(flow['Summary'] ?? ''),
  ].join(' ');
}

function fail(problems: string | readonly Problem[]): number {
  stderr.write(formatFlagProblems('rampart observe', typeof problems === 'string' ? [problem('', problems)] : problems, USAGE));
  return 2;
}

export async function run(args: readonly string[]): Promise<number> {
  const multi = { type: 'string', multiple: true } as const;
  const parsed = parseFlags(args, {
    server: { type: 'string', default: 'unix:///var/run/cilium/hubble.sock' },
    output: { type: 'string', short: 'o', default: 'table' },
    last: { type: 'string' },
    first: { type: 'string' },
    all: { type: 'boolean', default: false },
    follow: { type: 'boolean', short: 'f', default: false },
    since: { type: 'string' },
    until: { type: 'string' },
    'from-pod': multi, 'to-pod': multi, pod: multi,
    'from-namespace': multi, 'to-namespace': multi, namespace: { ...multi, short: 'n' },
    'from-ip': multi, 'to-ip': multi, ip: multi,
    'from-label': multi, 'to-label': multi, label: { ...multi, short: 'l' },
    'from-port': multi, 'to-port': multi, port: multi,
    protocol: multi, verdict: multi, type: { ...multi, short: 't' }, 'traffic-direction': multi, 'node-name': multi, uuid: multi,
    'tls-ca': { type: 'string' }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'tls-server-name': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (parsed.problems.length > 0) return fail(parsed.problems);
  const values: Values = parsed.values;
  if (values['help']) {
    stdout.write(USAGE);
    return 0;
  }
  const outputRead = readOneOf(parsed.values.output, '-o', ['json', 'jsonpb', 'table']);
  if (!outputRead.ok) return fail([outputRead.error]);
  const output = outputRead.value;
  const wl = buildWhitelist(values);
  if ('error' in wl) return fail(wl.error);

  const request: PbRecord = { follow: values['follow'] === true, whitelist: wl.filters };
  const readCount = (flag: 'last' | 'first'): number | Problem | undefined => {
    const t = parsed.values[flag];
    if (t === undefined) return undefined;
    const n = readInteger(t, `--${flag}`, { min: 0 });
    return n.ok ? n.value : n.error;
  };
  const last = readCount('last');
  const first = readCount('first');
  if (typeof last === 'object') return fail([last]);
  if (typeof first === 'object') return fail([first]);
  if (first !== undefined && request['follow']) return fail('--first cannot be combined with --follow');
  for (const flag of ['since', 'until'] as const) {
    const t = values[flag] as string | undefined;
    if (t === undefined) continue;
    const ts = parseTime(t, `--${flag}`);
    if (typeof ts === 'string') return fail(ts);
    request[flag] = ts;
  }
  if (first !== undefined) {
    request['first'] = true;
    request['number'] = first;
  } else if (last !== undefined) request['number'] = last;
  else if (values['all']) request['number'] = 0;
  else if (!request['follow'] && request['since'] === undefined && request['until'] === undefined) request['number'] = 20;

  let creds = grpc.credentials.createInsecure();
  const tlsCa = values['tls-ca'] as string | undefined;
  const serverName = values['tls-server-name'] as string | undefined;
  if (tlsCa !== undefined) {
    try {
      const cert = values['tls-cert'] as string | undefined;
      const key = values['tls-key'] as string | undefined;
      creds = grpc.credentials.createSsl(readFileSync(tlsCa), key ? readFileSync(key) : null, cert ? readFileSync(cert) : null);
    } catch (e) {
      return fail(`cannot read TLS files: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const client = new grpc.Client(values['server'] as string, creds, {
    'grpc.max_receive_message_length': -1,
    ...(serverName ? { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName } : {}),
  });
  const requestType = hubbleType('observer.GetFlowsRequest');
  const responseType = hubbleType('observer.GetFlowsResponse');
  const call = client.makeServerStreamRequest<PbRecord, PbRecord>(
    '/observer.Observer/GetFlows',
    (r) => encodeRecord(requestType, r),
    (b) => decodeRecord(responseType, b),
    request,
    {},
  );
  const stop = (): void => call.cancel();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const format = output === 'table' ? tableLine : formatResponseLine;
  try {
    for await (const record of call as AsyncIterable<PbRecord>) {
      if (!stdout.write(`${format(record)}\n`)) await new Promise((r) => stdout.once('drain', r));
    }
    return 0;
  } catch (e) {
    const code = (e as { code?: number }).code;
    if (code === grpc.status.CANCELLED) return 0;
    stderr.write(`rampart observe: ${values['server'] as string}: ${(e as { details?: string }).details ?? String(e)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    client.close();
  }
}
