import type { V1Pod } from '@kubernetes/client-node';
import { join } from 'node:path';
import { startOperator, type OperatorProcess } from '../../dev/operator-process.js';
import { waitFor } from '../../dev/wait-for.js';
import { createNamespace, getJson, kubectl, kubectlOk, run, serviceAccountKubeconfig, testKubeconfig } from '../integration/helpers.js';
import { condition, type List, type ServedApp } from '../integration/served.js';
import { recordWatch } from '../integration/watch.js';
import { kstatus } from '../gitops/kstatus.js';
import { argoHealth } from '../gitops/argocd.js';

// What happens to apps over time in real containers: an init step that really
// fails, a liveness probe that really fails, a rollout, and a debug container that
// looks into the shared volume.

const root = new URL('../../', import.meta.url).pathname;
const INIT_IMAGE = 'localhost:5000/debian-init:12';
const APP_IMAGE = 'localhost:5000/examples/go-static:1.0.0';
const SLOW_MS = 180_000;

let ns: string;
let operator: OperatorProcess | undefined;

/** A go-static app on the real node: the init step writes the server's config, the server serves it. */
function goStatic(name: string, options: { greeting?: string; initScript?: string; replicas?: number; liveness?: object; readiness?: object; progressDeadlineSeconds?: number } = {}): object {
  const script = options.initScript ?? `printf 'listen: ":8080"\\nlog_level: "info"\\ngreeting: "%s"\\n' "$GREETING" > /config/server.yaml`;
  return {
    apiVersion: 'distroless.dev/v1alpha1',
    kind: 'DistrolessApp',
    metadata: { name, namespace: ns },
    spec: {
      replicas: options.replicas ?? 1,
      ...(options.progressDeadlineSeconds ? { progressDeadlineSeconds: options.progressDeadlineSeconds } : {}),
      init: { image: INIT_IMAGE, command: ['sh', '-c', script], env: [{ name: 'GREETING', value: options.greeting ?? 'hello' }] },
      app: {
        image: APP_IMAGE,
        command: ['/app/server', '--config', '/config/server.yaml'],
        ports: [{ name: 'http', containerPort: 8080 }],
        readinessProbe: options.readiness ?? { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 1 },
        ...(options.liveness ? { livenessProbe: options.liveness } : {}),
      },
      shared: { mountPath: '/config', readOnlyInApp: true },
      podTemplate: {
        nodeSelector: { 'distroless.dev/real-node': 'true' },
        tolerations: [{ key: 'distroless.dev/real-node', operator: 'Exists', effect: 'NoSchedule' }],
      },
    },
  };
}

const apply = (manifest: object): Promise<string> => kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
const app = (name: string): Promise<ServedApp> => getJson<ServedApp>(['get', 'dla', name, '-n', ns, '-o', 'json']);
const pods = async (name: string): Promise<V1Pod[]> =>
  (await getJson<List<V1Pod>>(['get', 'pods', '-n', ns, '-l', `distroless.dev/app=${name}`, '-o', 'json'])).items;
