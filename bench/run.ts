import type { V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { load } from 'js-yaml';
import type { DistrolessApp, DistrolessAppStatus } from '../src/api/schema.js';
import { validateApp } from '../src/api/validate.js';
import { observe } from '../src/controller/observe.js';
import { isReady } from '../src/controller/pods.js';
import { computeStatus } from '../src/controller/status.js';
import { LABEL_APP, render } from '../src/render/pod.js';
import { createLogger } from '../src/runtime/log.js';
import type { KubeObject } from '../src/kube/cache.js';
import { Informer } from '../src/kube/informer.js';
import { PODS, type ResourceType } from '../src/kube/resources.js';
import { DISTROLESS_APPS } from '../src/controller/resources.js';
import type { StoredApp } from '../src/controller/reconciler.js';
import { loadContext } from '../src/kube/context.js';
import { restClient, type Rest } from '../src/kube/rest.js';
import { sleep } from '../src/kube/wait.js';
import { bundleOperator, OPERATOR_BUNDLE_DIR } from '../dev/bundle.js';
import { kubectlPath } from '../dev/controlplane/kubectl.js';
import { startControlPlane, type AuditEvent, type Component, type ControlPlane } from '../dev/controlplane/launcher.js';
import { readVersions } from '../dev/controlplane/versions.js';
import { parseFlags, positiveInteger, usageError } from '../dev/flags.js';
import { sumMetric } from '../dev/metrics.js';
import { startOperator, type OperatorProcess } from '../dev/operator-process.js';
import { validApp } from '../dev/sample-app.js';
import { serviceAccountKubeconfig } from '../dev/service-account.js';
import { waitFor } from '../dev/wait-for.js';
import { summarizeDir } from './profile.js';
import { captureApiserverProfile, summarizeApiserverProfile } from './apiserver-profile.js';

// `npm run bench [-- --sizes=100,1000,5000]`: how the operator behaves as work
// grows, beside a floor (a bare client creating the same Pods), a writes floor
// (a bare client sending the operator's writes: each app, its Pod, two status
// patches) and a peer (kube-controller-manager converging ReplicaSets of the
// same Pods), each on a
// fresh local control plane, so no run inherits another's load. Results go to
// bench/results/latest.{json,md}. Not part of the test suite: nothing here
// asserts a time.

const root = new URL('../', import.meta.url).pathname;
const PARTS = ['operator', 'floor', 'writes-floor', 'peer', 'latency'] as const;
const USAGE = `npm run bench [-- --sizes=N,...] [--parts=${PARTS.join(',')}] [--repeat=R] [--crd-without-rules] [--cpu-profile] [--apiserver-profile=SECONDS] [--node-options=FLAGS] [--out=DIR]`;
const { values: flags } = parseFlags(USAGE, {
  options: {
    sizes: { type: 'string', default: '100,1000,5000' },
    parts: { type: 'string', default: PARTS.join(',') },
    // Each size this many times, each run on its own control plane, so the result gives the spread.
    repeat: { type: 'string', default: '1' },
    // An experiment, not a configuration to run: the CRD without its x-kubernetes-validations,
    // to measure what its CEL rules cost the API server (they run on every status write too).
    'crd-without-rules': { type: 'boolean', default: false },
    // The operator runs with --cpu-prof; its profile is summarised into the result.
    'cpu-profile': { type: 'boolean', default: false },
    // kube-apiserver's CPU profile over the first SECONDS of the operator's convergence, saved and summarised.
    'apiserver-profile': { type: 'string', default: '' },
    // Node and V8 flags for the operator's process only (say, --max-semi-space-size=1), to weigh them against a run without.
    'node-options': { type: 'string', default: '' },
    out: { type: 'string', default: join(root, 'bench/results') },
  },
});
const SIZES = flags.sizes.split(',').map((n) => positiveInteger('sizes', n, USAGE));
const parts = new Set(flags.parts.split(','));
for (const p of parts) if (!(PARTS as readonly string[]).includes(p)) usageError(`--parts: "${p}" is not one of ${PARTS.join(', ')}`, USAGE);
const REPEAT = positiveInteger('repeat', flags.repeat, USAGE);
const APISERVER_PROFILE_S = flags['apiserver-profile'] ? positiveInteger('apiserver-profile', flags['apiserver-profile'], USAGE) : 0;
const CONCURRENCY = 4; // the operator's default workers; every client here creates at this concurrency
const RESYNC_S = 15;
const NS = 'bench';
const say = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const silent = createLogger('silent');

const app = (i: number) => ({ ...validApp(`app-${i}`), metadata: { name: `app-${i}`, namespace: NS } });
const podShape = (() => {
  const parsed = validateApp(validApp('shape'));
  if (!parsed.ok) throw new Error('the bench app is invalid');
  return render(parsed.app).pods[0]!;
})();

function clientOf(plane: ControlPlane): Rest {
  return restClient(loadContext({ file: plane.kubeconfigPath }), 'bench', 120_000);
}

async function inParallel(n: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < n) await work(next++);
  }));
}

