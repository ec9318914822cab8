import { parseArgs, type ParseArgsConfig } from 'node:util';
import { usageError } from './errors.ts';

/** What every command receives: its own argv, the global options, and the output channels. */
export interface CliContext {
  /** Arguments after the command name, global options removed. */
  argv: string[];
  /** Workspace folder (--home, PLUMAGE_HOME or the OS user-data dir). */
  home: string;
  /** --json: exactly one JSON object on stdout, human progress on stderr. */
  json: boolean;
  /** Human-readable output (suppressed on stdout in --json mode; goes to stderr then). */
  log: (line: string) => void;
  /** Progress and warnings: always stderr. */
  err: (line: string) => void;
}

/** A CLI command: returns the JSON result object (printed with --json) or nothing. */
export type Command = (ctx: CliContext) => Promise<Record<string, unknown> | void>;

/** node:util parseArgs with user-friendly errors instead of stack traces. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
  allowPositionals = true,
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (e) {
    throw usageError((e as Error).message.split('\n')[0]);
  }
}
