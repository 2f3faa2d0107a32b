// Placeholder until the command lands; replaced by its issue's work.
import { stderr } from 'node:process';

export function run(_args: readonly string[]): Promise<number> {
  stderr.write('rampart history: not implemented yet\n');
  return Promise.resolve(2);
}
