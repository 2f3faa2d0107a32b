import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { serveStatic } from '../../../controlplane/http/static-files.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** Records what serveStatic writes (a hand-written fake of the two methods it uses). */
function fakeResponse() {
  const r = { status: 0, headers: {} as Record<string, string>, body: '' };
  const res = {
    writeHead(status: number, headers: Record<string, string>) {
      r.status = status;
      r.headers = headers;
    },
    end(body: Buffer) {
      r.body = body.toString('utf8');
    },
  } as unknown as ServerResponse;
  return { r, res };
}

describe('serveStatic', () => {
  it('serves index.html at / and files by type, never outside the folder', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rampart-static-'));
    dirs.push(root);
    fs.mkdirSync(path.join(root, 'site'));
    fs.writeFileSync(path.join(root, 'site', 'index.html'), '<h1>hi</h1>');
    fs.writeFileSync(path.join(root, 'site', 'app.js'), 'x()');
    fs.writeFileSync(path.join(root, 'secret.txt'), 'no');
    const site = path.join(root, 'site');

    const index = fakeResponse();
    expect(serveStatic(site, '/', index.res)).toBe(true);
    expect(index.r).toMatchObject({ status: 200, body: '<h1>hi</h1>', headers: { 'content-type': 'text/html; charset=utf-8' } });
    const js = fakeResponse();
    expect(serveStatic(site, '/app.js', js.res)).toBe(true);
    expect(js.r.headers['content-type']).toBe('text/javascript; charset=utf-8');
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/missing.css', '/%E0%A4%A']) {
      const f = fakeResponse();
      expect(serveStatic(site, p, f.res)).toBe(false);
      expect(f.r.status).toBe(0);
    }
  });
});
