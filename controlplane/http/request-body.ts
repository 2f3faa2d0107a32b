/**
 * The one way a control plane route reads a request body (the API's actions and preview, the
 * admission webhook): up to a limit, and past it an answer the client can read. Destroying
 * the socket mid-upload leaves a client that is still writing with a reset and no status, so
 * a body over the limit is read on and thrown away (up to DRAIN_LIMIT_BYTES more) and then
 * answered 413 naming the limit, on a connection that is closed after the answer.
 */
import type * as http from 'node:http';

/** Beyond this many bytes past the limit the socket is closed unanswered: a client streaming without end gets nothing more. */
export const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;

export type BodyRead = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly status: 413 | 400; readonly message: string };

/**
 * Reads the whole body as UTF-8 text when it is at most `limit` bytes. Never rejects: a
 * body over the limit or a broken upload is a `{ ok: false }` with the status to answer.
 */
export function readRequestBody(req: http.IncomingMessage, res: http.ServerResponse, limit: number): Promise<BodyRead> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length']);
    let size = 0;
    let over = false;
    const chunks: Buffer[] = [];
    const tooLarge = (): BodyRead => {
      // What is left of the upload must not be read as the next request.
      res.setHeader('connection', 'close');
      return { ok: false, status: 413, message: `request body over the limit of ${limit} bytes` };
    };
    // A declared length the limit refuses is answered without reading what follows.
    if (Number.isFinite(declared) && declared > limit + DRAIN_LIMIT_BYTES) {
      req.resume();
      resolve(tooLarge());
      return;
    }
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        if (size > limit + DRAIN_LIMIT_BYTES) {
          req.destroy();
          resolve(tooLarge());
        }
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      resolve(over ? tooLarge() : { ok: true, text: Buffer.concat(chunks).toString('utf8') });
    });
    req.on('error', (e) => {
      resolve({ ok: false, status: 400, message: `request body could not be read: ${e.message}` });
    });
  });
}
