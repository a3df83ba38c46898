import type { V1Pod } from '@kubernetes/client-node';
import { join } from 'node:path';
import { startOperator, type OperatorProcess } from '../../dev/operator-process.js';
import { waitFor } from '../../dev/wait-for.js';
import { createNamespace, getJson, kubectl, kubectlOk, run, serviceAccountKubeconfig, testKubeconfig } from '../integration/helpers.js';
import { condition, type List, type ServedApp } from '../integration/served.js';
import { PG_PASSWORD, SHOP_PASSWORDS, applyRealNodeExamples, psql } from '../../dev/real-node-examples/apply.js';
import { mainPid, mountOptions, processEnvironment, processStatus } from './host.js';

// The examples in real containers on the real node, pulled from the local
// registry through the kustomize overlay (dev/real-node-examples): what the product
// promises, checked where it happens. Each test looks at the running containers
// from the host (their processes are ours to read) or through real clients.

const root = new URL('../../', import.meta.url).pathname;
const READY_MS = 240_000;

let ns: string;
let operator: OperatorProcess | undefined;

async function appsReady(names: string[]): Promise<void> {
  await waitFor(
    async () => {
      const apps = await getJson<List<ServedApp>>(['get', 'dla', '-n', ns, '-o', 'json']);
      return names.every((name) => condition(apps.items.find((a) => a.metadata.name === name) ?? {}, 'Ready')?.status === 'True');
    },
    { timeoutMs: READY_MS, intervalMs: 500, what: `${names.join(', ')} Ready on the real node` },
  );
}

async function podsOf(app: string): Promise<V1Pod[]> {
  const pods = await getJson<List<V1Pod>>(['get', 'pods', '-n', ns, '-l', `distroless.dev/app=${app}`, '-o', 'json']);
  return pods.items.filter((p) => !p.metadata?.deletionTimestamp && p.status?.phase === 'Running');
}

async function firstPod(app: string): Promise<V1Pod> {
  const [pod] = await podsOf(app);
  if (!pod?.status?.podIP) throw new Error(`${app} has no running Pod with an IP`);
  return pod;
}

async function curl(url: string): Promise<string> {
  const r = await run('curl', ['-sS', '--max-time', '10', url]);
  if (r.code !== 0) throw new Error(`curl ${url}: ${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  await kubectlOk(['apply', '--server-side', '-f', join(root, 'crds/distroless.dev_distrolessapps.yaml')]);
  ns = await createNamespace('e2e-examples', { 'pod-security.kubernetes.io/enforce': 'restricted' });
  operator = await startOperator({ kubeconfig: await serviceAccountKubeconfig(testKubeconfig()), args: ['--leader-elect=false', '--namespaces', ns] });
  await applyRealNodeExamples({ kubeconfig: testKubeconfig(), namespace: ns, timeoutMs: READY_MS });
  await appsReady(['postgres', 'go-static', 'nginx-template', 'migrate']);
}, READY_MS * 2);

afterAll(async () => {
  await operator?.stop();
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('the examples on the real node', () => {
  it('postgres: initdb in the init container, served by the distroless server, reached from the host with the password from the Secret', async () => {
    const pod = await firstPod('postgres');
    expect(psql(pod.status!.podIP!, 'postgres', PG_PASSWORD, 'SELECT 41 + 1')).toBe('42');
    expect(psql(pod.status!.podIP!, 'postgres', PG_PASSWORD, 'SHOW data_directory')).toBe('/var/lib/postgresql/shared/pgdata');
    expect(() => psql(pod.status!.podIP!, 'postgres', 'wrong-password', 'SELECT 1')).toThrow(/password authentication failed/);
  });

  it('nginx-template and go-static serve what their init containers rendered', async () => {
    const nginx = await firstPod('nginx-template');
    expect(await curl(`http://${nginx.status!.podIP}:8080/`)).toBe(`served by distroless nginx for ${nginx.status!.podIP}\n`);
    const goStatic = await firstPod('go-static');
    expect(await curl(`http://${goStatic.status!.podIP}:8080/config`)).toBe('listen=:8080 log_level=info greeting=hello from a distroless pod\n');
  });

  it('migrate: the app reports the schema version its init step applied, under its own database user', async () => {
    for (const pod of await podsOf('migrate')) {
      expect(await curl(`http://${pod.status!.podIP}:8080/schema-version`)).toBe('2\n');
      expect(await curl(`http://${pod.status!.podIP}:8080/whoami`)).toBe(`pod=${pod.metadata!.name} database_user=shop_app\n`);
    }
    const postgres = await firstPod('postgres');
    expect(psql(postgres.status!.podIP!, 'shop_migrator', SHOP_PASSWORDS.migrator, 'SELECT max(version) FROM schema_migrations', 'shop')).toBe('2');
    // The app's own user has only what the migrations granted it.
    expect(psql(postgres.status!.podIP!, 'shop_app', SHOP_PASSWORDS.app, "WITH placed AS (INSERT INTO orders (item, quantity) VALUES ('tea', 2) RETURNING status) SELECT status FROM placed", 'shop')).toBe('new');
    expect(() => psql(postgres.status!.podIP!, 'shop_app', SHOP_PASSWORDS.app, 'SELECT max(version) FROM schema_migrations', 'shop')).toThrow(/permission denied/);
  });

  it("keeps the init container's Secret-backed variables out of the main container's environment", async () => {
    const postgres = processEnvironment(mainPid(await firstPod('postgres'), 'app'));
    expect([...postgres.keys()].filter((k) => k.startsWith('POSTGRES_'))).toEqual([]);
    expect([...postgres.values()].some((v) => v.includes(PG_PASSWORD))).toBe(false);
    const shop = processEnvironment(mainPid(await firstPod('migrate'), 'app'));
    expect(shop.get('DATABASE_URL')).toContain('shop_app:');
    expect([...shop.values()].some((v) => v.includes(SHOP_PASSWORDS.migrator))).toBe(false);
  });

  it('runs the main container with no shell, a read-only root, the UIDs and groups of the spec, no capabilities and seccomp on', async () => {
    const pod = await firstPod('go-static');
    const exec = await kubectl(['exec', '-n', ns, pod.metadata!.name!, '-c', 'app', '--', 'sh', '-c', 'id']);
    expect(exec.code).not.toBe(0);
    expect(exec.stderr).toMatch(/"sh": executable file not found in \$PATH/);
    const pid = mainPid(pod, 'app');
    const status = processStatus(pid);
    expect(status.Uid).toBe('65532\t65532\t65532\t65532');
    expect(status.Gid).toBe('65532\t65532\t65532\t65532');
    expect(status.Groups!.split(' ')).toContain('65532'); // fsGroup
    expect(status.CapEff).toBe('0000000000000000');
    expect(status.CapPrm).toBe('0000000000000000');
    expect(status.NoNewPrivs).toBe('1');
    expect(status.Seccomp).toBe('2'); // filter mode: RuntimeDefault
    expect(mountOptions(pid, '/')).toContain('ro');
    expect(mountOptions(pid, '/config')).toContain('ro'); // readOnlyInApp
    const postgres = processStatus(mainPid(await firstPod('postgres'), 'app'));
    expect(postgres.Uid).toBe('70\t70\t70\t70');
    expect(postgres.Groups!.split(' ')).toContain('70');
  });
});
