/**
 * Pieces the fault suite (test/integration/faults-*.test.ts) shares: a loopback TCP proxy
 * that can be cut (a network partition between an agent and the control plane), the
 * control plane's metrics and contract API read as numbers, and a Bookinfo contract whose
 * stage durations the test chooses.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { ControlplaneProcess } from './controlplane-process.js';
import { parsePrometheusText, type Exposition } from './prom-text.js';

/**
 * Forwards 127.0.0.1:<port> to a target. `cut()` destroys every connection and refuses new
 * ones (the listener stays bound, so the agent keeps dialling the same address and failing,
 * as across a partition); `heal()` lets connections through again.
 */
export class CuttableProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private open = true;
  port = 0;
  /** Connections accepted while cut (each destroyed at once). */
  refused = 0;

  private readonly targetPort: number;

  constructor(targetPort: number) {
    this.targetPort = targetPort;
    this.server = net.createServer((client) => {
      if (!this.open) {
        this.refused++;
        client.destroy();
        return;
      }
      const upstream = net.connect(this.targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  cut(): void {
    this.open = false;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  heal(): void {
    this.open = true;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export async function controlplaneMetrics(cp: ControlplaneProcess, token: string): Promise<Exposition> {
  const res = await fetch(`${cp.base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  return parsePrometheusText(await res.text());
}

export interface ContractView {
  revision: number;
  stage: { index: number; name: string };
  phase: string;
  decision: { kind: string; reasons: string[] };
  gates: { gate: string; phase: string; message: string }[];
  problems: { path: string; message: string }[];
  evidence: { windows: number; flows: number; flowsSeen: number; lostEvents: number; nodes: { expected: number; reporting: number } };
}

export async function contractView(cp: ControlplaneProcess, name: string, token: string): Promise<ContractView> {
  const res = await fetch(`${cp.base}/api/v1/contracts/${name}`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`GET contract ${name}: ${res.status} ${await res.text()}`);
  return (await res.json()) as ContractView;
}

export interface HistoryItem {
  at: string;
  from: string | null;
  to: string;
  phase: string;
  decision: string;
  actor: string;
  revision: number;
}

export async function history(cp: ControlplaneProcess, name: string, token: string): Promise<HistoryItem[]> {
  const res = await fetch(`${cp.base}/api/v1/contracts/${name}/history`, { headers: { authorization: `Bearer ${token}` } });
  return ((await res.json()) as { items: HistoryItem[] }).items;
}

/**
 * The capture's TCP connection starts, repeated `copies` times with distinct source ports, so
 * a looping replay carries new connections for as long as a test runs (agents count each
 * 5-tuple once per TTL). Returns the number of lines written.
 */
export function synthesizeCapture(source: string, file: string, copies: number): number {
  const starts: Record<string, unknown>[] = [];
  for (const line of fs.readFileSync(source, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const rec = JSON.parse(line) as { flow: { is_reply?: boolean; l4?: { TCP?: { flags?: { SYN?: boolean; ACK?: boolean } } } } };
    const flags = rec.flow.l4?.TCP?.flags;
    if (flags?.SYN && !flags.ACK && !rec.flow.is_reply) starts.push(rec);
  }
  const out: string[] = [];
  let n = 0;
  for (let k = 0; k < copies; k++) {
    for (const rec of starts) {
      const copy = structuredClone(rec) as { flow: { l4: { TCP: { source_port: number } } } };
      copy.flow.l4.TCP.source_port = 10_000 + (n++ % 50_000);
      out.push(JSON.stringify(copy));
    }
  }
  fs.writeFileSync(file, `${out.join('\n')}\n`);
  return out.length;
}
