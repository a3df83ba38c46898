import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as yaml from 'js-yaml';
import { kubectlPath } from './controlplane/kubectl.js';

const root = new URL('../', import.meta.url).pathname;
const execFileAsync = promisify(execFile);

/** Where config/ installs the operator, and where its ServiceAccount lives. */
export const SYSTEM_NS = 'distroless-operator-system';

async function kubectlOk(kubeconfig: string, args: string[]): Promise<string> {
  try {
    return (await execFileAsync(kubectlPath(), ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8' })).stdout;
  } catch (err) {
    const failed = err as { code?: number; stderr?: string };
    throw new Error(`kubectl ${args.join(' ')} failed (${failed.code}): ${failed.stderr}`, { cause: err });
  }
}

/**
 * A kubeconfig that authenticates as the operator's ServiceAccount with a bound
 * token, so the operator runs with exactly the RBAC config/ grants it and the API
 * server's audit log names its writes. Installs that RBAC with the admin kubeconfig.
 */
export async function serviceAccountKubeconfig(adminKubeconfig: string): Promise<string> {
  // Fails when the namespace is there already, which is as good.
  await kubectlOk(adminKubeconfig, ['create', 'namespace', SYSTEM_NS]).catch(() => {});
  await kubectlOk(adminKubeconfig, ['apply', '-k', join(root, 'config/rbac')]);
  const token = (await kubectlOk(adminKubeconfig, ['create', 'token', 'distroless-operator', '-n', SYSTEM_NS, '--duration=4h'])).trim();
  const admin = yaml.load(readFileSync(adminKubeconfig, 'utf8')) as { clusters: { cluster: unknown }[] };
  const cluster = admin.clusters[0]!.cluster;
  const path = join(mkdtempSync(join(tmpdir(), 'dlo-sa-')), 'operator.kubeconfig');
  writeFileSync(
    path,
    yaml.dump({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'local', cluster }],
      users: [{ name: 'distroless-operator', user: { token } }],
      contexts: [{ name: 'local', context: { cluster: 'local', user: 'distroless-operator' } }],
      'current-context': 'local',
    }),
  );
  return path;
}
