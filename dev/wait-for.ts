// The one polling loop of the dev tooling, the tests and the benchmark: whatever
// waits for a process, a cluster or a condition calls this rather than writing
// its own `for (;;) { ...; sleep }`.

/**
 * Thrown by a waitFor callback to end the wait at once with this error: what is
 * waited for can no longer happen (the process it needs has died). Any other error
 * the callback throws counts as "not yet" and is retried.
 */
export class StopWaiting extends Error {}

export interface WaitOptions {
  /** How long to keep trying (default 60 s). */
  timeoutMs?: number;
  /** Pause between tries (default 100 ms: tight polling, generous time-out). */
  intervalMs?: number;
  /** What is waited for, for the time-out message. */
  what?: string;
  /** The error to throw at the deadline instead of the generic one; gets the callback's last error, if any. */
  timeoutError?: (lastError: unknown) => Error;
}

/**
 * Calls fn until it returns something other than undefined or false, and resolves
 * with that. Errors fn throws are retried (the last one goes into the time-out
 * message), except StopWaiting, which ends the wait at once.
 */
export async function waitFor<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, options: WaitOptions = {}): Promise<T> {
  const { timeoutMs = 60_000, intervalMs = 100 } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const result = await attempt(fn, (err) => (lastError = err));
    if (result) return result.value;
    if (Date.now() > deadline) throw timeoutError(options, timeoutMs, lastError);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** One call of fn: its value if it has one yet; an error it throws goes to onError, unless it is StopWaiting. */
async function attempt<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, onError: (err: unknown) => void): Promise<{ value: T } | undefined> {
  try {
    const value = await fn();
    if (value !== undefined && value !== false) return { value: value as T };
  } catch (err) {
    if (err instanceof StopWaiting) throw err;
    onError(err);
  }
  return undefined;
}

function timeoutError(options: WaitOptions, timeoutMs: number, lastError: unknown): Error {
  const why = lastError ? `: ${String(lastError)}` : '';
  return options.timeoutError?.(lastError) ?? new Error(`timed out after ${timeoutMs / 1000}s waiting for ${options.what ?? 'condition'}${why}`);
}
