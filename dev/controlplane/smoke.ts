import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { parseFlags, positiveInteger } from '../flags.js';
import { kubectlPath } from './kubectl.js';
import { startControlPlane, type ControlPlane } from './launcher.js';

// A check of the launcher itself, outside jest: `npx tsx dev/controlplane/smoke.ts
// [--parallel=N] [--restart]` starts N control planes at once (they must not
// collide), prints how long each took to be ready, runs kubectl against each,
// optionally restarts etcd and kube-apiserver, stops them all and checks that no
// process and no directory is left behind.

const USAGE = 'tsx dev/controlplane/smoke.ts [--parallel=N] [--restart]';
const { values: flags } = parseFlags(USAGE, { options: { parallel: { type: 'string', default: '1' }, restart: { type: 'boolean', default: false } } });
const parallel = positiveInteger('parallel', flags.parallel, USAGE);
const restart = flags.restart;
const say = (line: string) => process.stderr.write(`${line}\n`);

function kubectl(plane: ControlPlane, args: string[]): string {
  const r = spawnSync(kubectlPath(), ['--kubeconfig', plane.kubeconfigPath, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} on ${plane.server}: ${r.stderr}`);
  return r.stdout.trim();
}

const started = Date.now();
const planes = await Promise.all(
  Array.from({ length: parallel }, (_, i) =>
    startControlPlane({ name: `smoke${i}`, log: (l) => say(`[smoke${i}] ${l}`) }).then((p) => {
      say(`[smoke${i}] ready after ${((Date.now() - started) / 1000).toFixed(1)}s (its own count: ${(p.state.readyAfterMs! / 1000).toFixed(1)}s) at ${p.server}`);
      return p;
    }),
  ),
);
try {
  const servers = new Set(planes.map((p) => p.server));
  if (servers.size !== planes.length) throw new Error(`two control planes share a server: ${[...servers].join(', ')}`);
  for (const p of planes) say(`${p.server}: ${kubectl(p, ['get', 'nodes', '-o', 'name'])}`);
  if (restart) {
    for (const component of ['etcd', 'kube-apiserver'] as const) {
      const t = Date.now();
      await planes[0]!.restart(component);
      say(`${component} restarted in ${((Date.now() - t) / 1000).toFixed(1)}s; nodes: ${kubectl(planes[0]!, ['get', 'nodes', '-o', 'name'])}`);
    }
    // The scheduler, kwok and the controller manager reconnect: a new Pod still runs.
    const t = Date.now();
    kubectl(planes[0]!, ['run', 'after-restart', '--image=x', '--restart=Never']);
    kubectl(planes[0]!, ['wait', '--for=jsonpath={.status.phase}=Running', '--timeout=120s', 'pod/after-restart']);
    say(`a Pod created after the restarts ran within ${((Date.now() - t) / 1000).toFixed(1)}s`);
  }
} finally {
  const pids = planes.flatMap((p) => p.pids());
  const t = Date.now();
  await Promise.all(planes.map((p) => p.stop()));
  say(`stopped in ${((Date.now() - t) / 1000).toFixed(1)}s`);
  const left = pids.filter((pid) => existsSync(`/proc/${pid}`));
  const dirs = planes.map((p) => p.dir).filter(existsSync);
  if (left.length || dirs.length) {
    say(`LEFT BEHIND: pids ${left.join(' ')} dirs ${dirs.join(' ')}`);
    process.exitCode = 1;
  }
}
