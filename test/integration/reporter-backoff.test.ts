/**
 * The reporter reconnects with one backoff, grpc-js's: while the control plane is
 * unreachable the dials follow the channel's reconnect backoff alone and the reporter does
 * not spin attempts of its own on top (each failing at once against a channel that is still
 * waiting out its delay); when the control plane is back, the stream is up within one
 * channel backoff, not the sum of two. A plain TCP listener that accepts and drops every
 * connection stands in for an unreachable control plane, then a real collector takes its
 * address (a Unix socket, which no other process can take in between).
 */
import * as net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../agent/report/outbox.js';
import { Reporter } from '../../agent/report/reporter.js';
import type { Logger, LogFields } from '../../core/common/index.js';
import { TestCollector } from '../support/collector.js';
import { waitFor } from '../support/wait-for.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const BACKOFF_MS = 400;

describe('reporter reconnection', () => {
  it('dials on the channel backoff alone, and is back within one backoff of the control plane', async () => {
    const dials: number[] = [];
    const dropper = net.createServer((socket) => {
      dials.push(performance.now());
      socket.destroy();
    });
    // A Unix socket, not a TCP port: the collector takes the address over when the dropper
    // closes, and no other process can take it in between.
    const dir = mkdtempSync(join(tmpdir(), 'rampart-reporter-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const socket = join(dir, 'controlplane.sock');
    await new Promise<void>((resolve) => dropper.listen(socket, resolve));
    let dropperOpen = true;
    const closeDropper = (): Promise<void> => {
      if (!dropperOpen) return Promise.resolve();
      dropperOpen = false;
      return new Promise<void>((resolve) => dropper.close(() => resolve()));
    };
    cleanups.push(closeDropper);

    const warnings: LogFields[] = [];
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      error: () => undefined,
      warn: (msg, fields) => {
        if (msg === 'control plane stream ended; reconnecting') warnings.push(fields ?? {});
      },
      child: () => logger,
    };
    const reporter = new Reporter({
      target: `unix://${socket}`,
      tls: null,
      tokenFile: null,
      node: 'n',
      bootId: 'b',
      version: 'test',
      outbox: new Outbox({ capacity: 10, topK: 5 }),
      onContracts: () => undefined,
      onBadContracts: () => undefined,
      logger,
      backoff: { initialMs: BACKOFF_MS, maxMs: BACKOFF_MS },
    });
    const abort = new AbortController();
    const done = reporter.run(abort.signal);
    cleanups.push(async () => {
      abort.abort();
      await done;
      reporter.close();
    });

    await waitFor(() => dials.length >= 6, { timeoutMs: 10_000, what: 'six dials' });
    // The channel redials on its own schedule; the reporter made one attempt and is waiting on it.
    expect(reporter.stats.connects).toBe(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!['reason']).toMatch(/^UNAVAILABLE: /);
    for (let i = 1; i < dials.length; i++) {
      const gap = dials[i]! - dials[i - 1]!;
      expect(gap).toBeGreaterThan(BACKOFF_MS * 0.8 - 30);
      expect(gap).toBeLessThan(BACKOFF_MS * 1.2 + 200);
    }

    // The control plane comes back at the same address: up within one channel backoff.
    await closeDropper();
    const collector = new TestCollector({ contracts: { generation: 1, contracts: [] } });
    const back = performance.now();
    await collector.start(`unix://${socket}`);
    cleanups.push(() => collector.stop());
    await waitFor(() => reporter.connected, { timeoutMs: 10_000, intervalMs: 10, what: 'the stream up again' });
    expect(performance.now() - back).toBeLessThan(BACKOFF_MS * 1.2 + 300);
    expect(reporter.stats.connects).toBe(2);
  });
});
