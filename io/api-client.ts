/**
 * A small client of the control plane's HTTP API for the CLI (`rampart status`, `history`,
 * `watch`): where the server is (`--server`, else RAMPART_SERVER, else the local default),
 * the bearer token (`--token-file`, else RAMPART_TOKEN_FILE), and GETs with clear errors.
 */
import { readFileSync } from 'node:fs';

export const DEFAULT_SERVER = 'http://127.0.0.1:9968';

export interface ApiTarget {
  readonly server: string;
  readonly token: string | null;
}

export class ApiError extends Error {
  readonly status: number | null;
  constructor(message: string, status: number | null, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
  }
}

export function resolveTarget(flags: { server?: string; tokenFile?: string }, env: Readonly<Record<string, string | undefined>>): ApiTarget {
  const server = (flags.server ?? env.RAMPART_SERVER ?? DEFAULT_SERVER).replace(/\/+$/, '');
  const tokenFile = flags.tokenFile ?? env.RAMPART_TOKEN_FILE;
  let token: string | null = null;
  if (tokenFile !== undefined && tokenFile !== '') {
    try {
      token = readFileSync(tokenFile, 'utf8').trim();
    } catch (e) {
      throw new ApiError(`cannot read the token file ${tokenFile}: ${e instanceof Error ? e.message : String(e)}`, null, { cause: e });
    }
  }
  return { server, token };
}

export async function getJson(target: ApiTarget, path: string): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  let res: Response;
  try {
    res = await fetch(`${target.server}${path}`, { headers });
  } catch (e) {
    throw new ApiError(`cannot reach the control plane at ${target.server}: ${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)}`, null, { cause: e });
  }
  if (res.status === 401 || res.status === 403) throw new ApiError(`GET ${path}: HTTP ${res.status}: a valid token is required (--token-file)`, res.status);
  if (res.status === 404) throw new ApiError(`GET ${path}: not found`, 404);
  if (!res.ok) throw new ApiError(`GET ${path}: HTTP ${res.status}`, res.status);
  return res.json();
}

/** POSTs a body (e.g. a RampContract as YAML); a 400 carries the server's problems in the message. */
export async function postText(target: ApiTarget, path: string, body: string, contentType = 'application/yaml'): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json', 'content-type': contentType };
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  let res: Response;
  try {
    res = await fetch(`${target.server}${path}`, { method: 'POST', headers, body });
  } catch (e) {
    throw new ApiError(`cannot reach the control plane at ${target.server}: ${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)}`, null, { cause: e });
  }
  if (res.status === 401 || res.status === 403) throw new ApiError(`POST ${path}: HTTP ${res.status}: a valid token is required (--token-file)`, res.status);
  if (!res.ok) {
    let detail = '';
    try {
      const b = (await res.json()) as { error?: { message?: string; problems?: { path: string; message: string }[] } };
      const problems = b.error?.problems ?? [];
      detail = problems.length > 0 ? problems.map((p) => `\n  ${p.path}: ${p.message}`).join('') : b.error?.message ? `: ${b.error.message}` : '';
    } catch {
      // no JSON body: the status says it all
    }
    throw new ApiError(`POST ${path}: HTTP ${res.status}${detail}`, res.status);
  }
  return res.json();
}

/** The stream's WebSocket URL (the token goes in the query: browsers and `ws` alike). */
export function streamUrl(target: ApiTarget): string {
  const u = new URL('/api/v1/stream', target.server.replace(/^http/, 'ws'));
  if (target.token) u.searchParams.set('token', target.token);
  return u.toString();
}
