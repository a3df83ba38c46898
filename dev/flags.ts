import { parseArgs, type ParseArgsConfig } from 'node:util';

// Every dev script and the benchmark read their command line here, one way: a flag
// that is unknown, misspelt or missing its value stops the script before it starts
// anything, with one line naming the flag, the usage, and exit code 2.

/** Says what is wrong with the command line and how to call the script, then exits 2. */
export function usageError(message: string, usage: string): never {
  process.stderr.write(`error: ${message}\nusage: ${usage}\n`);
  process.exit(2);
}

/** What parseArgs returns for `config` made strict. */
export type ParsedFlags<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T & { strict: true }>>;

/** node:util parseArgs, strict, with usageError for a command line it refuses. */
export function parseFlags<T extends ParseArgsConfig>(usage: string, config: T): ParsedFlags<T> {
  try {
    return parseArgs({ ...config, strict: true });
  } catch (err) {
    return usageError(err instanceof Error ? err.message : String(err), usage);
  }
}

/** A flag's value as a whole number of at least 1, or usageError. */
export function positiveInteger(flag: string, value: string, usage: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) usageError(`--${flag}: "${value}" is not a positive whole number`, usage);
  return n;
}
