import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { kubectlPath } from '../controlplane/kubectl.js';
import { waitFor } from '../wait-for.js';

// The examples on the real node, as npm start --real-node and the e2e tests run
// them: the kustomize overlay of this folder, applied in two steps, because the
// migrate example needs a database and the users its Secrets name, which the
// postgres example provides once it serves.

const overlay = new URL('.', import.meta.url).pathname;

/** The admin password initdb sets: the one examples/postgres/secret.yaml holds. */
export const PG_PASSWORD = (parse(readFileSync(new URL('../../examples/postgres/secret.yaml', import.meta.url), 'utf8')) as { stringData: { password: string } }).stringData.password;
/** The passwords of the two users the migrate example's Secrets name. */
export const SHOP_PASSWORDS = { migrator: 'migrator-secret', app: 'app-secret' } as const;

export interface Cluster {
  kubeconfig: string;
  namespace: string;
  /** How long to wait for postgres to serve before preparing its database. */
  timeoutMs?: number;
}

function kubectl(cluster: Cluster, args: string[], input?: string): string {
  const r = spawnSync(kubectlPath(), ['--kubeconfig', cluster.kubeconfig, '-n', cluster.namespace, ...args], { encoding: 'utf8', input, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr || String(r.error)}`);
  return r.stdout;
}

/** psql from the host to a Pod IP; throws with psql's message on failure. */
export function psql(host: string, user: string, password: string, sql: string, database = 'postgres'): string {
  const r = spawnSync('psql', [`host=${host} port=5432 user=${user} dbname=${database} connect_timeout=10`, '-v', 'ON_ERROR_STOP=1', '-tAc', sql], {
    encoding: 'utf8',
    env: { ...process.env, PGPASSWORD: password },
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`psql as ${user} on ${host}: ${r.stderr || String(r.error)}`);
  return r.stdout.trim();
}

/** The overlay's manifests split in two: everything but the migrate app, and the migrate app. */
function manifests(): [string, string] {
  const r = spawnSync(kubectlPath(), ['kustomize', '--load-restrictor=LoadRestrictionsNone', overlay], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${overlay}: ${r.stderr}`);
  const docs = r.stdout.split(/^---$/m);
  const isMigrate = (d: string): boolean => /^kind: DistrolessApp$/m.test(d) && /^ {2}name: migrate$/m.test(d);
  return [docs.filter((d) => !isMigrate(d)).join('---'), docs.filter(isMigrate).join('---')];
}

/** The IP of a running, Ready Pod of the app, once there is one. */
export function readyPodIp(cluster: Cluster, app: string, timeoutMs = 240_000): Promise<string> {
  return waitFor(
    () => {
      const pods = JSON.parse(kubectl(cluster, ['get', 'pods', '-l', `distroless.dev/app=${app}`, '-o', 'json'])) as {
        items: { status?: { podIP?: string; conditions?: { type: string; status: string }[] } }[];
      };
      const ready = pods.items.find((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return ready?.status?.podIP;
    },
    { timeoutMs, intervalMs: 500, what: `a Ready Pod of ${app} on the real node` },
  );
}

/**
 * Applies the examples to the namespace: postgres, go-static and nginx-template
 * first; then, once postgres serves, the shop database, its two users and the
 * Secrets naming them; then the migrate app. Returns the postgres Pod IP.
 */
export async function applyRealNodeExamples(cluster: Cluster): Promise<string> {
  const [first, migrate] = manifests();
  kubectl(cluster, ['apply', '-f', '-'], first);
  const postgres = await readyPodIp(cluster, 'postgres', cluster.timeoutMs);
  psql(postgres, 'postgres', PG_PASSWORD, `CREATE ROLE shop_migrator LOGIN PASSWORD '${SHOP_PASSWORDS.migrator}'`);
  psql(postgres, 'postgres', PG_PASSWORD, `CREATE ROLE shop_app LOGIN PASSWORD '${SHOP_PASSWORDS.app}'`);
  psql(postgres, 'postgres', PG_PASSWORD, 'CREATE DATABASE shop OWNER shop_migrator');
  const url = (user: string, password: string): string => `postgres://${user}:${password}@${postgres}:5432/shop?sslmode=disable`;
  for (const [secret, value] of [
    ['shop-db-migrator', url('shop_migrator', SHOP_PASSWORDS.migrator)],
    ['shop-db-app', url('shop_app', SHOP_PASSWORDS.app)],
  ] as const) {
    kubectl(cluster, ['create', 'secret', 'generic', secret, `--from-literal=url=${value}`]);
  }
  kubectl(cluster, ['apply', '-f', '-'], migrate);
  return postgres;
}

/** Where each example answers, from the host: `app: http://IP:PORT` lines. */
export function reachability(cluster: Cluster): string[] {
  const pods = JSON.parse(kubectl(cluster, ['get', 'pods', '-o', 'json'])) as {
    items: { metadata: { name: string; labels?: Record<string, string> }; spec: { containers: { name: string; ports?: { containerPort: number }[] }[] }; status?: { podIP?: string } }[];
  };
  return pods.items.flatMap((pod) => {
    const app = pod.spec.containers.find((c) => c.name === 'app');
    const port = app?.ports?.[0]?.containerPort;
    if (!pod.status?.podIP || !port) return [];
    const scheme = port === 5432 ? 'postgresql' : 'http';
    return [`${pod.metadata.labels?.['distroless.dev/app'] ?? pod.metadata.name} (${pod.metadata.name}): ${scheme}://${pod.status.podIP}:${port}`];
  });
}
