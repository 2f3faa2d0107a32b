/**
 * How every command reads its flags and reports bad usage: each problem on stderr, then the
 * usage, exit 2; `--help` prints the usage on stdout, exit 0.
 */
import { stderr, stdout } from 'node:process';
import type { Problem } from '../../core/common/index.js';
import { formatFlagProblems, parseFlags, type FlagValues, type FlagSpecs, type ParseFlagsOptions } from '../../io/flags.js';

/** The parsed flags, or the exit code when the command is done (bad usage: 2, --help: 0). */
export type CommandFlags<O extends FlagSpecs> = { readonly values: FlagValues<O>; readonly positionals: readonly string[] } | { readonly exit: number };

/** `specs` has a boolean `help` flag (`-h`). */
export function commandFlags<const O extends FlagSpecs>(command: string, usage: string, args: readonly string[], specs: O, options: ParseFlagsOptions = {}): CommandFlags<O> {
  const { values, positionals, problems } = parseFlags(args, specs, options);
  if (problems.length > 0) return { exit: usageError(command, problems, usage) };
  if ((values as Record<string, unknown>)['help'] === true) {
    stdout.write(usage);
    return { exit: 0 };
  }
  return { values, positionals };
}

/** Bad usage found after parsing: each problem on stderr, then the usage. Returns exit code 2. */
export function usageError(command: string, problems: readonly Problem[], usage: string): 2 {
  stderr.write(formatFlagProblems(command, problems, usage));
  return 2;
}
