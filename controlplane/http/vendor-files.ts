/**
 * The dashboard's third-party scripts, served from the installed npm packages (no CDN): the
 * graph library and its layout for the traffic map. Only the files listed here are served,
 * at `/vendor/<name>`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import type { ServerResponse } from 'node:http';

const require = createRequire(import.meta.url);

/** `/vendor/<name>` → package and file inside it. */
const FILES: Readonly<Record<string, { readonly pkg: string; readonly file: string }>> = {
  'cytoscape.min.js': { pkg: 'cytoscape', file: 'dist/cytoscape.min.js' },
  'layout-base.js': { pkg: 'layout-base', file: 'layout-base.js' },
  'cose-base.js': { pkg: 'cose-base', file: 'cose-base.js' },
  'cytoscape-fcose.js': { pkg: 'cytoscape-fcose', file: 'cytoscape-fcose.js' },
};

const cache = new Map<string, Buffer>();

/** The package's folder (its `exports` may hide package.json, so walk up from its main file). */
function packageDir(pkg: string): string {
  let dir = path.dirname(require.resolve(pkg));
  while (!fs.existsSync(path.join(dir, 'package.json')) || path.basename(dir) !== pkg) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no folder for package ${pkg}`);
    dir = up;
  }
  return dir;
}

/** Returns true if it answered; false when the path is not a vendored file. */
export function serveVendor(urlPath: string, res: ServerResponse): boolean {
  if (!urlPath.startsWith('/vendor/')) return false;
  const entry = FILES[urlPath.slice('/vendor/'.length)];
  if (entry === undefined) return false;
  let body = cache.get(urlPath);
  if (body === undefined) {
    try {
      body = fs.readFileSync(path.join(packageDir(entry.pkg), entry.file));
    } catch {
      return false;
    }
    cache.set(urlPath, body);
  }
  res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'max-age=3600' });
  res.end(body);
  return true;
}