const SERVICE_ACCOUNTS: ResourceType = { group: '', version: 'v1', plural: 'serviceaccounts' };
const REPLICA_SETS: ResourceType = { group: 'apps', version: 'v1', plural: 'replicasets' };
const CRDS: ResourceType = { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions' };

/**
 * Resolves once `count` objects of the bench namespace's collection satisfy `done`,
 * watching rather than polling; `onAdd` sees each new object, `onDone` each object
 * the moment it first satisfies `done`.
 */
function waitAll<T extends KubeObject>(
  rest: Rest,
  type: ResourceType,
  count: number,
  done: (o: T) => boolean,
  { onAdd, onDone }: { onAdd?: (o: T) => void; onDone?: (o: T) => void } = {},
): { synced: Promise<void>; until: Promise<void>; stop: () => void } {
  const ok = new Set<string>();
  let resolve!: () => void;
  const until = new Promise<void>((r) => (resolve = r));
  const informer = new Informer<T>({ name: 'bench', rest, type, namespace: NS, log: silent });
  informer.subscribe((change, o) => {
    const key = o.metadata?.name ?? '';
    if (change === 'ADDED') onAdd?.(o);
    if (change !== 'DELETED' && done(o)) {
      if (!ok.has(key)) onDone?.(o);
      ok.add(key);
    } else ok.delete(key);
    if (ok.size >= count) resolve();
  });
  informer.start();
  return { synced: informer.synced, until, stop: () => informer.stop() };
}

/** CPU seconds a process has used, from /proc. */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

const COMPONENTS: Component[] = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'];
function cpuOf(plane: ControlPlane, operator?: ChildProcess): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of COMPONENTS) out[c] = cpuSeconds(plane.state.components[c].pid);
  if (operator) out.operator = cpuSeconds(operator.pid);
  return out;
}
const cpuDelta = (a: Record<string, number>, b: Record<string, number>) => Object.fromEntries(Object.keys(b).map((k) => [k, +(b[k]! - (a[k] ?? 0)).toFixed(1)]));

const CRD_FILE = join(root, 'crds/distroless.dev_distrolessapps.yaml');

/** The CRD the runs install: the project's, or with --crd-without-rules a copy with no CEL rule, in the control plane's directory. */
function benchCrd(dir: string): string {
  if (!flags['crd-without-rules']) return CRD_FILE;
  const withoutRules = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(withoutRules);
    if (!node || typeof node !== 'object') return node;
    return Object.fromEntries(Object.entries(node).filter(([k]) => k !== 'x-kubernetes-validations').map(([k, v]) => [k, withoutRules(v)]));
  };
  const file = join(dir, 'crd-without-rules.json');
  writeFileSync(file, JSON.stringify(withoutRules(load(readFileSync(CRD_FILE, 'utf8')))));
  return file;
}