const isReady = (p: V1Pod): boolean => !p.metadata?.deletionTimestamp && (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

async function until(name: string, type: string, reason: string): Promise<ServedApp> {
  return waitFor(
    async () => {
      const current = await app(name);
      const found = condition(current, type);
      return found?.status === 'True' && found.reason === reason && current;
    },
    { timeoutMs: SLOW_MS, intervalMs: 500, what: `${name} ${type}=True, reason ${reason}` },
  );
}

beforeAll(async () => {
  await kubectlOk(['apply', '--server-side', '-f', join(root, 'crds/distroless.dev_distrolessapps.yaml')]);
  ns = await createNamespace('e2e-lifecycle', { 'pod-security.kubernetes.io/enforce': 'restricted' });
  operator = await startOperator({ kubeconfig: await serviceAccountKubeconfig(testKubeconfig()), args: ['--leader-elect=false', '--namespaces', ns] });
});

afterAll(async () => {
  await operator?.stop();
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('apps over time on the real node', () => {
  it('an init step that exits 3 stalls the app with InitContainerFailed and the exit code', async () => {
    await apply(goStatic('init-fails', { initScript: 'echo migrating; exit 3' }));
    const stalled = await until('init-fails', 'Stalled', 'InitContainerFailed');
    expect(condition(stalled, 'Stalled')!.message).toMatch(/init container "init" exited with code 3/);
    expect(condition(stalled, 'Ready')!.status).toBe('False');
  }, SLOW_MS);

  it('a liveness probe that fails restarts the main container, and kubectl distroless status shows the restarts', async () => {
    await apply(goStatic('liveness-fails', { liveness: { tcpSocket: { port: 9999 }, periodSeconds: 1, failureThreshold: 1 } }));
    await waitFor(async () => ((await pods('liveness-fails'))[0]?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, {
      timeoutMs: SLOW_MS,
      intervalMs: 500,
      what: 'the kubelet to restart the main container',
    });
    const r = await run(join(root, 'node_modules/.bin/tsx'), [join(root, 'src/cli/kubectl-distroless.ts'), 'status', 'liveness-fails', '-n', ns, '--kubeconfig', testKubeconfig()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\(restarts [1-9]\d*\)/);
  }, SLOW_MS);

  it('rolls out a change with old Pods replaced only once new ones are Ready', async () => {
    await apply(goStatic('rollout', { replicas: 2, greeting: 'before' }));
    await until('rollout', 'Ready', 'Ready');
    const oldNames = new Set((await pods('rollout')).map((p) => p.metadata!.name));
    await apply(goStatic('rollout', { replicas: 2, greeting: 'after' }));
    let fewestReady = Infinity;
    const done = await waitFor(
      async () => {
        // The app first: Pods listed after a Ready status are at least as new as it.
        const current = await app('rollout');
        const now = await pods('rollout');
        fewestReady = Math.min(fewestReady, now.filter(isReady).length);
        return condition(current, 'Ready')?.status === 'True' && current.status?.observedGeneration === current.metadata.generation && now;
      },
      { timeoutMs: SLOW_MS, intervalMs: 200, what: 'the rollout to finish' },
    );
    expect(fewestReady).toBeGreaterThanOrEqual(2);
    expect(done.filter((p) => !p.metadata?.deletionTimestamp).every((p) => !oldNames.has(p.metadata!.name))).toBe(true);
    const pod = done.find(isReady)!;
    expect((await run('curl', ['-sS', '--max-time', '10', `http://${pod.status!.podIP}:8080/`])).stdout).toBe('after\n');
  }, SLOW_MS);

  it('a Pod that never becomes Ready stalls the app with ProgressDeadlineExceeded past progressDeadlineSeconds, a good spec makes it Ready, and kstatus and Argo CD agree throughout', async () => {
    const apps = await recordWatch<ServedApp>(`/apis/distroless.dev/v1alpha1/namespaces/${ns}/distrolessapps`, { fieldSelector: 'metadata.name=deadline' });
    // Nothing listens on 9999: the container runs, and the kubelet never calls it Ready.
    await apply(goStatic('deadline', { progressDeadlineSeconds: 10, readiness: { tcpSocket: { port: 9999 }, periodSeconds: 1 } }));
    const stalled = await until('deadline', 'Stalled', 'ProgressDeadlineExceeded');
    expect(condition(stalled, 'Stalled')!.message).toMatch(/the rollout made no progress for 10s \(progressDeadlineSeconds\)/);
    expect(condition(stalled, 'Ready')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    // Stalled at the deadline, not a resync later: the reconciler looks again when it passes.
    const late = Date.parse(condition(stalled, 'Stalled')!.lastTransitionTime!) - Date.parse(stalled.status!.lastProgressTime!);
    expect(late).toBeGreaterThanOrEqual(10_000);
    expect(late).toBeLessThanOrEqual(15_000);
    expect((await pods('deadline'))[0]!.status!.containerStatuses![0]!.state!.running).toBeDefined();

    await apply(goStatic('deadline', { progressDeadlineSeconds: 10 }));
    await until('deadline', 'Ready', 'Ready');
    const ready = await app('deadline');
    expect(condition(ready, 'Stalled')!.status).toBe('False');
    apps.stop();

    const versions = apps.events.filter((e) => e.type === 'ADDED' || e.type === 'MODIFIED').map((e) => e.object).filter((v) => v.status !== undefined);
    const kstatusSays = kstatus(versions);
    const same = { Current: 'Healthy', InProgress: 'Progressing', Failed: 'Degraded' } as Record<string, string>;
    versions.forEach((v, i) => expect(`${v.metadata.resourceVersion}: ${argoHealth(v).status}`).toBe(`${v.metadata.resourceVersion}: ${same[kstatusSays[i]!.status]}`));
    const told = kstatusSays.map((k) => k.status).filter((k, i, all) => i === 0 || all[i - 1] !== k);
    expect(told).toEqual(['InProgress', 'Failed', 'InProgress', 'Current']);
    expect(kstatusSays.find((k) => k.status === 'Failed')!.message).toContain('no progress for 10s');
  }, SLOW_MS);

  it("kubectl distroless debug starts a container as the app's UID that lists the shared volume and cannot write the app's root", async () => {
    await apply(goStatic('debugged'));
    await until('debugged', 'Ready', 'Ready');
    const r = await run(join(root, 'node_modules/.bin/tsx'), [
      join(root, 'src/cli/kubectl-distroless.ts'),
      'debug',
      'debugged',
      '-n',
      ns,
      '--kubeconfig',
      testKubeconfig(),
      '--image',
      INIT_IMAGE,
      '--no-attach',
      '--',
      'sh',
      '-c',
      // As the app's UID, through its root: reading the shared volume works, writing its root filesystem does not.
      'id -u; ls -n /proc/1/root/config; touch /proc/1/root/written-by-debugger 2>&1 || true',
    ]);
    expect(r.code).toBe(0);
    const [pod] = await pods('debugged');
    const debugger_ = await waitFor(
      async () => {
        const fresh = await getJson<V1Pod>(['get', 'pod', pod!.metadata!.name!, '-n', ns, '-o', 'json']);
        return fresh.status?.ephemeralContainerStatuses?.find((s) => s.state?.terminated);
      },
      { timeoutMs: SLOW_MS, intervalMs: 500, what: 'the debug container to run and finish' },
    );
    const logs = await kubectlOk(['logs', '-n', ns, pod!.metadata!.name!, '-c', debugger_.name]);
    expect(logs.split('\n')[0]).toBe('65532');
    expect(logs).toMatch(/server\.yaml/);
    expect(logs).toMatch(/written-by-debugger': Read-only file system/);
  }, SLOW_MS);
});
