/**
 * Serves the dashboard's files (controlplane/http/static/, written with the dashboard) at `/`.
 * Only files inside the folder are served; `/` is index.html.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ServerResponse } from 'node:http';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json; charset=utf-8',
};

/** Returns true if it answered (a file, or a refusal); false if there is no such file. */
export function serveStatic(root: string, urlPath: string, res: ServerResponse): boolean {
  let relative: string;
  try {
    relative = decodeURIComponent(urlPath);
  } catch {
    return false;
  }
  if (relative === '/' || relative === '') relative = '/index.html';
  const file = path.resolve(root, `.${relative}`);
  if (file !== root && !file.startsWith(root + path.sep)) return false;
  let body: Buffer;
  try {
    if (!fs.statSync(file).isFile()) return false;
    body = fs.readFileSync(file);
  } catch {
    return false;
  }
  res.writeHead(200, { 'content-type': TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
  res.end(body);
  return true;
}
