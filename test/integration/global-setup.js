// Starts one real control plane for the integration run, in a supervisor process
// (test/controlplane/cli.ts up --foreground) that also stops it if jest dies. If it
// cannot start, this throws with the supervisor's output and the run fails: no
// suite is ever skipped for a missing component.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

export default async function globalSetup() {
  const started = Date.now();
  const child = spawn(`${root}node_modules/.bin/tsx`, [`${root}test/controlplane/cli.ts`, 'up', '--foreground', '--nodes=2'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const stateFile = await new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      output += chunk;
      process.stderr.write(chunk);
    });
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const m = /^state: (.+)$/m.exec(output);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`the local control plane did not start (exit ${code}):\n${output}`)));
  });
  process.env.DLO_TEST_CONTROL_PLANE = stateFile;
  process.env.DLO_TEST_KUBECONFIG = stateFile.replace(/state\.json$/, 'admin.kubeconfig');
  globalThis.__controlPlaneSupervisor = child;
  process.stderr.write(`[control plane] ready for tests after ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
}
