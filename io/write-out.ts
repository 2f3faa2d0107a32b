/**
 * Writes text to stdout and resolves once it has been handed to the OS. `rampart` ends with
 * process.exit, which drops whatever a pipe has not taken yet; waiting for the write's
 * callback keeps a large contract or report whole when piped into another program.
 */
import { stdout } from 'node:process';

export function writeOut(text: string): Promise<void> {
  return new Promise((resolve) => {
    stdout.write(text, () => {
      resolve();
    });
  });
}
