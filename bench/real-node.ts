import type { V1Pod } from '@kubernetes/client-node';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { validateApp } from '../src/api/validate.js';
import { Informer } from '../src/kube/informer.js';
import { PODS } from '../src/kube/resources.js';
import { loadContext } from '../src/kube/context.js';
import { restClient } from '../src/kube/rest.js';
import { render } from '../src/render/pod.js';
import { createLogger } from '../src/runtime/log.js';
import { kubectlPath } from '../dev/controlplane/kubectl.js';
import { startControlPlane, type ControlPlane } from '../dev/controlplane/launcher.js';
import { readVersions } from '../dev/controlplane/versions.js';
import { parseFlags, positiveInteger } from '../dev/flags.js';
import { ensureImages } from '../dev/images/build.js';
import { startOperator, type OperatorProcess } from '../dev/operator-process.js';
import { serviceAccountKubeconfig } from '../dev/service-account.js';
import { waitFor } from '../dev/wait-for.js';

// `npm run bench:real-node [-- --apps=30]`: Pod start latency with real containers on
// the real node, create -> Ready, for an app the operator turns into a Pod against the
// same Pod applied with kubectl (the floor), one at a time and alternating, so both
// see the same machine. Every Pod pulls, runs an init step that writes the server's
// config, then the static server, Ready at its first readiness probe (period 1 s).
// Not a test: nothing asserts a time.

const root = new URL('../', import.meta.url).pathname;
const USAGE = 'npm run bench:real-node [-- --apps=N] [--out=DIR]';
const { values: flags } = parseFlags(USAGE, { options: { apps: { type: 'string', default: '30' }, out: { type: 'string', default: join(root, 'bench/results') } } });
const APPS = positiveInteger('apps', flags.apps, USAGE);
const NS = 'bench-real-node';
const say = (line: string) => process.stderr.write(`[bench:real-node] ${line}\n`);

/** When a Pod was seen to reach each step, on this process's clock, ms since its create was sent. */
interface Timeline {
  created: number;
  initDone: number;
  ready: number;
}

function app(name: string): Record<string, unknown> {
  return {
    apiVersion: 'distroless.dev/v1alpha1',
    kind: 'DistrolessApp',
    metadata: { name, namespace: NS },
    spec: {
      init: { image: 'localhost:5000/debian-init:12', command: ['sh', '-c', `printf 'listen: ":8080"\\ngreeting: "%s"\\n' "$HOSTNAME" > /config/server.yaml`] },
      app: {
        image: 'localhost:5000/examples/go-static:1.0.0',
        command: ['/app/server', '--config', '/config/server.yaml'],
        ports: [{ name: 'http', containerPort: 8080 }],
        readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 1 },
      },
      shared: { mountPath: '/config', readOnlyInApp: true },
      podTemplate: {
        nodeSelector: { 'distroless.dev/real-node': 'true' },
        tolerations: [{ key: 'distroless.dev/real-node', operator: 'Exists', effect: 'NoSchedule' }],
      },
    },
  };
}

/** The very Pod the operator makes of the app, standing alone (no owner), under another name. */
function floorPod(name: string): V1Pod {
  const parsed = validateApp(app(name));
  if (!parsed.ok) throw new Error(`the bench app is invalid: ${JSON.stringify(parsed.problems)}`);
  const pod = render(parsed.app).pods[0]!;
  return { ...pod, metadata: { ...pod.metadata, name } };
}

