import type { V1EndpointSlice, V1HorizontalPodAutoscaler, V1PodDisruptionBudget, V1Service } from '@kubernetes/client-node';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { validApp, type Manifest } from '../fixtures/invalid-apps.js';
import { createNamespace, getJson, kubectl, kubectlOk, serviceAccountKubeconfig } from './helpers.js';
import { waitFor } from '../../dev/wait-for.js';
import { startOperator, type OperatorProcess } from '../../dev/operator-process.js';
import { condition, isCurrent, podExtremes, podReady, type CurrentApp, type List, type ServedApp, type ServedPod } from './served.js';
import { recordWatch } from './watch.js';

// What a Deployment gives for free, on the real control plane with kwok nodes: the
// scale subresource (kubectl scale, a HorizontalPodAutoscaler), a PodDisruptionBudget
// the Eviction API enforces, the rollout's pace, minReadySeconds, and a Service whose
// EndpointSlices kube-controller-manager fills from the app's Ready Pods. The operator
// runs as its ServiceAccount: a verb missing from config/rbac fails here.

const root = new URL('../../', import.meta.url).pathname;
const TEST_NAMESPACES = ['wl-scale', 'wl-hpa', 'wl-pdb', 'wl-pace', 'wl-minready', 'wl-service', 'wl-taken'] as const;
type TestNamespace = (typeof TEST_NAMESPACES)[number];

const ns = {} as Record<TestNamespace, string>;
let operator: OperatorProcess;

const app = (name: string, change: (m: Manifest) => void = () => {}): Manifest => {
  const m = validApp(name);
  change(m);
  return m;
};

async function apply(namespace: string, ...manifests: object[]): Promise<void> {
  await kubectlOk(['apply', '-n', namespace, '-f', '-'], { input: manifests.map((m) => yaml.dump(m)).join('---\n') });
}

async function waitForApp(namespace: string, name: string, predicate: (dla: CurrentApp) => boolean, what: string): Promise<CurrentApp> {
  return waitFor(
    async () => {
      const dla = await getJson<ServedApp>(['get', '-n', namespace, `dla/${name}`]);
      return isCurrent(dla) && predicate(dla) ? dla : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 150, what: `${namespace}/${name}: ${what}` },
  );
}

const isReady = (dla: ServedApp) => condition(dla, 'Ready')?.status === 'True';
const readyAt = (replicas: number) => (dla: CurrentApp) => isReady(dla) && dla.status.replicas === replicas && dla.status.availableReplicas === replicas;

async function podsOf(namespace: string, name: string): Promise<ServedPod[]> {
  return (await getJson<List<ServedPod>>(['get', 'pods', '-n', namespace, '-l', `distroless.dev/app=${name}`])).items;
}

const readyTime = (pod: ServedPod) => Date.parse(String(pod.status.conditions!.find((c) => c.type === 'Ready')!.lastTransitionTime));

async function absent(namespace: string, what: string): Promise<boolean> {
  const r = await kubectl(['get', '-n', namespace, what]);
  if (r.code !== 0 && !r.stderr.includes('NotFound')) throw new Error(`kubectl get ${what}: ${r.stderr}`);
  return r.code !== 0;
}

/** The Eviction API, as kubectl drain calls it. */
const evict = (namespace: string, pod: string) =>
  kubectl(['create', '--raw', `/api/v1/namespaces/${namespace}/pods/${pod}/eviction`, '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace } }),
  });

beforeAll(async () => {
  await kubectlOk(['apply', '--server-side', '-f', join(root, 'crds/distroless.dev_distrolessapps.yaml')]);
  await kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', 'crd/distrolessapps.distroless.dev']);
  for (const name of TEST_NAMESPACES) ns[name] = await createNamespace(name);
  operator = await startOperator({
    kubeconfig: await serviceAccountKubeconfig(),
    args: ['--leader-elect=false', '--namespaces', Object.values(ns).join(','), '--resync', '4s', '--workers', '4'],
  });
});

afterAll(async () => {
  await operator?.stop();
  for (const name of Object.values(ns)) await kubectl(['delete', 'namespace', name, '--wait=false']);
});

