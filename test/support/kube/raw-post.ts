/**
 * A POST to the test API server over raw HTTPS, as kubectl sends it, so a test can read what
 * the client libraries hide: the `Warning` headers (admission warnings, unknown fields).
 */
import * as https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface RawAnswer<B> {
  readonly status: number;
  /** The texts of the `299 - "…"` warnings, unescaped. */
  readonly warnings: string[];
  readonly body: B;
}

export async function rawPost<B>(config: KubeConfig, path: string, body: unknown): Promise<RawAnswer<B>> {
  const server = new URL(config.getCurrentCluster()!.server);
  const options: https.RequestOptions = { host: server.hostname, port: server.port, method: 'POST', path, headers: { 'content-type': 'application/json' } };
  await config.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = https.request(options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        const raw = res.headers['warning'];
        const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
        // RFC 7234 warning: `299 - "text"`; several may be folded into one header with commas.
        const warnings = list.flatMap((h) => [...h.matchAll(/299 - "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1')));
        resolve({ status: res.statusCode ?? 0, warnings, body: JSON.parse(text) as B });
      });
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
