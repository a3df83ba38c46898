import { DISTROLESS_APPS } from '../../src/controller/resources.js';
import { validApp, type Manifest } from '../fixtures/invalid-apps.js';
import { SYSTEM_NS, controlPlane, createNamespace, kubectlOk, serviceAccountKubeconfig } from '../integration/helpers.js';
import { isCurrent } from '../integration/served.js';
import { waitFor } from '../../dev/wait-for.js';
import { startOperator, type OperatorProcess } from '../../dev/operator-process.js';
import { CRD, adminRest, applyApps, invariants, report, world } from './support.js';

// Scale-out: two operators divide the apps by a label selector, each under its own
// Lease. No app is reconciled by both, and one shard's death leaves the other's apps
// converging while its own wait for it.

const SHARD_KEY = 'sharding.distroless.dev/key';
const PER_SHARD = 15;
let ns: string;
const operators: OperatorProcess[] = [];

beforeAll(async () => {
  await kubectlOk(['apply', '--server-side', '-f', CRD]);
  ns = await createNamespace('fault-shards');
});

afterAll(async () => {
  await Promise.all(operators.map((o) => o.stop('SIGKILL')));
  await kubectlOk(['delete', 'namespace', ns, '--wait=false']);
});

function shardApps(shard: string): Manifest[] {
  return Array.from({ length: PER_SHARD }, (_, i) => {
    const app = validApp(`${shard}-${i}`);
    app.metadata.labels = { [SHARD_KEY]: shard };
    return app;
  });
}

/** Whether every app of the shard is converged: its status describes its spec and says Ready, with its Pods. */
async function shardSettled(shard: string): Promise<boolean> {
  const { apps, pods } = await world(ns);
  const mine = apps.filter((a) => a.metadata.labels?.[SHARD_KEY] === shard);
  const uids = new Set(mine.map((a) => a.metadata.uid));
  const check = invariants({ apps: mine, pods: pods.filter((p) => p.metadata?.ownerReferences?.some((r) => uids.has(r.uid))) });
  return mine.length === PER_SHARD && check.settled;
}

/** The apps whose status the process wrote, as the API server's audit log recorded it. */
function statusWritesBy(operator: OperatorProcess): string[] {
  return controlPlane()
    .operatorWrites()
    .filter((e) => e.userAgent?.startsWith(`distroless-operator/${operator.identity}`) && e.objectRef?.resource === DISTROLESS_APPS.plural && e.objectRef.subresource === 'status' && e.objectRef.namespace === ns)
    .map((e) => e.objectRef!.name!);
}

describe('shards', () => {
  it('two operators with --selector divide the apps, and one shard failing leaves the other converging', async () => {
    const kubeconfig = await serviceAccountKubeconfig();
    const suffix = Date.now().toString(36);
    const shard = (key: string) => startOperator({ kubeconfig, args: ['--selector', `${SHARD_KEY}=${key}`, '--lease-namespace', SYSTEM_NS, '--lease-name', `shard-${key}-${suffix}`, '--namespaces', ns] });
    const [a, b] = await Promise.all([shard('a'), shard('b')]);
    operators.push(a, b);
    // Each leads its own Lease: shards do not take turns.
    await waitFor(async () => (await a.metric('distroless_operator_leader')) === 1 && (await b.metric('distroless_operator_leader')) === 1, { what: 'both shards to lead their own Lease' });

    const started = Date.now();
    await applyApps(ns, [...shardApps('a'), ...shardApps('b'), { ...validApp('unsharded') }]);
    await waitFor(async () => (await shardSettled('a')) && (await shardSettled('b')), { timeoutMs: 120_000, what: 'both shards to converge' });
    const convergedMs = Date.now() - started;

    // No app was reconciled by both: each shard's status writes name only its apps, and every app was written.
    const [byA, byB] = [new Set(statusWritesBy(a)), new Set(statusWritesBy(b))];
    expect([...byA].filter((name) => !name.startsWith('a-'))).toEqual([]);
    expect([...byB].filter((name) => !name.startsWith('b-'))).toEqual([]);
    expect(byA.size).toBe(PER_SHARD);
    expect(byB.size).toBe(PER_SHARD);
    // An app no shard selects is left alone by both: no status at all.
    const unsharded = (await world(ns)).apps.find((app) => app.metadata.name === 'unsharded');
    expect(unsharded?.status).toBeUndefined();
    expect(await a.metric('distroless_operator_apps', { state: 'ready' })).toBe(PER_SHARD);

    // Shard a dies; every app changes. Shard b's converge, shard a's wait.
    expect(await a.stop('SIGKILL')).toBeNull();
    const killedAt = Date.now();
    const rest = adminRest();
    for (const app of [...shardApps('a'), ...shardApps('b')]) {
      await rest.request('PATCH', { type: DISTROLESS_APPS, namespace: ns, name: app.metadata.name }, { body: { spec: { replicas: 2 } }, contentType: 'application/merge-patch+json' });
    }
    await waitFor(() => shardSettled('b'), { timeoutMs: 120_000, what: "shard b's apps to converge with shard a dead" });
    const survivorMs = Date.now() - killedAt;
    const stale = (await world(ns)).apps.filter((app) => app.metadata.labels?.[SHARD_KEY] === 'a' && isCurrent(app));
    expect(stale.map((app) => app.metadata.name)).toEqual([]);

    // Shard a comes back and catches up.
    operators.push(await shard('a'));
    await waitFor(() => shardSettled('a'), { timeoutMs: 120_000, what: "shard a's apps to converge once it is back" });
    report('shards', { shards: 2, appsPerShard: PER_SHARD, convergedMs, survivorConvergedMs: survivorMs, appsWrittenByBoth: 0 });
  });
});
