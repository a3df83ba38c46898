import { join } from 'node:path';
import type { CoreV1Event, V1Lease } from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import { validApp, type Manifest } from '../fixtures/invalid-apps.js';
import { SYSTEM_NS, controlPlane, createNamespace, getJson, kubectl, kubectlOk, serviceAccountKubeconfig } from './helpers.js';
import { waitFor } from '../../dev/wait-for.js';
import { startOperator, type OperatorProcess } from '../../dev/operator-process.js';
import { sumMetric } from '../../dev/metrics.js';
import { condition, isCurrent, podExtremes, podReady, type CurrentApp, type List, type ServedApp, type ServedPod } from './served.js';
import { recordWatch } from './watch.js';

// The operator as a real process, on the real control plane, authenticated as its
// own ServiceAccount with a token: a verb missing from config/rbac fails here.

const root = new URL('../../', import.meta.url).pathname;
const RESYNC = '4s';
const RESYNC_MS = 4000;
const LEASE = 'distroless-operator';
const operatorArgs = ['--lease-namespace', SYSTEM_NS, '--resync', RESYNC, '--workers', '4'];

let operatorKubeconfig: string;
let operator: OperatorProcess;

const app = (name: string, change: (m: Manifest) => void = () => {}): Manifest => {
  const m = validApp(name);
  change(m);
  return m;
};

async function apply(ns: string, ...manifests: Manifest[]): Promise<void> {
  await kubectlOk(['apply', '-n', ns, '-f', '-'], { input: manifests.map((m) => yaml.dump(m)).join('---\n') });
}

/** Waits until the app's status describes its current generation and the predicate holds. */
async function waitForApp(ns: string, name: string, predicate: (dla: CurrentApp) => boolean, what: string, timeoutMs = 120_000): Promise<CurrentApp> {
  return waitFor(
    async () => {
      const dla = await getJson<ServedApp>(['get', '-n', ns, `dla/${name}`]);
      return isCurrent(dla) && predicate(dla) ? dla : undefined;
    },
    { timeoutMs, intervalMs: 150, what: `${ns}/${name}: ${what}` },
  );
}

const isReady = (dla: ServedApp) => condition(dla, 'Ready')?.status === 'True';

async function podsOf(ns: string, name: string): Promise<ServedPod[]> {
  return (await getJson<List<ServedPod>>(['get', 'pods', '-n', ns, '-l', `distroless.dev/app=${name}`])).items;
}


/**
 * App writes as the API server counts them: successful Pod creates and deletes,
 * and any successful DistrolessApp, Service or PodDisruptionBudget write. Refused ones (a stalled app's retries)
 * change nothing and are left out.
 */
async function appWritesAtServer(): Promise<number> {
  const metrics = await kubectlOk(['get', '--raw', '/metrics']);
  let total = 0;
  for (const code of ['200', '201', '202']) {
    for (const verb of ['POST', 'DELETE']) total += sumMetric(metrics, 'apiserver_request_total', { resource: 'pods', subresource: '', verb, code });
    for (const verb of ['POST', 'PUT', 'PATCH', 'DELETE', 'APPLY']) {
      total += sumMetric(metrics, 'apiserver_request_total', { group: 'distroless.dev', resource: 'distrolessapps', verb, code });
      total += sumMetric(metrics, 'apiserver_request_total', { resource: 'services', subresource: '', verb, code });
      total += sumMetric(metrics, 'apiserver_request_total', { group: 'policy', resource: 'poddisruptionbudgets', subresource: '', verb, code });
    }
  }
  return total;
}

/** The operator's own count of its writes, leader election aside. */
async function operatorAppWrites(op: OperatorProcess): Promise<number> {
  const text = await (await fetch(op.metricsUrl)).text();
  return sumMetric(text, 'distroless_operator_api_writes_total') - sumMetric(text, 'distroless_operator_api_writes_total', { resource: 'leases' });
}

async function leaseHolder(): Promise<string> {
  const lease = await getJson<V1Lease>(['get', 'lease', LEASE, '-n', SYSTEM_NS]);
  return lease.spec!.holderIdentity ?? '';
}

