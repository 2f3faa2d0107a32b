/**
 * Bad and oversized request bodies on every route of the real control plane that reads one
 * (POST /api/v1/preview, the contract actions, the admission webhook over TLS): a YAML alias
 * bomb is a 400 naming the problem (never a 500), a body over the limit is a 413 naming the
 * limit, answered after the body was sent (never a closed connection without an answer).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlplaneProcess, type ControlplaneProcess } from '../support/controlplane-process.js';

const TOKEN = 'limits-token';
const BIG = Buffer.alloc(30 * 1024 * 1024, 'a');
const ALIAS_BOMB = ['a: &a ["x","x","x","x","x","x","x","x","x"]', 'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]', 'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]', 'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]', 'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]', 'f: [*e,*e,*e,*e,*e,*e,*e,*e,*e]', ''].join('\n');

let dir: string;
let cp: ControlplaneProcess;
let webhookPort: number;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rampart-limits-'));
  const ssl = (args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  };
  fs.writeFileSync(path.join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'tls.key', '-out', 'tls.crt', '-days', '1', '-subj', '/CN=rampart-limits', '-addext', 'subjectAltName=IP:127.0.0.1']);
  fs.mkdirSync(path.join(dir, 'contracts'));
  fs.writeFileSync(path.join(dir, 'token'), TOKEN);
  cp = await startControlplaneProcess([
    '--contracts', path.join(dir, 'contracts'),
    '--state', path.join(dir, 'state'),
    '--token-file', path.join(dir, 'token'),
    '--webhook-listen', '127.0.0.1:0',
    '--tls-cert', path.join(dir, 'tls.crt'),
    '--tls-key', path.join(dir, 'tls.key'),
  ]);
  const listening = cp.logs.find((l) => l['msg'] === 'listening')!;
  webhookPort = Number(listening['webhookPort']);
}, 60_000);

afterAll(async () => {
  await cp?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function post(p: string, body: string | Buffer): Promise<{ status: number; error: { code?: string; message: string } }> {
  const res = await fetch(`${cp.base}${p}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body });
  return { status: res.status, error: ((await res.json()) as { error: { code?: string; message: string } }).error };
}

function postWebhook(body: Buffer | string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: webhookPort, path: '/validate', method: 'POST', ca: fs.readFileSync(path.join(dir, 'tls.crt')), headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('request bodies the control plane reads', () => {
  it('POST /api/v1/preview: a YAML alias bomb is a 400 naming the problem', async () => {
    const r = await post('/api/v1/preview', ALIAS_BOMB);
    expect(r.status).toBe(400);
    expect(r.error.message).toMatch(/alias/i);
  });

  it('POST /api/v1/preview: 30 MB is a 413 naming the limit', async () => {
    const r = await post('/api/v1/preview', BIG);
    expect(r.status).toBe(413);
    expect(r.error.message).toContain('1048576 bytes');
  });

  it('POST /api/v1/contracts/{name}/approve: 30 MB is a 413, a bad body a 400', async () => {
    const big = await post('/api/v1/contracts/shop/approve', BIG);
    expect(big.status).toBe(413);
    expect(big.error.message).toContain('65536 bytes');
    const bad = await post('/api/v1/contracts/shop/approve', '{"actor": ');
    expect(bad.status).toBe(400);
  });

  it('the admission webhook: 30 MB is a 413 naming the limit, not JSON a 400', async () => {
    const big = await postWebhook(BIG);
    expect(big.status).toBe(413);
    expect(big.text).toContain('4194304 bytes');
    const bad = await postWebhook('{"kind": ');
    expect(bad.status).toBe(400);
  });
});