async function freshPlane(n: number, controllerManagerArgs: string[] = []): Promise<{ plane: ControlPlane; rest: Rest }> {
  const plane = await startControlPlane({ name: 'bench', nodes: Math.max(1, Math.ceil(n / 800)), controllerManagerArgs, apiserverProfiling: APISERVER_PROFILE_S > 0 });
  const kubectl = (args: string[]) => {
    const r = spawnSync(kubectlPath(), ['--kubeconfig', plane.kubeconfigPath, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  };
  kubectl(['apply', '--server-side', '-f', benchCrd(plane.dir)]);
  kubectl(['create', 'namespace', NS]);
  const rest = clientOf(plane);
  await pastNewCrdGrace(rest);
  await waitFor(() => rest.request('GET', { type: SERVICE_ACCOUNTS, namespace: NS, name: 'default' }).then(() => true), { what: 'the default ServiceAccount in the bench namespace' });
  return { plane, rest };
}

/**
 * kube-apiserver holds every create of a custom resource for 2 s while its CRD
 * has been Established for less than 2 s (its HA guard in the CRD handler). A
 * run that starts inside that window measures the pause, not the operator, so
 * no clock starts until the CRD is older than that.
 */
async function pastNewCrdGrace(rest: Rest): Promise<void> {
  // Polled rather than `kubectl wait`, which fails outright on a CRD whose status the server has not written yet.
  let established: string | undefined;
  await waitFor(
    async () => {
      const crd = (await rest.request('GET', { type: CRDS, name: 'distrolessapps.distroless.dev' })) as {
        status?: { conditions?: { type: string; status: string; lastTransitionTime?: string }[] };
      };
      established = crd.status?.conditions?.find((c) => c.type === 'Established' && c.status === 'True')?.lastTransitionTime;
      return established !== undefined;
    },
    { what: 'the DistrolessApp CRD to be Established' },
  );
  // The server measures from the same whole-second lastTransitionTime; the margin covers rounding between clocks.
  const graceEnds = Date.parse(established!) + 2_000 + 100;
  await sleep(Math.max(0, graceEnds - Date.now()));
}

/** The operator, compiled, authenticated as its own ServiceAccount so the API server's audit log records its writes. */
async function startBenchOperator(plane: ControlPlane, kubeconfig: string, profileDir?: string): Promise<OperatorProcess> {
  return startOperator({
    kubeconfig,
    compiled: true,
    logLevel: 'warn',
    args: ['--leader-elect=false', `--resync=${RESYNC_S}s`, `--workers=${CONCURRENCY}`],
    env: { NODE_OPTIONS: [flags['node-options'], profileDir ? `--cpu-prof --cpu-prof-dir=${profileDir}` : ''].filter(Boolean).join(' ') },
  });
}
const metricsOf = async (op: OperatorProcess) => (await fetch(op.metricsUrl)).text();

/**
 * The operator's writes the API server received in [from, to), from its audit
 * log. Counted there rather than from the operator's own metric: the bench can
 * see an app turn Ready on its watch before the operator has read the response
 * to that status patch, so a metric read at that moment is one write short.
 */
function auditedWrites(plane: ControlPlane, from: number, to = Infinity): AuditEvent[] {
  return plane.operatorWrites().filter((e) => {
    const at = Date.parse(e.requestReceivedTimestamp);
    return at >= from && at < to;
  });
}
/** `patch distrolessapps/status bench/app-7` */
const describeWrite = (e: AuditEvent) => `${e.verb} ${e.objectRef?.resource}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''} ${e.objectRef?.namespace}/${e.objectRef?.name}`;
const VERBS = ['create', 'patch', 'update', 'delete'] as const;
const countByVerb = (writes: AuditEvent[]) => Object.fromEntries(VERBS.map((verb) => [verb, writes.filter((e) => e.verb === verb).length]));
/** How long an operator may take to reconcile every app once (5,000 took 4.4 s in the latest run), so a dead or stuck one fails the run instead of hanging it. */
const catchUpLimitMs = (n: number) => 60_000 + 20 * n;
const isReadyApp = (a: StoredApp) => a.status?.observedGeneration === a.metadata.generation && a.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

async function operatorRun(n: number) {
  const { plane, rest } = await freshPlane(n);
  try {
    const kubeconfig = await serviceAccountKubeconfig(plane.kubeconfigPath);
    const profileDir = flags['cpu-profile'] ? mkdtempSync(join(tmpdir(), 'dlo-bench-prof-')) : undefined;
    const op = await startBenchOperator(plane, kubeconfig, profileDir);
    const cpu0 = cpuOf(plane, op.child);
    let peakRss = 0;
    let peakHeap = 0;
    const sample = setInterval(async () => {
      const m = await metricsOf(op).catch(() => '');
      peakRss = Math.max(peakRss, sumMetric(m, 'process_resident_memory_bytes'));
      peakHeap = Math.max(peakHeap, sumMetric(m, 'nodejs_heap_size_used_bytes'));
    }, 500);
    const ready = waitAll<StoredApp>(rest, DISTROLESS_APPS, n, isReadyApp);
    await ready.synced;
    // Idle: ready, caches synced, no app yet; the baseline the per-app cost is counted from.
    const idleRss = sumMetric(await metricsOf(op), 'process_resident_memory_bytes');
    const started = Date.now();
    const apiserverProfile = APISERVER_PROFILE_S > 0 ? join(flags.out, `apiserver-N${n}.pprof`) : undefined;
    const profiling = apiserverProfile ? captureApiserverProfile(plane.kubeconfigPath, APISERVER_PROFILE_S, apiserverProfile) : undefined;
    await inParallel(n, (i) => rest.request('POST', { type: DISTROLESS_APPS, namespace: NS }, { body: app(i) }));
    await ready.until;
    await profiling;
    const convergeS = (Date.now() - started) / 1000;
    ready.stop();
    clearInterval(sample);
    const cpu = cpuDelta(cpu0, cpuOf(plane, op.child));
    const text = await metricsOf(op);
    const rss = sumMetric(text, 'process_resident_memory_bytes');
    const heap = sumMetric(text, 'nodejs_heap_size_used_bytes');
    const heapTotal = sumMetric(text, 'nodejs_heap_size_total_bytes');
    const external = sumMetric(text, 'nodejs_external_memory_bytes');
    const connections = sumMetric(text, 'distroless_operator_api_connections_total');

    // Idle: two full resync periods with everything converged. The writes are
    // named from the API server's audit log, so a non-zero count says what it was.
    const reconciles0 = sumMetric(text, 'distroless_operator_reconcile_total');
    const idleStart = Date.now();
    await waitFor(
      async () => sumMetric(await metricsOf(op), 'distroless_operator_reconcile_total') >= reconciles0 + 2 * n && Date.now() - idleStart > 2 * RESYNC_S * 1000,
      { intervalMs: 500, timeoutMs: 2 * RESYNC_S * 1000 + catchUpLimitMs(n), what: `two resyncs of ${n} converged apps` },
    );
    const idleEnd = Date.now();
    // Stopped first, so every write it sent is complete and in the audit log.
    await op.stop();
    const convergeWrites = auditedWrites(plane, started, idleStart);
    const idleWrites = auditedWrites(plane, idleStart, idleEnd).map(describeWrite);

    // Restart: from process start to every app reconciled once by the new process.
    const cpuProfile = profileDir ? summarizeDir(profileDir) : undefined;
    const restartAt = Date.now();
    const again = await startBenchOperator(plane, kubeconfig);
    await waitFor(
      async () => {
        const text = await metricsOf(again);
        return sumMetric(text, 'distroless_operator_reconcile_total') >= n && sumMetric(text, 'distroless_operator_workqueue_depth') === 0;
      },
      { timeoutMs: catchUpLimitMs(n), what: `the restarted operator to reconcile ${n} apps` },
    );
    const restartS = (Date.now() - restartAt) / 1000;
    await again.stop();
    const restartWrites = auditedWrites(plane, restartAt).map(describeWrite);
    return {
      convergeS,
      writesPerApp: Object.fromEntries(Object.entries(countByVerb(convergeWrites)).map(([k, v]) => [k, +(v / n).toFixed(2)])),
      writeQps: +(convergeWrites.length / convergeS).toFixed(1),
      apiConnections: connections,
      idleWrites,
      idleRssMiB: Math.round(idleRss / 2 ** 20),
      rssMiB: Math.round(rss / 2 ** 20),
      /** What each converged app adds to the idle process, in bytes. */
      rssBytesPerApp: Math.round((rss - idleRss) / n),
      heapUsedMiB: Math.round(heap / 2 ** 20),
      heapTotalMiB: Math.round(heapTotal / 2 ** 20),
      externalMiB: Math.round(external / 2 ** 20),
      // Sampled every 500 ms while converging, and once at the end (a short run may fall between samples).
      peakRssMiB: Math.round(Math.max(peakRss, rss) / 2 ** 20),
      peakHeapUsedMiB: Math.round(Math.max(peakHeap, heap) / 2 ** 20),
      restartS,
      restartWrites,
      cpuSeconds: cpu,
      ...(cpuProfile ? { cpuProfile } : {}),
      ...(apiserverProfile ? { apiserverProfile: { file: apiserverProfile, seconds: APISERVER_PROFILE_S, shares: summarizeApiserverProfile(apiserverProfile) } } : {}),
    };
  } finally {
    await plane.stop();
  }
}

async function floorRun(n: number) {
  const { plane, rest } = await freshPlane(n);
  try {
    const cpu0 = cpuOf(plane);
    const running = waitAll<V1Pod>(rest, PODS, n, (p) => p.status?.phase === 'Running');
    await running.synced;
    const started = Date.now();
    await inParallel(n, (i) =>
      rest.request('POST', { type: PODS, namespace: NS }, { body: { ...podShape, metadata: { ...podShape.metadata, name: `pod-${i}`, namespace: NS } } }),
    );
    await running.until;
    running.stop();
    return { convergeS: (Date.now() - started) / 1000, cpuSeconds: cpuDelta(cpu0, cpuOf(plane)) };
  } finally {
    await plane.stop();
  }
}

/**
 * The operator's writes without the operator: a bare client creates each app, its
 * Pod, and patches the app's status twice, as the operator does (Reconciling once
 * the Pod is created, Ready once it is), with statuses computed by the operator's own
 * pure code, and no cache, queue or resync. What kube-apiserver spends here is the
 * least the operator's result costs it; the operator's run against this says what
 * the operator adds.
 */
async function writesFloorRun(n: number) {
  const { plane, rest } = await freshPlane(n);
  try {
    const cpu0 = cpuOf(plane);
    // An app's Ready patch goes once both are known: its Reconciling patch sent (and
    // answered, so Ready is the last write) and its Pod Ready, whichever comes first.
    const reconciling = new Map<string, { app: DistrolessApp; status: DistrolessAppStatus; sent: Promise<unknown> }>();
    const readyPods = new Map<string, V1Pod>();
    // A Ready patch that fails ends the run instead of leaving it waiting for that app.
    let patchFailed!: (err: unknown) => void;
    const failure = new Promise<never>((_, reject) => (patchFailed = reject));
    const patchStatus = (name: string, status: DistrolessAppStatus) =>
      rest.request('PATCH', { type: DISTROLESS_APPS, namespace: NS, name, subresource: 'status' }, { body: { status }, contentType: 'application/merge-patch+json' });
    const patchReadyWhenBoth = (name: string) => {
      const [known, pod] = [reconciling.get(name), readyPods.get(name)];
      if (!known || !pod) return;
      void known.sent
        .then(() => {
          const now = new Date();
          return patchStatus(name, computeStatus(observe(known.app, [pod], now), { created: 0 }, known.status, now));
        })
        .catch(patchFailed);
    };
    const onDone = (pod: V1Pod) => {
      const name = pod.metadata?.labels?.[LABEL_APP] ?? '';
      readyPods.set(name, pod);
      patchReadyWhenBoth(name);
    };
    const pods = waitAll<V1Pod>(rest, PODS, n, isReady, { onDone });
    const ready = waitAll<StoredApp>(rest, DISTROLESS_APPS, n, isReadyApp);
    await Promise.all([pods.synced, ready.synced]);
    const started = Date.now();
    await inParallel(n, async (i) => {
      const stored = (await rest.request('POST', { type: DISTROLESS_APPS, namespace: NS }, { body: app(i) })) as StoredApp;
      const parsed = validateApp({ ...stored, status: undefined });
      if (!parsed.ok) throw new Error(`the bench app ${stored.metadata.name} is invalid`);
      await rest.request('POST', { type: PODS, namespace: NS }, { body: render(parsed.app).pods[0] });
      const now = new Date();
      const status = computeStatus(observe(parsed.app, [], now), { created: 1 }, undefined, now);
      const sent = patchStatus(stored.metadata.name, status);
      reconciling.set(stored.metadata.name, { app: parsed.app, status, sent });
      patchReadyWhenBoth(stored.metadata.name);
      await sent;
    });
    await Promise.race([ready.until, failure]);
    pods.stop();
    ready.stop();
    return { convergeS: (Date.now() - started) / 1000, cpuSeconds: cpuDelta(cpu0, cpuOf(plane)) };
  } finally {
    await plane.stop();
  }
}

async function peerRun(n: number, qps?: number) {
  const args = qps ? [`--kube-api-qps=${qps}`, `--kube-api-burst=${Math.ceil(qps * 1.5)}`] : [];
  const { plane, rest } = await freshPlane(n, args);
  try {
    const cpu0 = cpuOf(plane);
    const ready = waitAll<V1ReplicaSet>(rest, REPLICA_SETS, n, (rs) => rs.status?.readyReplicas === 1);
    await ready.synced;
    const started = Date.now();
    const labels = (i: number) => ({ bench: `rs-${i}` });
    await inParallel(n, (i) =>
      rest.request('POST', { type: REPLICA_SETS, namespace: NS }, {
        body: {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: { name: `rs-${i}`, namespace: NS },
          spec: { replicas: 1, selector: { matchLabels: labels(i) }, template: { metadata: { labels: labels(i) }, spec: podShape.spec } },
        },
      }),
    );
    await ready.until;
    ready.stop();
    return { convergeS: (Date.now() - started) / 1000, qps: qps ?? 'default (20, burst 30)', cpuSeconds: cpuDelta(cpu0, cpuOf(plane)) };
  } finally {
    await plane.stop();
  }
}

/** p50, p90, p99 and max of a list of milliseconds. */
function percentiles(ms: number[]) {
  const sorted = [...ms].sort((x, y) => x - y);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
  return { p50Ms: at(50), p90Ms: at(90), p99Ms: at(99), maxMs: sorted.at(-1)! };
}

/**
 * apply-to-Pod-created at a steady 20 apps a second, for 15 seconds. Timed on
 * the API server's clock, from the audit log: from the moment an app is stored
 * to the moment the operator's create of its Pod completed. Also from the
 * moment the bench sent the app, which adds the load generator's own request.
 */
async function latencyRun() {
  const APPS = 300;
  const { plane, rest } = await freshPlane(APPS);
  try {
    const op = await startBenchOperator(plane, await serviceAccountKubeconfig(plane.kubeconfigPath));
    const sentAt = new Map<string, number>();
    const appOfPod = new Map<string, string>();
    const pods = waitAll<V1Pod>(rest, PODS, APPS, () => true, { onAdd: (p) => {
      const appName = p.metadata?.labels?.[LABEL_APP];
      if (appName) appOfPod.set(p.metadata!.name!, appName);
    } });
    await pods.synced;
    const start = Date.now();
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < APPS; i++) {
      await sleep(Math.max(0, start + i * 50 - Date.now()));
      const a = app(i);
      sentAt.set(a.metadata.name, Date.now());
      sends.push(rest.request('POST', { type: DISTROLESS_APPS, namespace: NS }, { body: a }));
    }
    await Promise.all(sends);
    await pods.until;
    pods.stop();
    await op.stop();

    const audited = plane.auditedWrites().filter((e) => e.verb === 'create' && e.objectRef?.namespace === NS);
    const storedAt = new Map(audited.filter((e) => e.objectRef?.resource === 'distrolessapps').map((e) => [e.objectRef!.name!, Date.parse(e.stageTimestamp)]));
    const podAt = new Map(audited.filter((e) => e.objectRef?.resource === 'pods').map((e) => [appOfPod.get(e.objectRef!.name!) ?? '', Date.parse(e.stageTimestamp)]));
    const rows = [...sentAt].map(([name, sent]) => ({ app: name, stored: storedAt.get(name), sent, pod: podAt.get(name) }));
    const missing = rows.filter((r) => r.stored === undefined || r.pod === undefined);
    if (missing.length) throw new Error(`the audit log lacks the app or Pod create of ${missing.length} apps, such as ${missing[0]!.app}`);
    const storedToPod = rows.map((r) => ({ app: r.app, ms: r.pod! - r.stored! }));
    return {
      apps: APPS,
      ratePerS: 20,
      ...percentiles(storedToPod.map((r) => r.ms)),
      // The slowest apps by name (app-N was sent N/20 s in): a tail bunched at one moment is a stall, not a spread.
      slowest: storedToPod.sort((x, y) => y.ms - x.ms).slice(0, 5),
      fromSend: percentiles(rows.map((r) => r.pod! - r.sent)),
    };
  } finally {
    await plane.stop();
  }
}

function machine() {
  const v = readVersions();
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    kubernetes: v.kubernetes,
    etcd: v.etcd,
    kwok: v.kwok,
    date: new Date().toISOString(),
    operatorNodeOptions: flags['node-options'],
    crdWithoutRules: flags['crd-without-rules'],
  };
}

