/**
 * The transition notifier against real HTTP receivers on loopback: one that records, one
 * that always answers 500, one that never answers. Each transition reaches a healthy
 * receiver once as a CloudEvent (or Slack text), failures are retried with backoff up to the
 * bound and counted, a hanging receiver neither delays the others nor grows its queue past
 * the limit, and notify() itself never waits for any of them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../io/json-logger.js';
import { parseNotifyTarget, type NotifyTarget, type TransitionNotice } from '../../controlplane/notify/message.js';
import { Notifier } from '../../controlplane/notify/notifier.js';
import { waitFor } from '../support/wait-for.js';

interface Received {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

interface Receiver {
  readonly url: string;
  readonly received: Received[];
  close(): Promise<void>;
}

const open: Receiver[] = [];
const notifiers: Notifier[] = [];
afterEach(async () => {
  for (const n of notifiers.splice(0)) n.close();
  await Promise.all(open.splice(0).map((r) => r.close()));
});

/** A loopback HTTP server that records every request and answers with `answer` (or never). */
async function receiver(answer: ((res: ServerResponse) => void) | 'hang'): Promise<Receiver> {
  const received: Received[] = [];
  const hanging: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      if (answer === 'hang') hanging.push(res);
      else answer(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const r: Receiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  open.push(r);
  return r;
}

const ok204 = (res: ServerResponse): void => {
  res.writeHead(204).end();
};

function target(url: string): NotifyTarget {
  const t = parseNotifyTarget(url);
  if (!t.ok) throw new Error(t.error);
  return t.value;
}

function notice(i: number, over: Partial<TransitionNotice> = {}): TransitionNotice {
  return {
    id: `shop-lockdown/${i}`,
    atMs: Date.UTC(2026, 11, 6, 17, 0, i),
    contract: 'shop-lockdown',
    revision: 2,
    stage: { index: 0, name: 'monitor' },
    phase: 'RolledBack',
    from: { stage: 'canary', phase: 'Observing' },
    decision: 'rollback',
    reasons: ['actual denies 42/min > 10/min'],
    topEdges: ['shop/frontend -> shop/api:8080/TCP (40)'],
    actor: 'rampart',
    ...over,
  };
}

async function counts(registry: Registry): Promise<Record<string, number>> {
  const m = (await registry.getSingleMetric('rampart_controlplane_notifications_total')!.get()).values;
  return Object.fromEntries(m.map((v) => [String(v.labels['result']), v.value]));
}

function notifier(targets: NotifyTarget[], registry: Registry, over: Partial<ConstructorParameters<typeof Notifier>[0]> = {}): Notifier {
  const n = new Notifier({ targets, registry, log: silentLogger, backoffMs: 10, maxBackoffMs: 40, timeoutMs: 300, attempts: 3, ...over });
  notifiers.push(n);
  return n;
}

describe('transition notifications', () => {
  it('posts one CloudEvent per transition with the contract, revision, stage, decision, reasons and top edges', async () => {
    const r = await receiver(ok204);
    const registry = new Registry();
    const n = notifier([target(r.url)], registry, { userAgent: 'rampart-controlplane/rampart-0' });
    n.notify(notice(1));
    n.notify(notice(2, { phase: 'Complete', stage: { index: 3, name: 'full' }, decision: 'advance', reasons: ['gates passed'], from: { stage: 'half', phase: 'Observing' } }));
    await waitFor(() => r.received.length === 2, { what: 'two CloudEvents' });
    expect(r.received[0]!.headers['content-type']).toBe('application/cloudevents+json');
    expect(r.received[0]!.headers['user-agent']).toBe('rampart-controlplane/rampart-0');
    const [first, second] = r.received.map((x) => JSON.parse(x.body) as Record<string, unknown>);
    expect(first).toEqual({
      specversion: '1.0',
      id: 'shop-lockdown/1',
      source: '/apis/rampart.dev/v1alpha1/rampcontracts/shop-lockdown',
      type: 'dev.rampart.contract.rolledback',
      subject: 'shop-lockdown',
      time: '2026-12-06T17:00:01.000Z',
      datacontenttype: 'application/json',
      data: {
        contract: 'shop-lockdown',
        revision: 2,
        stage: { index: 0, name: 'monitor' },
        phase: 'RolledBack',
        from: { stage: 'canary', phase: 'Observing' },
        decision: { kind: 'rollback', reasons: ['actual denies 42/min > 10/min'] },
        topEdges: ['shop/frontend -> shop/api:8080/TCP (40)'],
        actor: 'rampart',
      },
    });
    expect(second!['type']).toBe('dev.rampart.contract.complete');
    expect(await counts(registry)).toEqual({ delivered: 2, retried: 0, failed: 0, dropped: 0 });
  });

  it('sends Slack text to a Slack-compatible hook', async () => {
    const r = await receiver(ok204);
    const n = notifier([target(`slack+${r.url}`)], new Registry());
    n.notify(notice(1, { reasons: ['a <b> & c'] }));
    await waitFor(() => r.received.length === 1, { what: 'the Slack message' });
    expect(r.received[0]!.headers['content-type']).toBe('application/json');
    const { text } = JSON.parse(r.received[0]!.body) as { text: string };
    expect(text).toContain('*shop-lockdown* (revision 2): canary/Observing → *monitor/RolledBack* — rollback by rampart');
    expect(text).toContain('• a &lt;b&gt; &amp; c');
    expect(text).toContain('Top edges: shop/frontend -&gt; shop/api:8080/TCP (40)');
  });

  it('retries a receiver that answers 500 with backoff, then gives up and counts it', async () => {
    const r = await receiver((res) => res.writeHead(500).end('boom'));
    const registry = new Registry();
    const n = notifier([target(r.url)], registry, { attempts: 3 });
    n.notify(notice(1));
    await waitFor(async () => (await counts(registry))['failed'] === 1, { what: 'the notification to fail' });
    expect(r.received).toHaveLength(3);
    expect(new Set(r.received.map((x) => JSON.parse(x.body).id as string))).toEqual(new Set(['shop-lockdown/1']));
    expect(await counts(registry)).toEqual({ delivered: 0, retried: 2, failed: 1, dropped: 0 });
  });

  it('does not retry a 4xx answer other than 408 and 429', async () => {
    const r = await receiver((res) => res.writeHead(404).end());
    const registry = new Registry();
    const n = notifier([target(r.url)], registry);
    n.notify(notice(1));
    await waitFor(async () => (await counts(registry))['failed'] === 1, { what: 'the notification to fail' });
    expect(r.received).toHaveLength(1);
  });

  it('a receiver that hangs delays neither notify() nor the other receivers, and its queue stays bounded', async () => {
    const hung = await receiver('hang');
    const good = await receiver(ok204);
    const registry = new Registry();
    const n = notifier([target(hung.url), target(good.url)], registry, { queueLimit: 2, attempts: 1, timeoutMs: 60_000 });
    // One at a time, each delivered to the healthy receiver before the next: meanwhile the hung
    // receiver holds its first request, and the rest wait in its queue of 2, oldest dropped.
    for (let i = 1; i <= 6; i++) {
      n.notify(notice(i));
      await waitFor(() => good.received.length === i, { what: `the healthy receiver to get transition ${i}` });
    }
    expect(good.received.map((x) => JSON.parse(x.body).id as string)).toEqual([1, 2, 3, 4, 5, 6].map((i) => `shop-lockdown/${i}`));
    expect(hung.received.map((x) => JSON.parse(x.body).id as string)).toEqual(['shop-lockdown/1']);
    expect(n.pending).toBe(2);
    expect(await counts(registry)).toEqual({ delivered: 6, retried: 0, failed: 0, dropped: 3 });
  });

  it('times out a hanging receiver and retries it within the attempt bound', async () => {
    const hung = await receiver('hang');
    const registry = new Registry();
    const n = notifier([target(hung.url)], registry, { attempts: 2, timeoutMs: 100 });
    n.notify(notice(1));
    await waitFor(async () => (await counts(registry))['failed'] === 1, { what: 'the notification to time out twice' });
    expect(hung.received).toHaveLength(2);
    expect(await counts(registry)).toEqual({ delivered: 0, retried: 1, failed: 1, dropped: 0 });
  });

  it('parses --notify URLs: http(s) only, Slack by host or slack+ prefix, logged without the secret path', () => {
    expect(parseNotifyTarget('https://hooks.slack.com/services/T0/B0/secret')).toEqual({
      ok: true,
      value: { url: 'https://hooks.slack.com/services/T0/B0/secret', format: 'slack', label: 'https://hooks.slack.com' },
    });
    expect(parseNotifyTarget('http://127.0.0.1:8080/e')).toMatchObject({ ok: true, value: { format: 'cloudevents' } });
    expect(parseNotifyTarget('ftp://x/y')).toEqual({ ok: false, error: 'expected an http(s) URL, got "ftp://x/y"' });
    expect(parseNotifyTarget('not a url')).toMatchObject({ ok: false });
  });
});