describe('the scale subresource', () => {
  it('kubectl scale moves spec.replicas, and the status it reads back follows', async () => {
    const namespace = ns['wl-scale'];
    await apply(namespace, app('scaled'));
    await waitForApp(namespace, 'scaled', readyAt(1), 'Ready at 1');
    await kubectlOk(['scale', '-n', namespace, 'dla/scaled', '--replicas=3']);
    const up = await waitForApp(namespace, 'scaled', readyAt(3), 'Ready at 3');
    expect(up.spec.replicas).toBe(3);
    expect((await podsOf(namespace, 'scaled')).filter(podReady).length).toBe(3);
    // The scale subresource as the HorizontalPodAutoscaler and kubectl read it.
    const scale = JSON.parse(await kubectlOk(['get', '--raw', `/apis/distroless.dev/v1alpha1/namespaces/${namespace}/distrolessapps/scaled/scale`])) as {
      spec: { replicas: number };
      status: { replicas: number; selector: string };
    };
    expect(scale).toMatchObject({ spec: { replicas: 3 }, status: { replicas: 3, selector: 'app.kubernetes.io/managed-by=distroless-operator,distroless.dev/app=scaled' } });
    // The selector selects exactly the app's Pods.
    expect((await getJson<List<ServedPod>>(['get', 'pods', '-n', namespace, '-l', scale.status.selector])).items.length).toBe(3);
    await kubectlOk(['scale', '-n', namespace, 'dla/scaled', '--replicas=1', '--current-replicas=3']);
    await waitForApp(namespace, 'scaled', readyAt(1), 'Ready at 1 again');
    await waitFor(async () => (await podsOf(namespace, 'scaled')).length === 1, { what: 'surplus Pods to go' });
  });

  it('a HorizontalPodAutoscaler reads the scale and moves it to its minimum, without a metrics server', async () => {
    const namespace = ns['wl-hpa'];
    await apply(namespace, app('autoscaled'));
    await waitForApp(namespace, 'autoscaled', readyAt(1), 'Ready at 1');
    const hpa = {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'autoscaled' },
      spec: {
        scaleTargetRef: { apiVersion: 'distroless.dev/v1alpha1', kind: 'DistrolessApp', name: 'autoscaled' },
        minReplicas: 2,
        maxReplicas: 4,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }],
      },
    };
    await apply(namespace, hpa);
    // kube-controller-manager's HPA controller looks every 15 s; below its minimum it scales without metrics.
    const scaled = await waitForApp(namespace, 'autoscaled', readyAt(2), 'scaled to 2 by the HPA');
    expect(scaled.spec.replicas).toBe(2);
    const read = await waitFor(
      async () => {
        const h = await getJson<V1HorizontalPodAutoscaler & { status?: { currentReplicas?: number; desiredReplicas?: number } }>(['get', 'hpa', '-n', namespace, 'autoscaled']);
        return h.status?.currentReplicas === 2 ? h : undefined;
      },
      { timeoutMs: 90_000, what: 'the HPA status to read 2 current replicas' },
    );
    expect(read.status).toMatchObject({ currentReplicas: 2, desiredReplicas: 2 });
  });
});

describe('the PodDisruptionBudget', () => {
  it('is absent at 1 replica, admits one eviction of 2 and refuses the second with 429, and goes at 1 replica again', async () => {
    const namespace = ns['wl-pdb'];
    await apply(namespace, app('guarded'));
    await waitForApp(namespace, 'guarded', readyAt(1), 'Ready at 1');
    expect(await absent(namespace, 'pdb/guarded')).toBe(true);

    await kubectlOk(['scale', '-n', namespace, 'dla/guarded', '--replicas=2']);
    const dla = await waitForApp(namespace, 'guarded', readyAt(2), 'Ready at 2');
    const budget = await waitFor(
      async () => {
        const pdb = await kubectl(['get', 'pdb', '-n', namespace, 'guarded', '-o', 'json']);
        if (pdb.code !== 0) return undefined;
        const parsed = JSON.parse(pdb.stdout) as V1PodDisruptionBudget;
        // The disruption controller has counted the Pods: the Eviction API reads this.
        return parsed.status?.observedGeneration === parsed.metadata?.generation && parsed.status?.disruptionsAllowed === 1 ? parsed : undefined;
      },
      { what: 'the PodDisruptionBudget to allow one disruption' },
    );
    expect(budget.spec).toMatchObject({ minAvailable: 1, selector: { matchLabels: { 'distroless.dev/app': 'guarded' } } });
    expect(budget.metadata!.ownerReferences).toEqual([expect.objectContaining({ kind: 'DistrolessApp', uid: dla.metadata.uid, controller: true })]);

    const [first, second] = (await podsOf(namespace, 'guarded')).map((p) => p.metadata.name);
    // As kubectl drain does: cordon first, so the evicted Pod's replacement cannot start
    // elsewhere at once (kwok would have it Ready within the second).
    const nodes = (await kubectlOk(['get', 'nodes', '-l', 'type=kwok', '-o', 'name'])).trim().split('\n');
    await kubectlOk(['cordon', ...nodes]);
    try {
      const allowed = await evict(namespace, first!);
      expect(allowed.stderr).toBe('');
      expect(allowed.code).toBe(0);
      const refused = await evict(namespace, second!);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/TooManyRequests|Cannot evict pod as it would violate the pod's disruption budget/);
      expect((await getJson<ServedPod>(['get', 'pod', '-n', namespace, second!])).metadata.deletionTimestamp).toBeUndefined();
    } finally {
      await kubectlOk(['uncordon', ...nodes]);
    }
    // The operator brings the evicted replica back.
    await waitForApp(namespace, 'guarded', readyAt(2), 'Ready at 2 after the eviction');

    await kubectlOk(['scale', '-n', namespace, 'dla/guarded', '--replicas=1']);
    await waitFor(() => absent(namespace, 'pdb/guarded'), { what: 'the PodDisruptionBudget to go at 1 replica' });
    await waitForApp(namespace, 'guarded', readyAt(1), 'Ready at 1 again');
  });
});