const seconds = (run?: { convergeS: number }) => (run ? run.convergeS.toFixed(1) : '–');
const ratio = (a?: { convergeS: number }, b?: { convergeS: number }) => (a && b ? (a.convergeS / b.convergeS).toFixed(2) : '–');

type OperatorRun = Awaited<ReturnType<typeof operatorRun>>;
type PeerRun = Awaited<ReturnType<typeof peerRun>>;

/** The runs at one size N; each part is there when it was asked for and has finished. */
interface SizeRow {
  n: number;
  /** Which of --repeat runs at this size, from 1. */
  run: number;
  operator?: OperatorRun;
  floor?: Awaited<ReturnType<typeof floorRun>>;
  /** The operator's writes sent by a bare client. */
  writesFloor?: Awaited<ReturnType<typeof writesFloorRun>>;
  peer?: PeerRun;
  /** The peer limited to the operator's write rate. */
  peerSameQps?: PeerRun;
}

interface BenchResult {
  machine: ReturnType<typeof machine>;
  sizes: SizeRow[];
  latency?: Awaited<ReturnType<typeof latencyRun>>;
}

function markdown(result: BenchResult): string {
  const lines = [...machineLines(result.machine), ...sizeTable(result.sizes), ...spreadLines(result.sizes), ...latencyLines(result.latency), ...operatorDetails(result.sizes)];
  return `${lines.join('\n')}\n`;
}

