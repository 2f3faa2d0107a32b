/**
 * Child process for bench/agent.bench.ts: a live HubbleServer that, on a `go <n> <rate> [pairs]`
 * line on stdin, publishes `n` new connections (each its own source address and port) at
 * `rate` flows/s, between `pairs` distinct workload pairs (√pairs sources × √pairs
 * destinations in namespace `flood`; default `n`), as Hubble would under a flood. A reader
 * that falls behind gets HUBBLE_RING_BUFFER lost events, as from Cilium. Prints
 * `{"address":…}` when listening and `{"published":n}` when done.
 */
import { createInterface } from 'node:readline';
import { HubbleServer } from '../replay/server.js';
import type { PbRecord } from '../proto/codec/hubble-types.js';

const server = new HubbleServer({ ringCapacity: 65_535, nodeName: 'flood-node' });
const { address } = await server.listen('127.0.0.1:0');
process.stdout.write(`${JSON.stringify({ address })}\n`);

function endpoint(id: number, app: string, identity: number): PbRecord {
  return {
    ID: id,
    identity,
    namespace: 'flood',
    labels: [`k8s:app=${app}`, 'k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=flood', 'k8s:io.kubernetes.pod.namespace=flood'],
    pod_name: `${app}-0`,
  };
}

function flowAt(i: number, side: number): PbRecord {
  const src = i % side;
  const dst = Math.floor(i / side) % side;
  const nowNs = BigInt(Date.now()) * 1_000_000n + BigInt(i % 1_000_000);
  return {
    time: { seconds: Number(nowNs / 1_000_000_000n), nanos: Number(nowNs % 1_000_000_000n) },
    verdict: 'FORWARDED',
    IP: { source: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, destination: '10.200.0.1', ipVersion: 'IPv4' },
    l4: { TCP: { source_port: 1024 + (i % 60_000), destination_port: 8080, flags: { SYN: true } } },
    source: endpoint(1, `src-${src}`, 100_000 + src),
    destination: endpoint(2, `dst-${dst}`, 200_000 + dst),
    Type: 'L3_L4',
    node_name: 'flood-node',
    event_type: { type: 4 },
    traffic_direction: 'EGRESS',
    trace_observation_point: 'TO_ENDPOINT',
    is_reply: { value: false }, // a google.protobuf.BoolValue on the wire
  };
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [cmd, nText, rateText, pairsText] = line.trim().split(/\s+/);
  if (cmd !== 'go') return;
  const n = Number(nText);
  const rate = Number(rateText);
  const side = Math.ceil(Math.sqrt(pairsText === undefined ? n : Number(pairsText)));
  const started = Date.now();
  let i = 0;
  const tick = (): void => {
    const due = Math.min(n, Math.floor(((Date.now() - started) / 1000) * rate) + 1000);
    for (; i < due; i++) server.publish(flowAt(i, side));
    if (i < n) setTimeout(tick, 5);
    else process.stdout.write(`${JSON.stringify({ published: n })}\n`);
  };
  tick();
});
