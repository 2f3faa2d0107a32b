/**
 * The write fence (io/kube/write-fence.ts) against the real API server: a write whose
 * connection is still being set up when this replica stops leading is not sent. The TLS
 * handshake is held back by a loopback TCP relay in front of the API server (the stand-in for
 * a process stopped mid-handshake): leadership ends while the handshake waits, then the
 * handshake completes, and the API server never receives the write.
 */
import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isFenced, WriteFencedKubeConfig } from '../../io/kube/write-fence.js';
import { ensureNamespace } from '../support/kube/contracts.js';
import { loadKubeConfig, uniqueName } from '../support/kube/client.js';
import { Relay } from '../support/kube/relay.js';
import { waitFor } from '../support/wait-for.js';

const admin = loadKubeConfig(inject('kubeconfig'));
const namespace = uniqueName('wfence');

let relay: Relay;
let viaRelay: KubeConfig;

beforeAll(async () => {
  await ensureNamespace(admin, namespace);
  const cluster = admin.getCurrentCluster()!;
  const url = new URL(cluster.server);
  relay = new Relay({ host: url.hostname, port: Number(url.port) });
  const port = await relay.listen();
  viaRelay = new KubeConfig();
  viaRelay.loadFromOptions({
    clusters: [{ ...cluster, server: `https://127.0.0.1:${port}` }],
    users: admin.users,
    contexts: admin.contexts,
    currentContext: admin.currentContext,
  });
});

afterAll(() => relay.close());

const exists = async (name: string): Promise<boolean> => {
  try {
    await admin.makeApiClient(CoreV1Api).readNamespacedConfigMap({ name, namespace });
    return true;
  } catch (e) {
    if (e instanceof ApiException && e.code === 404) return false;
    throw e;
  }
};

describe('write fence', () => {
  it('writes while allowed, and reads pass when not', async () => {
    let leading = true;
    const core = new WriteFencedKubeConfig(viaRelay, () => leading).makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'allowed' }, data: { a: '1' } } });
    expect(await exists('allowed')).toBe(true);
    leading = false;
    expect((await core.readNamespacedConfigMap({ name: 'allowed', namespace })).data).toEqual({ a: '1' });
    const refused = await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'refused' } } }).then(() => null, (e: unknown) => e);
    expect(isFenced(refused)).toBe(true);
    expect(await exists('refused')).toBe(false);
  });

  it('a write whose TLS handshake is under way when leadership ends is not sent', async () => {
    let leading = true;
    const checks: boolean[] = [];
    const core = new WriteFencedKubeConfig(viaRelay, () => {
      checks.push(leading);
      return leading;
    }).makeApiClient(CoreV1Api);
    relay.hold = true;
    const before = relay.clientBytes;
    const write = core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'in-flight' } } }).then(() => null, (e: unknown) => e);
    // The client hello is out, the server's answer held: the handshake is under way.
    await waitFor(() => relay.clientBytes > before, { what: 'the client hello at the relay' });
    leading = false;
    relay.release();
    const outcome = await write;
    expect(isFenced(outcome)).toBe(true);
    // Checked before the request (leading) and once connected (not leading any more).
    expect(checks).toEqual([true, false]);
    expect(await exists('in-flight')).toBe(false);
  });

  it('the same write goes through when leadership holds across the handshake', async () => {
    const core = new WriteFencedKubeConfig(viaRelay, () => true).makeApiClient(CoreV1Api);
    relay.hold = true;
    const before = relay.clientBytes;
    const write = core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'held-then-sent' } } });
    await waitFor(() => relay.clientBytes > before, { what: 'the client hello at the relay' });
    relay.release();
    await write;
    expect(await exists('held-then-sent')).toBe(true);
  });
});