function machineLines(m: BenchResult['machine']): string[] {
  return [
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB; Node ${m.node}; Kubernetes ${m.kubernetes}, etcd ${m.etcd}, kwok ${m.kwok}; ${m.date}.`,
    `Every run on a fresh local control plane; clients create at concurrency ${CONCURRENCY}; the operator runs as its image ships it (the esbuild bundle, dist/bundle), ${CONCURRENCY} workers, resync ${RESYNC_S} s${m.operatorNodeOptions ? `, NODE_OPTIONS=${m.operatorNodeOptions}` : ''}${m.crdWithoutRules ? '; the CRD without its CEL rules (an experiment: --crd-without-rules)' : ''}.`,
  ];
}

function sizeTable(sizes: SizeRow[]): string[] {
  const measured = sizes.filter((r) => r.operator || r.floor || r.writesFloor || r.peer);
  if (!measured.length) return [];
  return [
    '',
    "| N | operator s | floor s | writes floor s | peer s (default QPS) | peer s (operator's QPS) | operator / floor | operator / writes floor | operator / peer | operator / peer at same QPS | writes per app | idle writes | RSS MiB (peak) | heap MiB (peak) | restart s |",
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...measured.map(sizeTableRow),
  ];
}

function sizeTableRow(r: SizeRow): string {
  const o = r.operator;
  const same = r.peerSameQps ? `${seconds(r.peerSameQps)} (${r.peerSameQps.qps}/s)` : '–';
  const cells = [REPEAT > 1 ? `${r.n} #${r.run}` : r.n, seconds(o), seconds(r.floor), seconds(r.writesFloor), seconds(r.peer), same, ratio(o, r.floor), ratio(o, r.writesFloor), ratio(o, r.peer), ratio(o, r.peerSameQps), ...operatorCells(o)];
  return `| ${cells.join(' | ')} |`;
}

/** Writes per app, idle writes, memory and restart of the operator run, or dashes without one. */
function operatorCells(o: OperatorRun | undefined): (string | number)[] {
  if (!o) return ['–', '–', '–', '–', '–'];
  const writes = Object.entries(o.writesPerApp).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ');
  return [writes, o.idleWrites.length, `${o.rssMiB} (${o.peakRssMiB})`, `${o.heapUsedMiB} (${o.peakHeapUsedMiB})`, `${o.restartS.toFixed(1)} (${o.restartWrites.length} writes)`];
}

const spread = (p: { p50Ms: number; p90Ms: number; p99Ms: number; maxMs: number }) => `p50 ${p.p50Ms} ms, p90 ${p.p90Ms} ms, p99 ${p.p99Ms} ms, max ${p.maxMs} ms`;

function latencyLines(l: BenchResult['latency']): string[] {
  if (!l) return [];
  return [
    '',
    `Latency, app stored to its Pod created (API server clock), ${l.apps} apps at ${l.ratePerS}/s: ${spread(l)}.`,
    `From the bench sending the app instead (adds the load generator's own request): ${spread(l.fromSend)}.`,
  ];
}

/** CPU by process, the CPU profile, and any write at idle or on restart, for each size the operator ran at. */
function operatorDetails(sizes: SizeRow[]): string[] {
  const runs = sizes.flatMap((r) => (r.operator ? [{ n: r.n, run: r.run, operator: r.operator }] : []));
  if (!runs.length) return [];
  return [
    '',
    'CPU seconds by process during convergence (operator run):',
    '',
    ...runs.map(({ n, run, operator }) => `- N=${n}${REPEAT > 1 ? ` #${run}` : ''}: ${Object.entries(operator.cpuSeconds).map(([k, v]) => `${k} ${v}`).join(', ')}`),
    '',
    "Memory: idle RSS (ready, caches synced, no app), RSS once converged, and what each app adds; kube-apiserver CPU per converged app against the floor's per Pod and the writes floor's per app:",
    '',
    ...sizes.flatMap(costLine),
    ...runs.flatMap(profileLines),
    ...runs.flatMap(unexpectedWriteLines),
  ];
}

/** kube-apiserver's CPU milliseconds per app (per Pod for the floor) in one run. */
const apiserverMsPerApp = (n: number, cpu: Record<string, number> | undefined): number | undefined => (cpu?.['kube-apiserver'] === undefined ? undefined : (cpu['kube-apiserver'] * 1000) / n);

/** min–max and median of the runs' values, or nothing when fewer than two runs gave one. */
function range(values: (number | undefined)[], digits: number, unit = ''): string | undefined {
  const v = values.filter((x): x is number => x !== undefined).sort((a, b) => a - b);
  if (v.length < 2) return undefined;
  const median = v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  return `${v[0]!.toFixed(digits)}–${v[v.length - 1]!.toFixed(digits)}${unit} (median ${median.toFixed(digits)}${unit})`;
}

/** With --repeat: per size, the spread of the ratios to the floor and of the operator's memory over its runs. */
function spreadLines(sizes: SizeRow[]): string[] {
  const bySize = [...new Set(sizes.map((r) => r.n))].map((n) => ({ n, rows: sizes.filter((r) => r.n === n) }));
  const lines = bySize.flatMap(({ n, rows }) => {
    const parts = [
      ['converged, operator / floor', range(rows.map((r) => (r.operator && r.floor ? r.operator.convergeS / r.floor.convergeS : undefined)), 2, '×')],
      ['kube-apiserver CPU-ms per app, operator', range(rows.map((r) => apiserverMsPerApp(n, r.operator?.cpuSeconds)), 1)],
      ['floor', range(rows.map((r) => apiserverMsPerApp(n, r.floor?.cpuSeconds)), 1)],
      ['operator / floor', range(rows.map((r) => ratioOf(apiserverMsPerApp(n, r.operator?.cpuSeconds), apiserverMsPerApp(n, r.floor?.cpuSeconds))), 2, '×')],
      ['converged, operator / writes floor', range(rows.map((r) => (r.operator && r.writesFloor ? r.operator.convergeS / r.writesFloor.convergeS : undefined)), 2, '×')],
      ['kube-apiserver CPU-ms per app, writes floor', range(rows.map((r) => apiserverMsPerApp(n, r.writesFloor?.cpuSeconds)), 1)],
      ['operator / writes floor', range(rows.map((r) => ratioOf(apiserverMsPerApp(n, r.operator?.cpuSeconds), apiserverMsPerApp(n, r.writesFloor?.cpuSeconds))), 2, '×')],
      ['idle RSS', range(rows.map((r) => r.operator?.idleRssMiB), 0, ' MiB')],
      ['peak RSS', range(rows.map((r) => r.operator?.peakRssMiB), 0, ' MiB')],
    ].filter(([, text]) => text !== undefined);
    return parts.length ? [`- N=${n}, ${rows.length} runs: ${parts.map(([what, text]) => `${what} ${text}`).join('; ')}`] : [];
  });
  return lines.length ? ['', 'Spread over the repeated runs (min–max, median):', '', ...lines] : [];
}

const ratioOf = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined || b === undefined ? undefined : a / b);

function costLine({ n, run, operator, floor, writesFloor }: SizeRow): string[] {
  if (!operator) return [];
  const mine = apiserverMsPerApp(n, operator.cpuSeconds);
  const against = (what: string, theirs: number | undefined) => (mine === undefined || theirs === undefined ? '' : ` against the ${what}'s ${theirs.toFixed(1)} (${(mine / theirs).toFixed(2)}×)`);
  const floors = [against('floor', apiserverMsPerApp(n, floor?.cpuSeconds)), against('writes floor', apiserverMsPerApp(n, writesFloor?.cpuSeconds))].filter(Boolean).join(',');
  const api = mine === undefined ? '' : `; kube-apiserver ${mine.toFixed(1)} CPU-ms per app${floors}`;
  return [`- N=${n}${REPEAT > 1 ? ` #${run}` : ''}: idle ${operator.idleRssMiB} MiB, converged ${operator.rssMiB} MiB (peak ${operator.peakRssMiB}), ${operator.rssBytesPerApp} bytes per app${api}`];
}

function profileLines({ n, operator }: { n: number; operator: OperatorRun }): string[] {
  const p = operator.cpuProfile;
  const a = operator.apiserverProfile;
  return [
    ...(p ? ['', `Operator CPU profile at N=${n} (share of busy samples): ${p.byOwner.map((o) => `${o.owner} ${o.pct}%`).join(', ')}.`] : []),
    ...(a?.shares ? ['', `kube-apiserver CPU profile at N=${n}, first ${a.seconds} s (inclusive share of its samples; ${a.file}): ${Object.entries(a.shares).map(([k, v]) => `${k} ${v}%`).join(', ')}.`] : []),
  ];
}

function unexpectedWriteLines({ n, operator }: { n: number; operator: OperatorRun }): string[] {
  const writes = [...operator.idleWrites, ...operator.restartWrites];
  if (!writes.length) return [];
  return ['', `Writes at idle or on restart at N=${n}, from the audit log: ${writes.map((w) => `\`${w}\``).join(', ')}.`];
}

say('bundling the operator as its image ships it (dist/bundle)');
await bundleOperator(join(root, OPERATOR_BUNDLE_DIR));
const result: BenchResult = { machine: machine(), sizes: [] };
for (const { size, run } of SIZES.flatMap((n) => Array.from({ length: REPEAT }, (_, i) => ({ size: n, run: i + 1 })))) await sizeRuns(size, run);
if (parts.has('latency')) {
  say('latency at 20 apps/s');
  result.latency = await latencyRun();
  save();
}
process.stdout.write(markdown(result));

/** One run of every asked-for part at size n. */
async function sizeRuns(n: number, run: number): Promise<void> {
  const row: SizeRow = { n, run };
  result.sizes.push(row);
  if (parts.has('operator')) {
    say(`N=${n}: operator`);
    const operator = await operatorRun(n);
    row.operator = operator;
    say(`N=${n}: operator ${JSON.stringify(operator)}`);
    save(); // after each run: a long benchmark that is stopped keeps what it measured
  }
  if (parts.has('floor')) {
    say(`N=${n}: floor`);
    row.floor = await floorRun(n);
    save();
  }
  if (parts.has('writes-floor')) {
    say(`N=${n}: writes floor`);
    row.writesFloor = await writesFloorRun(n);
    save();
  }
  if (parts.has('peer')) {
    say(`N=${n}: peer at its default QPS`);
    row.peer = await peerRun(n);
    save();
    if (row.operator) {
      const budget = Math.max(1, Math.round(row.operator.writeQps));
      say(`N=${n}: peer at the operator's ${budget} writes/s`);
      row.peerSameQps = await peerRun(n, budget);
      save();
    }
  }
  say(JSON.stringify(row));
}

function save(): void {
  mkdirSync(flags.out!, { recursive: true });
  writeFileSync(join(flags.out!, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(flags.out!, 'latest.md'), markdown(result));
}
