import type { ChildProcess } from 'node:child_process';

// The processes a test file started, so that its teardown can kill every one of
// them however the test ended. A test that times out keeps running after jest has
// moved on (jest cannot cancel it): once the file's teardown has run, starting a
// new process fails instead of leaving one behind to hold jest open.

const running = new Set<ChildProcess>();
let closed: string | undefined;

/** Registers a child started on the caller's behalf; throws if teardown has already run. */
export function track(child: ChildProcess): void {
  if (closed) {
    child.kill('SIGKILL');
    throw new Error(`not starting ${child.spawnfile}: ${closed}`);
  }
  running.add(child);
  child.once('exit', () => running.delete(child));
}

/**
 * Refuses new children from now on, and stops every tracked one that still runs:
 * SIGTERM, as a test's own teardown would (jest runs a setup file's afterAll before
 * the test file's own), then SIGKILL after the grace period. Resolves once all have
 * exited, with how many there were and how many needed SIGKILL.
 */
export async function killTracked(reason: string, graceMs = 10_000): Promise<{ stopped: number; killed: number }> {
  closed = reason;
  const left = [...running].filter((child) => child.exitCode === null && child.signalCode === null);
  let killed = 0;
  await Promise.all(
    left.map(
      (child) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            killed++;
            child.kill('SIGKILL');
          }, graceMs);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  return { stopped: left.length, killed };
}
