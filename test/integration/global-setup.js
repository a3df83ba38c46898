// Starts one real control plane for the integration run, in a supervisor process
// (dev/controlplane/cli.ts up --foreground) that also stops it if jest dies
// without a teardown. If it cannot start, this throws with the supervisor's output
// (which names the failing component and ends with its log) and the run fails: no
// suite is ever skipped for a missing component.
//
// Tests find the cluster through the environment, which jest workers inherit:
//   DLO_TEST_KUBECONFIG    the admin kubeconfig (also exported as KUBECONFIG);
//   DLO_TEST_CONTROL_PLANE its state.json (pids, ports, logs), for restart/kill.
import { spawn } from 'node:child_process';
import { URL, fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

export default async function globalSetup() {
  const started = Date.now();
  // The same Node as jest (the project's, not whatever `node` is first on PATH), with
  // tsx as a loader rather than its CLI: the CLI would run the supervisor as a
  // grandchild, which outlives a killed jest. Its stdin is a pipe from jest: when
  // jest dies, however abruptly, the pipe closes and the supervisor stops the cluster.
  // NODE_OPTIONS carries jest's --experimental-vm-modules, which is not the supervisor's business.
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(
    process.execPath,
    ['--import', pathToFileURL(`${root}node_modules/tsx/dist/loader.mjs`).href, `${root}dev/controlplane/cli.ts`, 'up', '--foreground', '--watch-stdin', '--nodes=2', '--real-node'],
    { stdio: ['pipe', 'pipe', 'pipe'], env },
  );
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
    child.once('error', (err) => reject(new Error(`could not run the control plane supervisor: ${err.message}`)));
    child.once('exit', (code, signal) => reject(new Error(`the local control plane did not start (exit ${code ?? signal}):\n${output}`)));
  });
  const kubeconfig = stateFile.replace(/state\.json$/, 'admin.kubeconfig');
  process.env.DLO_TEST_CONTROL_PLANE = stateFile;
  process.env.DLO_TEST_KUBECONFIG = kubeconfig;
  // For anything that loads the default kubeconfig (client-node's loadFromDefault).
  process.env.KUBECONFIG = kubeconfig;
  globalThis.__controlPlaneSupervisor = child;
  process.stderr.write(`[control plane] ready for tests after ${((Date.now() - started) / 1000).toFixed(1)}s; export KUBECONFIG=${kubeconfig}\n`);
}
