/**
 * Child process for bench/agent.bench.ts: a HubbleServer whose ring holds `count` L3/L4 flows
 * from ../shared/flows (event types 1, 4, 5: what the agent subscribes to). Each repetition of the captures gets its own pod IP range (both ends
 * mapped alike, so replies still pair with their connections): repeated captures are new
 * connections to the agent, not duplicates it could skip. Prints `{"address":…}` when
 * listening; serves until killed.
 */
import { retime } from '../replay/playback.js';
import { HubbleServer } from '../replay/server.js';
import { loadAgentVisibleFlows } from './stream-bench.js';
import type { PbRecord } from '../proto/codec/hubble-types.js';

const count = Number(process.argv[2] ?? 65535);

const base = loadAgentVisibleFlows();

function remapIp(ip: unknown, rep: number): unknown {
  if (typeof ip !== 'string') return ip;
  const last = ip.split('.').at(-1);
  return `10.${100 + ((rep >> 8) & 127)}.${rep & 255}.${last}`;
}

function repeatOf(record: PbRecord, rep: number): PbRecord {
  if (rep === 0) return record;
  const flow = record['flow'] as PbRecord;
  const ip = flow['IP'] as PbRecord | undefined;
  return ip ? { ...record, flow: { ...flow, IP: { ...ip, source: remapIp(ip['source'], rep), destination: remapIp(ip['destination'], rep) } } } : record;
}

const server = new HubbleServer({ ringCapacity: count, nodeName: 'bench' });
const t0 = 1_700_000_000_000_000_000n;
for (let i = 0; i < count; i++) {
  const rep = Math.floor(i / base.length);
  server.publish(retime(repeatOf(base[i % base.length]!, rep), t0 + BigInt(i) * 1000n));
}
const { address } = await server.listen('127.0.0.1:0');
process.stdout.write(`${JSON.stringify({ address, flows: count, distinct: base.length })}\n`);