describe('rollout control', () => {
  it('with maxUnavailable 1 and maxSurge 0, keeps replicas - 1 Ready and never more than replicas Pods throughout', async () => {
    const namespace = ns['wl-pace'];
    const paced = (args: string[] = []) =>
      app('paced', (m) => {
        m.spec.replicas = 3;
        m.spec.rollingUpdate = { maxUnavailable: 1, maxSurge: 0 };
        m.spec.app.args = args;
      });
    await apply(namespace, paced());
    const before = await waitForApp(namespace, 'paced', readyAt(3), 'Ready at 3');
    const pods = await recordWatch<ServedPod>(`/api/v1/namespaces/${namespace}/pods`);
    await waitFor(() => pods.events.filter((e) => e.type === 'ADDED').length >= 3, { what: 'the pod watch to list' });
    await apply(namespace, paced(['--v=2']));
    const after = await waitForApp(namespace, 'paced', (d) => readyAt(3)(d) && d.status.templateHash !== before.status.templateHash, 'rolled out');
    await waitFor(async () => (await podsOf(namespace, 'paced')).length === 3, { what: 'old Pods to go' });
    pods.stop();

    const { minReady, maxLive } = podExtremes(pods.events, 3);
    // Without surge, an old Pod has to go before a new one comes: the floor is used, and held.
    expect(minReady).toBe(2);
    expect(maxLive).toBe(3);
    expect((await podsOf(namespace, 'paced')).every((p) => p.metadata.labels!['distroless.dev/template-hash'] === after.status.templateHash)).toBe(true);
  });

  it('with minReadySeconds 5, counts a Pod available (and the app Ready) only 5 s after the Pod is Ready', async () => {
    const namespace = ns['wl-minready'];
    const apps = await recordWatch<ServedApp>(`/apis/distroless.dev/v1alpha1/namespaces/${namespace}/distrolessapps`);
    await apply(namespace, app('patient', (m) => (m.spec.minReadySeconds = 5)));
    const dla = await waitForApp(namespace, 'patient', readyAt(1), 'Ready and available');
    apps.stop();
    const [pod] = await podsOf(namespace, 'patient');
    const appReady = Date.parse(condition(dla, 'Ready')!.lastTransitionTime!);
    expect(appReady - readyTime(pod!)).toBeGreaterThanOrEqual(5000);
    expect(condition(dla, 'Ready')!.message).toBe('1 of 1 pods available');
    // In between, the status said the Pod was Ready but not yet available.
    expect(apps.events.some(({ object }) => object.status?.readyReplicas === 1 && object.status.availableReplicas === 0 && condition(object, 'Ready')?.status === 'False')).toBe(true);
  });
});

