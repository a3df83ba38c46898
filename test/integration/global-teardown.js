// Stops the control plane of global-setup.js: its supervisor stops every component
// (SIGTERM, SIGKILL after 10s), removes the temp dir, then exits.
import { existsSync, readFileSync, rmSync } from 'node:fs';

export default async function globalTeardown() {
  const child = globalThis.__controlPlaneSupervisor;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), 30_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
    child.kill('SIGTERM');
  });
  if (exited) return;
  // A supervisor that hangs must not hang jest, nor leave etcd and friends behind.
  child.kill('SIGKILL');
  const stateFile = process.env.DLO_TEST_CONTROL_PLANE;
  if (!stateFile || !existsSync(stateFile)) return;
  const state = JSON.parse(readFileSync(stateFile, 'utf8'));
  for (const { pid } of Object.values(state.components)) killIfOurs(pid, state.dir);
  rmSync(state.dir, { recursive: true, force: true });
  process.stderr.write(`[control plane] the supervisor did not stop within 30s; killed its components\n`);
}

/**
 * SIGKILLs pid if it still runs one of the control plane's programs (their command
 * lines name its dir). False when there is nothing of ours to kill: the program
 * has exited, or its pid now belongs to another.
 */
function killIfOurs(pid, dir) {
  try {
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)) return false;
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}
