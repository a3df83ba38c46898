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

/** Refuses new children from now on, and SIGKILLs every tracked one that still runs; resolves once all have exited. */
export async function killTracked(reason: string): Promise<number> {
  closed = reason;
  const left = [...running];
  await Promise.all(
    left.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
  return left.length;
}
