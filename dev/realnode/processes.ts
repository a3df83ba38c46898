import { readdirSync, readFileSync } from 'node:fs';
import { waitFor } from '../wait-for.js';

// Finding and ending the real node's processes by what they run, not by pids a
// crashed run may never have written down.

/** Whether pid runs: a zombie (exited, not yet reaped by its parent or init) does not. */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the command name, which is in parentheses and may hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** Running processes (this one aside) whose command line matches. */
export function findProcesses(matches: (argv: string[]) => boolean): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => pid !== process.pid && isRunning(pid) && matches(commandLine(pid)));
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Gone already.
  }
}

/**
 * Sends `sig` (SIGTERM by default), SIGKILL after graceMs, and waits until every
 * pid is gone; fails naming `what` if any survives SIGKILL for 10 s (a process in
 * uninterruptible sleep).
 */
export async function endProcesses(pids: number[], what: string, options: { signal?: NodeJS.Signals; graceMs?: number } = {}): Promise<void> {
  if (pids.length === 0) return;
  const sig = options.signal ?? 'SIGTERM';
  for (const pid of pids) signal(pid, sig);
  if (sig !== 'SIGKILL') {
    const graceMs = options.graceMs ?? 5_000;
    const gone = await waitFor(() => !pids.some(isRunning), { timeoutMs: graceMs, intervalMs: 50, what }).catch(() => false);
    if (gone) return;
    for (const pid of pids) if (isRunning(pid)) signal(pid, 'SIGKILL');
  }
  await waitFor(() => !pids.some(isRunning), {
    timeoutMs: 10_000,
    intervalMs: 50,
    timeoutError: () => new Error(`${what}: pids ${pids.filter(isRunning).join(' ')} still run 10 s after SIGKILL`),
  });
}
