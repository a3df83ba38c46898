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
  for (const { pid } of Object.values(state.components)) {
    try {
      // Only if the pid still runs one of its programs (their command lines name the dir).
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(state.dir)) process.kill(pid, 'SIGKILL');
    } catch {}
  }
  rmSync(state.dir, { recursive: true, force: true });
  process.stderr.write(`[control plane] the supervisor did not stop within 30s; killed its components\n`);
}
