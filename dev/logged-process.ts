import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';

// Programs the dev tooling starts in the background with their output in a log
// file (control-plane components, containerd, the kubelet), and what is read back
// of them when they fail.

/**
 * Starts a program with its output appended to its log; returns its pid. The child
 * handle is unref'd: the caller tracks pids, and its event loop (jest's) must not
 * wait on them.
 */
export function launch(argv: string[], logPath: string, detached: boolean): number {
  const fd = openSync(logPath, 'a');
  try {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', fd, fd], detached });
    child.unref();
    // spawn reports a missing binary asynchronously; the pid is then undefined.
    child.once('error', () => {});
    if (child.pid === undefined) throw new Error(`could not start ${argv[0]}; see ${logPath}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** The last lines of a log, for an error message. */
export function tail(path: string, lines = 40): string {
  if (!existsSync(path)) return '(no log)';
  return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/** Seconds since a Date.now(), to one decimal, for progress lines. */
export const secondsSince = (since: number): string => ((Date.now() - since) / 1000).toFixed(1);