function kubectl(plane: ControlPlane, args: string[], input?: string): void {
  const r = spawnSync(kubectlPath(), ['--kubeconfig', plane.kubeconfigPath, ...args], { encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
}

/** Watches the namespace's Pods, noting when each first showed a finished init step and Ready. */
function podClock(plane: ControlPlane): { informer: Informer<V1Pod>; seen: Marks } {
  const informer = new Informer<V1Pod>({ name: 'bench', rest: restClient(loadContext({ file: plane.kubeconfigPath }), 'bench-real-node'), type: PODS, namespace: NS, log: createLogger('silent') });
  const seen: Marks = new Map();
  informer.subscribe((type, pod) => {
    if (type !== 'DELETED') mark(seen, pod, Date.now());
  });
  informer.start();
  return { informer, seen };
}

type Marks = Map<string, Partial<Record<keyof Timeline, number>>>;

const keyOf = (pod: V1Pod): string => pod.metadata?.labels?.['distroless.dev/app'] ?? pod.metadata?.name ?? '';
const initDone = (pod: V1Pod): boolean => pod.status?.initContainerStatuses?.[0]?.state?.terminated?.exitCode === 0;
const isReady = (pod: V1Pod): boolean => (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** Notes the first time the Pod was seen at all, with its init step done, and Ready. */
function mark(seen: Marks, pod: V1Pod, now: number): void {
  const marks = seen.get(keyOf(pod)) ?? {};
  marks.created ??= now;
  if (initDone(pod)) marks.initDone ??= now;
  if (isReady(pod)) marks.ready ??= now;
  seen.set(keyOf(pod), marks);
}

async function timeOne(plane: ControlPlane, seen: Marks, key: string, manifest: object): Promise<Timeline> {
  const sent = Date.now();
  kubectl(plane, ['apply', '-f', '-'], JSON.stringify(manifest));
  const marks = await waitFor(() => (seen.get(key)?.ready ? seen.get(key) : undefined), { timeoutMs: 120_000, intervalMs: 20, what: `${key} Ready` });
  return { created: marks.created! - sent, initDone: (marks.initDone ?? marks.ready!) - sent, ready: marks.ready! - sent };
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

function summary(timelines: Timeline[]): Record<string, number> {
  const ready = timelines.map((t) => t.ready);
  const median = (f: (t: Timeline) => number) => percentile(timelines.map(f), 50);
  return {
    p50ReadyMs: percentile(ready, 50),
    p99ReadyMs: percentile(ready, 99),
    maxReadyMs: Math.max(...ready),
    medianToPodMs: median((t) => t.created),
    medianPodToInitDoneMs: median((t) => t.initDone - t.created),
    medianInitDoneToReadyMs: median((t) => t.ready - t.initDone),
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const images = await ensureImages(['debian-init', 'examples/go-static', 'pause']);
  const plane = await startControlPlane({ name: 'bench-real-node', nodes: 1, realNode: true, log: (l) => say(l) });
  let operator: OperatorProcess | undefined;
  const clock = podClock(plane);
  try {
    kubectl(plane, ['apply', '--server-side', '-f', join(root, 'crds/distroless.dev_distrolessapps.yaml')]);
    kubectl(plane, ['wait', '--for=condition=Established', 'crd/distrolessapps.distroless.dev']);
    kubectl(plane, ['create', 'namespace', NS]);
    kubectl(plane, ['label', 'namespace', NS, 'pod-security.kubernetes.io/enforce=restricted']);
    await waitFor(() => spawnSync(kubectlPath(), ['--kubeconfig', plane.kubeconfigPath, 'get', 'sa', 'default', '-n', NS]).status === 0, { what: 'the default ServiceAccount' });
    operator = await startOperator({ kubeconfig: await serviceAccountKubeconfig(plane.kubeconfigPath), args: ['--leader-elect=false', '--namespaces', NS], logLevel: 'info', keepLogs: false });
    await clock.informer.synced;
    // One of each first, unmeasured: the first Pod of all pulls the images.
    await timeOne(plane, clock.seen, 'warm-op', app('warm-op'));
    await timeOne(plane, clock.seen, 'warm-floor', floorPod('warm-floor'));
    const viaOperator: Timeline[] = [];
    const floor: Timeline[] = [];
    for (let i = 0; i < APPS; i++) {
      viaOperator.push(await timeOne(plane, clock.seen, `op-${i}`, app(`op-${i}`)));
      floor.push(await timeOne(plane, clock.seen, `floor-${i}`, floorPod(`floor-${i}`)));
    }
    const result = {
      at: new Date().toISOString(),
      apps: APPS,
      machine: { cores: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, kubernetes: readVersions().kubernetes },
      images: images.filter((i) => i.name !== 'pause').map((i) => ({ ref: i.ref, digest: i.digest })),
      operator: summary(viaOperator),
      floor: summary(floor),
      ratioP50: +(percentile(viaOperator.map((t) => t.ready), 50) / percentile(floor.map((t) => t.ready), 50)).toFixed(2),
      ratioP99: +(percentile(viaOperator.map((t) => t.ready), 99) / percentile(floor.map((t) => t.ready), 99)).toFixed(2),
      runS: Math.round((Date.now() - started) / 1000),
    };
    mkdirSync(flags.out, { recursive: true });
    writeFileSync(join(flags.out, 'real-node.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    clock.informer.stop();
    await operator?.stop();
    await plane.stop();
  }
}

await main();