describe('the Service', () => {
  it("takes the app's ports, its EndpointSlices list exactly the Ready Pods, a type change keeps its cluster IP, and it goes with spec.service", async () => {
    const namespace = ns['wl-service'];
    await apply(
      namespace,
      app('served', (m) => ((m.spec.replicas = 2), (m.spec.service = {}))),
    );
    const dla = await waitForApp(namespace, 'served', readyAt(2), 'Ready at 2');
    const service = await getJson<V1Service>(['get', 'service', '-n', namespace, 'served']);
    expect(service.spec).toMatchObject({
      type: 'ClusterIP',
      selector: { 'app.kubernetes.io/managed-by': 'distroless-operator', 'distroless.dev/app': 'served' },
      ports: [{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }],
    });
    expect(service.metadata!.ownerReferences).toEqual([expect.objectContaining({ kind: 'DistrolessApp', uid: dla.metadata.uid, controller: true })]);

    const readyEndpoints = async (): Promise<string[]> => {
      const slices = await getJson<List<V1EndpointSlice>>(['get', 'endpointslices', '-n', namespace, '-l', 'kubernetes.io/service-name=served']);
      return slices.items.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready).flatMap((e) => e.addresses)).sort();
    };
    const readyPodIPs = async (): Promise<string[]> => (await podsOf(namespace, 'served')).filter(podReady).map((p) => p.status.podIP!).sort();
    const agree = async (what: string, count: number) => {
      const ips = await waitFor(
        async () => {
          const [endpoints, pods] = [await readyEndpoints(), await readyPodIPs()];
          return endpoints.length === count && JSON.stringify(endpoints) === JSON.stringify(pods) ? endpoints : undefined;
        },
        { what },
      );
      expect(ips).toHaveLength(count);
    };
    await agree('the EndpointSlices to list both Ready Pods', 2);

    // A Pod that stops being Ready (what a failing readiness probe makes the kubelet write) leaves the endpoints.
    const [pod] = await podsOf(namespace, 'served');
    await kubectlOk(['patch', 'pod', '-n', namespace, pod!.metadata.name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { conditions: [{ type: 'Ready', status: 'False' }] } })]);
    await agree('the EndpointSlices to drop the unready Pod', 1);
    expect(await readyEndpoints()).not.toContain(pod!.status.podIP);

    await kubectlOk(['patch', '-n', namespace, 'dla/served', '--type=merge', '-p', '{"spec":{"service":{"type":"NodePort"}}}']);
    const nodePort = await waitFor(
      async () => {
        const s = await getJson<V1Service>(['get', 'service', '-n', namespace, 'served']);
        return s.spec?.type === 'NodePort' ? s : undefined;
      },
      { what: 'the Service to become NodePort' },
    );
    expect(nodePort.metadata!.uid).toBe(service.metadata!.uid);
    expect(nodePort.spec!.clusterIP).toBe(service.spec!.clusterIP);
    expect(nodePort.spec!.ports![0]!.nodePort).toBeGreaterThan(0);

    await kubectlOk(['patch', '-n', namespace, 'dla/served', '--type=json', '-p', '[{"op":"remove","path":"/spec/service"}]']);
    await waitFor(() => absent(namespace, 'service/served'), { what: 'the Service to go with spec.service' });
  });

  it("stalls with ServiceNameTaken when another's Service holds the name, leaves it alone, and takes the name once it is free", async () => {
    const namespace = ns['wl-taken'];
    const foreign = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'taken', labels: { team: 'other' } }, spec: { selector: { team: 'other' }, ports: [{ port: 80 }] } };
    await apply(namespace, foreign);
    const before = await getJson<V1Service>(['get', 'service', '-n', namespace, 'taken']);
    await apply(namespace, app('taken', (m) => (m.spec.service = {})));
    const stalled = await waitForApp(namespace, 'taken', (d) => condition(d, 'Stalled')?.status === 'True', 'Stalled');
    expect(condition(stalled, 'Stalled')).toMatchObject({ reason: 'ServiceNameTaken', message: expect.stringContaining('taken') });
    // Its Pods still run: the name clash is the Service's alone.
    await waitFor(async () => (await podsOf(namespace, 'taken')).some(podReady), { what: 'the Pod to run' });
    const after = await getJson<V1Service>(['get', 'service', '-n', namespace, 'taken']);
    expect(after.metadata!.resourceVersion).toBe(before.metadata!.resourceVersion);

    await kubectlOk(['delete', 'service', '-n', namespace, 'taken']);
    const ready = await waitForApp(namespace, 'taken', readyAt(1), 'Ready once the name is free');
    const own = await getJson<V1Service>(['get', 'service', '-n', namespace, 'taken']);
    expect(own.metadata!.ownerReferences).toEqual([expect.objectContaining({ uid: ready.metadata.uid })]);
  });
});
