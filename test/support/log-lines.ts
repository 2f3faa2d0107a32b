/** The JSON log lines a rampart child process writes on stdout, as they arrive. */
import type { Readable } from 'node:stream';

/** Each complete line of `stream` parsed as JSON (a line that is not JSON: `{ msg: 'unparsed', line }`), in order. */
export function onLogLines(stream: Readable, onLine: (log: Record<string, unknown>) => void): void {
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      let log: Record<string, unknown>;
      try {
        log = JSON.parse(line) as Record<string, unknown>;
      } catch {
        log = { msg: 'unparsed', line };
      }
      onLine(log);
    }
  });
}
