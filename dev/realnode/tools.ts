import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const packages = fileURLToPath(new URL('./packages.sh', import.meta.url));
const buildNodePrograms = fileURLToPath(new URL('../build-node-programs.sh', import.meta.url));

/** The real node's Kubernetes programs, built from Go modules. */
export interface NodePrograms {
  kubelet: string;
  kubeProxy: string;
}

/**
 * What the real node runs, made ready: containerd, runc, the CNI plugins and
 * iptables from Debian's packages (installed when missing, as root), and the
 * kubelet and kube-proxy built from Go modules (about 11 minutes cold on 2 cores,
 * instant when cached). Progress goes to stderr.
 */
export function ensureRealNodeTools(): NodePrograms {
  if (process.getuid?.() !== 0) throw new Error('a real node needs root: containerd and the kubelet mount, make cgroups and network namespaces');
  run(packages, 'installing the real node Debian packages');
  const dir = run(buildNodePrograms, 'building the kubelet and kube-proxy').trim().split('\n').pop();
  if (!dir) throw new Error(`${buildNodePrograms} printed no binary directory`);
  return { kubelet: `${dir}/kubelet`, kubeProxy: `${dir}/kube-proxy` };
}

function run(script: string, what: string): string {
  const r = spawnSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.error) throw new Error(`could not run ${script}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${what} failed (${script}, exit ${r.status}); see the output above`);
  return r.stdout;
}