beforeAll(async () => {
  await kubectlOk(['apply', '--server-side', '-f', join(root, 'crds/distroless.dev_distrolessapps.yaml')]);
  await kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', 'crd/distrolessapps.distroless.dev']);
  operatorKubeconfig = await serviceAccountKubeconfig();
  operator = await startOperator({ kubeconfig: operatorKubeconfig, args: operatorArgs });
  await waitFor(async () => (await operator.metric('distroless_operator_leader')) === 1, { what: 'the operator to lead' });
});

afterAll(async () => {
  await operator?.stop();
});

describe('the operator', () => {
  it('runs as its ServiceAccount, which cannot read Secrets', async () => {
    const r = await kubectl(['auth', 'can-i', 'get', 'secrets', '-A'], { kubeconfig: operatorKubeconfig });
    expect(r.stdout.trim()).toBe('no');
    expect((await kubectl(['auth', 'can-i', 'create', 'pods', '-n', 'default'], { kubeconfig: operatorKubeconfig })).stdout.trim()).toBe('yes');
  });

  it('creates the Pods, reports Ready, and kubectl wait returns', async () => {
    const ns = await createNamespace('op-create');
    await apply(ns, app('web', (m) => (m.spec.replicas = 2)));
    const wait = await kubectl(['wait', '-n', ns, '--for=condition=Ready', '--timeout=120s', 'dla/web']);
    expect(wait.stderr).toBe('');
    expect(wait.code).toBe(0);
    const dla = await waitForApp(ns, 'web', isReady, 'Ready');
    expect(dla.status).toMatchObject({ replicas: 2, readyReplicas: 2, updatedReplicas: 2, replicaSummary: '2/2', observedGeneration: dla.metadata.generation });
    expect(condition(dla, 'Stalled')).toMatchObject({ status: 'False' });
    expect(condition(dla, 'Reconciling')).toMatchObject({ status: 'False' });
    const pods = await podsOf(ns, 'web');
    expect(pods.map((p) => p.metadata.name).sort()).toEqual([`web-${dla.status.templateHash}-0`, `web-${dla.status.templateHash}-1`]);
    for (const pod of pods) {
      expect(pod.status.phase).toBe('Running');
      expect(pod.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'DistrolessApp', name: 'web', uid: dla.metadata.uid, controller: true })]);
    }
    const table = await kubectlOk(['get', 'dla', '-n', ns]);
    expect(table).toMatch(/web\s+True\s+2\/2\s+Ready/);
  });

  it('scales up and down', async () => {
    const ns = await createNamespace('op-scale');
    await apply(ns, app('api'));
    await waitForApp(ns, 'api', isReady, 'Ready at 1');
    await kubectlOk(['patch', '-n', ns, 'dla/api', '--type=merge', '-p', '{"spec":{"replicas":4}}']);
    await waitForApp(ns, 'api', (d) => isReady(d) && d.status.readyReplicas === 4, 'Ready at 4');
    expect((await podsOf(ns, 'api')).length).toBe(4);
    await kubectlOk(['patch', '-n', ns, 'dla/api', '--type=merge', '-p', '{"spec":{"replicas":1}}']);
    const dla = await waitForApp(ns, 'api', (d) => isReady(d) && d.status.replicas === 1, 'Ready at 1 again');
    await waitFor(async () => (await podsOf(ns, 'api')).length === 1, { what: 'surplus pods to go' });
    expect((await podsOf(ns, 'api'))[0]!.metadata.name).toBe(`api-${dla.status.templateHash}-0`);
    await kubectlOk(['patch', '-n', ns, 'dla/api', '--type=merge', '-p', '{"spec":{"replicas":0}}']);
    await waitForApp(ns, 'api', (d) => isReady(d) && d.status.replicas === 0, 'scaled to zero');
    await waitFor(async () => (await podsOf(ns, 'api')).length === 0, { what: 'all pods to go' });
  });

  it('rolls a spec change out one Pod at a time, never below the desired Ready count', async () => {
    const ns = await createNamespace('op-rolling');
    await apply(ns, app('roll', (m) => (m.spec.replicas = 3)));
    const before = await waitForApp(ns, 'roll', isReady, 'Ready');
    const pods = await recordWatch<ServedPod>(`/api/v1/namespaces/${ns}/pods`);
    const apps = await recordWatch<ServedApp>(`/apis/distroless.dev/v1alpha1/namespaces/${ns}/distrolessapps`);
    await waitFor(() => pods.events.filter((e) => e.type === 'ADDED').length >= 3, { what: 'the pod watch to list' });
    await kubectlOk(['patch', '-n', ns, 'dla/roll', '--type=merge', '-p', '{"spec":{"app":{"image":"gcr.io/distroless/static-debian12:latest"}}}']);
    const after = await waitForApp(ns, 'roll', (d) => isReady(d) && d.status.templateHash !== before.status.templateHash, 'rolled out');
    await waitFor(async () => (await podsOf(ns, 'roll')).length === 3, { what: 'old pods to go' });
    pods.stop();
    apps.stop();

    const { minReady, maxLive } = podExtremes(pods.events, 3);
    expect(minReady).toBeGreaterThanOrEqual(3);
    expect(maxLive).toBeLessThanOrEqual(4);
    const final = await podsOf(ns, 'roll');
    expect(final.every((p) => p.metadata.labels!['distroless.dev/template-hash'] === after.status.templateHash)).toBe(true);
    const sawReconciling = apps.events.some(
      ({ object }) => object.status?.observedGeneration === after.metadata.generation && condition(object, 'Reconciling')?.status === 'True',
    );
    expect(sawReconciling).toBe(true);
  });

  it('with Recreate, removes every old Pod before creating a new one', async () => {
    const ns = await createNamespace('op-recreate');
    await apply(ns, app('rec', (m) => ((m.spec.replicas = 3), (m.spec.updateStrategy = 'Recreate'))));
    const before = await waitForApp(ns, 'rec', isReady, 'Ready');
    const pods = await recordWatch<ServedPod>(`/api/v1/namespaces/${ns}/pods`);
    const apps = await recordWatch<ServedApp>(`/apis/distroless.dev/v1alpha1/namespaces/${ns}/distrolessapps`);
    await waitFor(() => pods.events.filter((e) => e.type === 'ADDED').length >= 3, { what: 'the pod watch to list' });
    await kubectlOk(['patch', '-n', ns, 'dla/rec', '--type=merge', '-p', '{"spec":{"app":{"args":["--v=2"]}}}']);
    const after = await waitForApp(ns, 'rec', (d) => isReady(d) && d.status.templateHash !== before.status.templateHash, 'recreated');
    pods.stop();
    apps.stop();
    const present = new Map<string, string | undefined>();
    for (const { type, object } of pods.events) {
      const hash = object.metadata.labels!['distroless.dev/template-hash'];
      if (type === 'ADDED' && hash === after.status.templateHash) {
        expect([...present.values()].filter((h) => h === before.status.templateHash)).toEqual([]);
      }
      if (type === 'DELETED') present.delete(object.metadata.name);
      else present.set(object.metadata.name, hash);
    }
    expect(apps.events.some(({ object }) => condition(object, 'Reconciling')?.status === 'True')).toBe(true);
  });

  it('recreates a Pod deleted by hand and replaces a Failed one', async () => {
    const ns = await createNamespace('op-heal');
    await apply(ns, app('heal', (m) => (m.spec.replicas = 2)));
    const dla = await waitForApp(ns, 'heal', isReady, 'Ready');
    const name = `heal-${dla.status.templateHash}-0`;
    const first = await getJson<ServedPod>(['get', 'pod', '-n', ns, name]);
    await kubectlOk(['delete', 'pod', '-n', ns, name, '--wait=false']);
    const second = await waitFor(
      async () => {
        const pod = (await podsOf(ns, 'heal')).find((p) => p.metadata.name === name);
        return pod && pod.metadata.uid !== first.metadata.uid && podReady(pod) ? pod : undefined;
      },
      { what: 'the deleted pod to come back' },
    );
    await kubectlOk(['patch', 'pod', '-n', ns, name, '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Failed","reason":"Evicted"}}']);
    await waitFor(
      async () => {
        const pod = (await podsOf(ns, 'heal')).find((p) => p.metadata.name === name);
        return pod && pod.metadata.uid !== second.metadata.uid && pod.status.phase === 'Running' ? pod : undefined;
      },
      { what: 'the failed pod to be replaced' },
    );
    await waitForApp(ns, 'heal', isReady, 'Ready again');
  });

  it('leaves Pod removal to the garbage collector when the app is deleted', async () => {
    const ns = await createNamespace('op-gc');
    await apply(ns, app('gone', (m) => (m.spec.replicas = 2)));
    await waitForApp(ns, 'gone', isReady, 'Ready');
    await kubectlOk(['delete', '-n', ns, 'dla/gone', '--cascade=background']);
    await waitFor(async () => (await podsOf(ns, 'gone')).length === 0, { timeoutMs: 120_000, what: 'pods collected' });
  });

  it('reports a failing init container as Stalled, InitContainerFailed, with its exit code', async () => {
    const ns = await createNamespace('op-initfail');
    await apply(ns, app('broken'));
    const dla = await waitForApp(ns, 'broken', isReady, 'Ready');
    const name = `broken-${dla.status.templateHash}-0`;
    // What a kubelet reports when the init container keeps exiting 3: kwok plays
    // the kubelet, and this is the status it would write.
    const status = {
      status: {
        phase: 'Pending',
        conditions: [{ type: 'Ready', status: 'False' }, { type: 'Initialized', status: 'False' }],
        initContainerStatuses: [
          {
            name: 'init',
            image: 'alpine:3.20',
            imageID: '',
            ready: false,
            restartCount: 4,
            state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container' } },
            lastState: { terminated: { exitCode: 3, reason: 'Error' } },
          },
        ],
      },
    };
    await kubectlOk(['patch', 'pod', '-n', ns, name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
    const stalled = await waitForApp(ns, 'broken', (d) => condition(d, 'Stalled')?.status === 'True', 'Stalled');
    expect(condition(stalled, 'Stalled')).toMatchObject({ reason: 'InitContainerFailed', message: expect.stringContaining('exited with code 3 (Error)') });
    expect(condition(stalled, 'Stalled')!.message).toContain(name);
    expect(condition(stalled, 'Ready')).toMatchObject({ status: 'False', reason: 'InitContainerFailed' });
    const events = await getJson<List<CoreV1Event>>(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=broken,reason=InitContainerFailed']);
    expect(events.items.length).toBeGreaterThan(0);
    expect(events.items[0]!.type).toBe('Warning');
  });

  it('refuses a spec the schema admits but the operator does not, while other apps converge', async () => {
    const ns = await createNamespace('op-invalid');
    await apply(
      ns,
      app('bad', (m) => (m.spec.podTemplate = { labels: { 'distroless.dev/app': 'someone-else' } })),
      app('good', (m) => (m.spec.replicas = 2)),
    );
    const bad = await waitForApp(ns, 'bad', (d) => condition(d, 'Stalled')?.status === 'True', 'Stalled');
    expect(condition(bad, 'Stalled')).toMatchObject({ reason: 'InvalidSpec', message: expect.stringContaining('spec.podTemplate.labels[distroless.dev/app]: label distroless.dev/app is reserved') });
    expect(condition(bad, 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    await waitFor(async () => (await operator.metric('distroless_operator_apps', { state: 'stalled' })) >= 1, { what: 'the apps gauge to count a stalled app' });
    await waitForApp(ns, 'good', isReady, 'Ready');
    expect((await podsOf(ns, 'bad')).length).toBe(0);
    const events = await waitFor(async () => {
      const list = await getJson<List<CoreV1Event>>(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.name=bad,reason=InvalidSpec']);
      return list.items.length > 0 ? list.items : undefined;
    });
    expect(events[0]).toMatchObject({ type: 'Warning', message: expect.stringContaining('reserved') });
    // Fixing the spec clears the stall.
    await kubectlOk(['patch', '-n', ns, 'dla/bad', '--type=json', '-p', '[{"op":"remove","path":"/spec/podTemplate/labels"}]']);
    await waitForApp(ns, 'bad', isReady, 'Ready after the fix');
  });

  it('reports a Pod refused at admission (a ResourceQuota of no Pods) as Stalled, PodRejected, with the server message', async () => {
    // The generated Pods pass the restricted profile whatever the spec says, so a quota is what refuses one.
    const ns = await createNamespace('op-rejected', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    await kubectlOk(['create', 'quota', 'no-pods', '--hard=pods=0', '-n', ns]);
    await apply(ns, app('quota'));
    const dla = await waitForApp(ns, 'quota', (d) => condition(d, 'Stalled')?.status === 'True', 'Stalled');
    expect(condition(dla, 'Stalled')).toMatchObject({ reason: 'PodRejected', message: expect.stringContaining('exceeded quota: no-pods') });
    expect((await podsOf(ns, 'quota')).length).toBe(0);
  });

  it('never touches a foreign Pod that carries the app labels', async () => {
    const ns = await createNamespace('op-foreign');
    const foreign = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'mine-not-yours', labels: { 'distroless.dev/app': 'shared', 'app.kubernetes.io/managed-by': 'distroless-operator', 'distroless.dev/replica-index': '0' } },
      spec: { containers: [{ name: 'c', image: 'gcr.io/distroless/static-debian12:nonroot' }] },
    };
    await kubectlOk(['apply', '-n', ns, '-f', '-'], { input: yaml.dump(foreign) });
    const created = await getJson<ServedPod>(['get', 'pod', '-n', ns, 'mine-not-yours']);
    await apply(ns, app('shared', (m) => (m.spec.replicas = 1)));
    const dla = await waitForApp(ns, 'shared', isReady, 'Ready');
    expect(dla.status.replicas).toBe(1);
    const reconciles = await operator.metric('distroless_operator_reconcile_total');
    await waitFor(async () => (await operator.metric('distroless_operator_reconcile_total')) > reconciles + 2, { timeoutMs: 3 * RESYNC_MS + 10_000, what: 'a resync' });
    const still = await getJson<ServedPod>(['get', 'pod', '-n', ns, 'mine-not-yours']);
    expect(still.metadata.uid).toBe(created.metadata.uid);
    expect(still.metadata.deletionTimestamp).toBeUndefined();
  });

  it('costs zero writes for 50 converged apps, with Services and PodDisruptionBudgets, over full resyncs and across a restart', async () => {
    const ns = await createNamespace('op-idle');
    // Every tenth app has 2 replicas (so a PodDisruptionBudget) and a Service; the rest are plain.
    const withEverything = (m: Manifest) => ((m.spec.replicas = 2), (m.spec.service = { type: 'NodePort' }), (m.spec.rollingUpdate = { maxSurge: '25%' }));
    await apply(ns, ...Array.from({ length: 50 }, (_, i) => app(`idle-${i}`, i % 10 === 0 ? withEverything : undefined)));
    await waitFor(
      async () => {
        const list = await getJson<List<ServedApp>>(['get', 'dla', '-n', ns]);
        return list.items.length === 50 && list.items.every((d) => isReady(d) && isCurrent(d));
      },
      { timeoutMs: 180_000, what: '50 apps Ready' },
    );
    await waitFor(async () => (await operator.metric('distroless_operator_apps', { state: 'ready' })) >= 50, { what: 'the apps gauge to count 50 ready' });
    await waitFor(
      async () =>
        (await getJson<List<unknown>>(['get', 'services', '-n', ns])).items.length === 5 && (await getJson<List<unknown>>(['get', 'poddisruptionbudgets', '-n', ns])).items.length === 5,
      { what: 'five Services and five PodDisruptionBudgets' },
    );
    // Let the last status writes land, then count over two full resync periods.
    await new Promise((r) => setTimeout(r, 1000));
    const serverBefore = await appWritesAtServer();
    const operatorBefore = await operatorAppWrites(operator);
    const reconcilesBefore = await operator.metric('distroless_operator_reconcile_total');
    await waitFor(async () => (await operator.metric('distroless_operator_reconcile_total')) >= reconcilesBefore + 2 * 50, {
      timeoutMs: 3 * RESYNC_MS + 20_000,
      what: 'two full resyncs',
    });
    expect(await operatorAppWrites(operator)).toBe(operatorBefore);
    expect(await appWritesAtServer()).toBe(serverBefore);

    // A restart relists everything and reconciles every app once more: still nothing to write.
    expect(await operator.stop()).toBe(0);
    operator = await startOperator({ kubeconfig: operatorKubeconfig, args: operatorArgs });
    await waitFor(async () => (await operator.metric('distroless_operator_leader')) === 1, { timeoutMs: 60_000, what: 'the new process to lead' });
    await waitFor(async () => (await operator.metric('distroless_operator_reconcile_total')) >= 2 * 50, { timeoutMs: 3 * RESYNC_MS + 30_000, what: 'a full pass after restart' });
    expect(await operatorAppWrites(operator)).toBe(0);
    expect(await appWritesAtServer()).toBe(serverBefore);
    await kubectlOk(['delete', 'namespace', ns, '--wait=false']);
  });

  it('reconnects after kube-apiserver restarts, and converges what changed meanwhile', async () => {
    const ns = await createNamespace('op-outage');
    await apply(ns, app('steady'));
    await waitForApp(ns, 'steady', isReady, 'Ready');
    await controlPlane().restart('kube-apiserver', { downMs: 3000 });
    // Changed the moment the API is back, before the operator's watches have resumed.
    await kubectlOk(['patch', '-n', ns, 'dla/steady', '--type=merge', '-p', '{"spec":{"replicas":3}}']);
    await apply(ns, app('newcomer'));
    await waitForApp(ns, 'steady', (d) => isReady(d) && d.status.readyReplicas === 3, 'scaled to 3 after the outage');
    await waitForApp(ns, 'newcomer', isReady, 'created after the outage');
    expect(operator.child.exitCode).toBeNull();
    expect(operator.logs.some((l) => l.msg === 'list/watch failed; retrying')).toBe(true);
  });

  it('with two processes, only the Lease holder writes, and the other takes over when it stops', async () => {
    const follower = await startOperator({ kubeconfig: operatorKubeconfig, args: operatorArgs });
    try {
      expect(await follower.metric('distroless_operator_leader')).toBe(0);
      const ns = await createNamespace('op-leader');
      await apply(ns, app('one', (m) => (m.spec.replicas = 2)));
      await waitForApp(ns, 'one', isReady, 'Ready under the first leader');
      expect(await operatorAppWrites(follower)).toBe(0);
      expect(await follower.metric('distroless_operator_leader')).toBe(0);
      const leaderId = await leaseHolder();

      const leases = await recordWatch<V1Lease>(`/apis/coordination.k8s.io/v1/namespaces/${SYSTEM_NS}/leases`, { fieldSelector: `metadata.name=${LEASE}` });
      expect(await operator.stop()).toBe(0);
      await waitFor(async () => (await follower.metric('distroless_operator_leader')) === 1, { timeoutMs: 30_000, what: 'the follower to take over' });
      leases.stop();
      // The old leader released the Lease on its way out (holder emptied), so the
      // follower took a free Lease instead of waiting for it to expire.
      const holders = leases.events.map((e) => e.object.spec?.holderIdentity ?? '');
      expect(holders).toContain('');
      expect(holders.indexOf('')).toBeLessThan(holders.lastIndexOf(await leaseHolder()));
      expect(await leaseHolder()).not.toBe(leaderId);
      await apply(ns, app('two'));
      await waitForApp(ns, 'two', isReady, 'Ready under the new leader');
      expect(await operatorAppWrites(follower)).toBeGreaterThan(0);
    } finally {
      operator = follower;
    }
  });

  it('on SIGTERM finishes its work, releases the Lease and exits 0', async () => {
    expect(await leaseHolder()).not.toBe('');
    const code = await operator.stop('SIGTERM');
    expect(code).toBe(0);
    expect(await leaseHolder()).toBe('');
    const messages = operator.logs.map((l) => l.msg);
    expect(messages).toEqual(expect.arrayContaining(['signal received', 'stopping: finishing in-flight work', 'released the lease', 'stopped']));
    expect(messages.indexOf('stopped')).toBeGreaterThan(messages.indexOf('released the lease'));
    operator = await startOperator({ kubeconfig: operatorKubeconfig, args: operatorArgs });
  });
});
