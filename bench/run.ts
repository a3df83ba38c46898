import { HttpMethod, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { validateApp } from '../src/api/validate.js';
import { render } from '../src/render/pod.js';
import { createLogger } from '../src/runtime/log.js';
import { Informer, type KubeObject } from '../src/runtime/informer.js';
import { restClient, type Rest } from '../src/runtime/rest.js';
import { kubectlPath } from '../test/controlplane/kubectl.js';
import { freePorts, startControlPlane, type Component, type ControlPlane } from '../test/controlplane/launcher.js';
import { readVersions } from '../test/controlplane/versions.js';
import { validApp } from '../test/fixtures/invalid-apps.js';
import { sumMetric } from '../test/integration/operator.js';

// `npm run bench [-- --sizes=100,1000,5000]`: how the operator behaves as work
// grows, beside a floor (a bare client creating the same Pods) and a peer
// (kube-controller-manager converging ReplicaSets of the same Pods), each on a
// fresh local control plane, so no run inherits another's load. Results go to
// bench/results/latest.{json,md}. Not part of the test suite: nothing here
// asserts a time.

const root = new URL('../', import.meta.url).pathname;
const { values: flags } = parseArgs({ options: { sizes: { type: 'string', default: '100,1000,5000' }, out: { type: 'string', default: join(root, 'bench/results') } } });
const SIZES = flags.sizes!.split(',').map(Number);
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
  const kc = new KubeConfig();
  kc.loadFromFile(plane.kubeconfigPath);
  return restClient(kc, 'bench', 120_000);
}

async function inParallel(n: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < n) await work(next++);
  }));
}

/** Resolves once `count` objects of the collection satisfy `done`, watching rather than polling. */
function waitAll<T extends KubeObject>(rest: Rest, path: string, count: number, done: (o: T) => boolean, onAdd?: (o: T) => void): { until: Promise<void>; stop: () => void } {
  const ok = new Set<string>();
  let resolve!: () => void;
  const until = new Promise<void>((r) => (resolve = r));
  const informer = new Informer<T>({
    name: 'bench',
    rest,
    path,
    log: silent,
    onChange: (type, o) => {
      const key = o.metadata?.name ?? '';
      if (type === 'ADDED') onAdd?.(o);
      if (type !== 'DELETED' && done(o)) ok.add(key);
      else ok.delete(key);
      if (ok.size >= count) resolve();
    },
  });
  informer.start();
  return { until, stop: () => informer.stop() };
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

async function freshPlane(n: number, controllerManagerArgs: string[] = []): Promise<{ plane: ControlPlane; rest: Rest }> {
  const plane = await startControlPlane({ name: 'bench', nodes: Math.max(1, Math.ceil(n / 800)), controllerManagerArgs });
  const kubectl = (args: string[]) => {
    const r = spawnSync(kubectlPath(), ['--kubeconfig', plane.kubeconfigPath, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  };
  kubectl(['apply', '--server-side', '-f', join(root, 'crds/distroless.dev_distrolessapps.yaml')]);
  kubectl(['wait', '--for=condition=Established', 'crd/distrolessapps.distroless.dev']);
  kubectl(['create', 'namespace', NS]);
  const rest = clientOf(plane);
  for (let i = 0; ; i++) {
    const sa = await rest.request(HttpMethod.GET, `/api/v1/namespaces/${NS}/serviceaccounts/default`).then(() => true, () => false);
    if (sa) break;
    if (i > 600) throw new Error('no default ServiceAccount in the bench namespace');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { plane, rest };
}

interface Operator {
  child: ChildProcess;
  metrics: () => Promise<string>;
  stop: () => Promise<void>;
}

async function startOperator(plane: ControlPlane): Promise<Operator> {
  const [metricsPort, healthPort] = await freePorts(2);
  const child = spawn(process.execPath, [join(root, 'dist/cli/bin.js'), 'run', '--kubeconfig', plane.kubeconfigPath, '--leader-elect=false', `--resync=${RESYNC_S}s`, `--workers=${CONCURRENCY}`, `--metrics-addr=127.0.0.1:${metricsPort}`, `--health-addr=127.0.0.1:${healthPort}`, '--log-level=warn'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  for (;;) {
    if (child.exitCode !== null) throw new Error('the operator exited at start');
    if (await fetch(`http://127.0.0.1:${healthPort}/readyz`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    metrics: async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const writesByVerb = (text: string) =>
  Object.fromEntries(['create', 'patch', 'update', 'delete'].map((verb) => [verb, sumMetric(text, 'distroless_operator_api_writes_total', { verb })]));
const allWrites = (text: string) => sumMetric(text, 'distroless_operator_api_writes_total');
const isReadyApp = (a: any) => a.status?.observedGeneration === a.metadata.generation && a.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');

async function operatorRun(n: number) {
  const { plane, rest } = await freshPlane(n);
  try {
    const op = await startOperator(plane);
    const cpu0 = cpuOf(plane, op.child);
    let peakRss = 0;
    let peakHeap = 0;
    const sample = setInterval(async () => {
      const m = await op.metrics().catch(() => '');
      peakRss = Math.max(peakRss, sumMetric(m, 'process_resident_memory_bytes'));
      peakHeap = Math.max(peakHeap, sumMetric(m, 'nodejs_heap_size_used_bytes'));
    }, 500);
    const started = Date.now();
    const ready = waitAll<any>(rest, `/apis/distroless.dev/v1alpha1/namespaces/${NS}/distrolessapps`, n, isReadyApp);
    await inParallel(n, (i) => rest.request(HttpMethod.POST, `/apis/distroless.dev/v1alpha1/namespaces/${NS}/distrolessapps`, { body: app(i) }));
    await ready.until;
    const convergeS = (Date.now() - started) / 1000;
    ready.stop();
    clearInterval(sample);
    const cpu = cpuDelta(cpu0, cpuOf(plane, op.child));
    let text = await op.metrics();
    const writes = writesByVerb(text);
    const total = allWrites(text);
    const rss = sumMetric(text, 'process_resident_memory_bytes');
    const heap = sumMetric(text, 'nodejs_heap_size_used_bytes');

    // Idle: two full resync periods with everything converged.
    const reconciles0 = sumMetric(text, 'distroless_operator_reconcile_total');
    const idleStart = Date.now();
    for (;;) {
      text = await op.metrics();
      if (sumMetric(text, 'distroless_operator_reconcile_total') >= reconciles0 + 2 * n && Date.now() - idleStart > 2 * RESYNC_S * 1000) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const idleWrites = allWrites(text) - total;

    // Restart: from process start to every app reconciled once by the new process.
    await op.stop();
    const restartAt = Date.now();
    const again = await startOperator(plane);
    for (;;) {
      text = await again.metrics();
      if (sumMetric(text, 'distroless_operator_reconcile_total') >= n && sumMetric(text, 'distroless_operator_workqueue_depth') === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const restartS = (Date.now() - restartAt) / 1000;
    const restartWrites = allWrites(text);
    await again.stop();
    return {
      convergeS,
      writesPerApp: Object.fromEntries(Object.entries(writes).map(([k, v]) => [k, +(v / n).toFixed(2)])),
      writeQps: +(total / convergeS).toFixed(1),
      idleWrites,
      rssMiB: Math.round(rss / 2 ** 20),
      heapUsedMiB: Math.round(heap / 2 ** 20),
      peakRssMiB: Math.round(peakRss / 2 ** 20),
      peakHeapUsedMiB: Math.round(peakHeap / 2 ** 20),
      restartS,
      restartWrites,
      cpuSeconds: cpu,
    };
  } finally {
    await plane.stop();
  }
}

async function floorRun(n: number) {
  const { plane, rest } = await freshPlane(n);
  try {
    const cpu0 = cpuOf(plane);
    const started = Date.now();
    const running = waitAll<V1Pod>(rest, `/api/v1/namespaces/${NS}/pods`, n, (p) => p.status?.phase === 'Running');
    await inParallel(n, (i) =>
      rest.request(HttpMethod.POST, `/api/v1/namespaces/${NS}/pods`, { body: { ...podShape, metadata: { ...podShape.metadata, name: `pod-${i}`, namespace: NS } } }),
    );
    await running.until;
    running.stop();
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
    const started = Date.now();
    const ready = waitAll<any>(rest, `/apis/apps/v1/namespaces/${NS}/replicasets`, n, (rs) => rs.status?.readyReplicas === 1);
    const labels = (i: number) => ({ bench: `rs-${i}` });
    await inParallel(n, (i) =>
      rest.request(HttpMethod.POST, `/apis/apps/v1/namespaces/${NS}/replicasets`, {
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

/** apply-to-Pod-created at a steady 20 apps a second, for 15 seconds. */
async function latencyRun() {
  const { plane, rest } = await freshPlane(300);
  try {
    const op = await startOperator(plane);
    const created = new Map<string, number>();
    const seen: number[] = [];
    const pods = waitAll<V1Pod>(rest, `/api/v1/namespaces/${NS}/pods`, 300, () => true, (p) => {
      const appName = p.metadata?.labels?.['distroless.dev/app'];
      const at = appName ? created.get(appName) : undefined;
      if (at !== undefined) seen.push(Date.now() - at);
    });
    const start = Date.now();
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 300; i++) {
      const due = start + i * 50;
      await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
      const a = app(i);
      created.set(a.metadata.name, Date.now());
      sends.push(rest.request(HttpMethod.POST, `/apis/distroless.dev/v1alpha1/namespaces/${NS}/distrolessapps`, { body: a }));
    }
    await Promise.all(sends);
    await pods.until;
    pods.stop();
    await op.stop();
    const sorted = seen.sort((a, b) => a - b);
    const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
    return { apps: 300, ratePerS: 20, p50Ms: pct(50), p99Ms: pct(99), maxMs: sorted.at(-1) };
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
  };
}

function markdown(result: any): string {
  const m = result.machine;
  const lines = [
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB; Node ${m.node}; Kubernetes ${m.kubernetes}, etcd ${m.etcd}, kwok ${m.kwok}; ${m.date}.`,
    `Every run on a fresh local control plane; clients create at concurrency ${CONCURRENCY}; the operator runs compiled (dist/), ${CONCURRENCY} workers.`,
    '',
    '| N | operator s | floor s | peer s (default QPS) | peer s (operator\'s QPS) | operator / floor | operator / peer | operator / peer at same QPS | writes per app | idle writes | RSS MiB (peak) | heap MiB (peak) | restart s |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of result.sizes) {
    const o = r.operator;
    const w = Object.entries(o.writesPerApp).filter(([, v]) => (v as number) > 0).map(([k, v]) => `${k} ${v}`).join(', ');
    lines.push(
      `| ${r.n} | ${o.convergeS.toFixed(1)} | ${r.floor.convergeS.toFixed(1)} | ${r.peer.convergeS.toFixed(1)} | ${r.peerSameQps.convergeS.toFixed(1)} (${r.peerSameQps.qps}) | ${(o.convergeS / r.floor.convergeS).toFixed(2)} | ${(o.convergeS / r.peer.convergeS).toFixed(2)} | ${(o.convergeS / r.peerSameQps.convergeS).toFixed(2)} | ${w} | ${o.idleWrites} | ${o.rssMiB} (${o.peakRssMiB}) | ${o.heapUsedMiB} (${o.peakHeapUsedMiB}) | ${o.restartS.toFixed(1)} (${o.restartWrites} writes) |`,
    );
  }
  if (result.latency) lines.push('', `Latency, apply to Pod created, ${result.latency.apps} apps at ${result.latency.ratePerS}/s: p50 ${result.latency.p50Ms} ms, p99 ${result.latency.p99Ms} ms, max ${result.latency.maxMs} ms.`);
  lines.push('', 'CPU seconds by process during convergence (operator run):', '');
  for (const r of result.sizes) lines.push(`- N=${r.n}: ${Object.entries(r.operator.cpuSeconds).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

say('building dist/');
const build = spawnSync(join(root, 'node_modules/.bin/tsc'), ['-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (build.status !== 0) process.exit(1);
const result: any = { machine: machine(), sizes: [] as unknown[] };
for (const n of SIZES) {
  say(`N=${n}: operator`);
  const operator = await operatorRun(n);
  say(`N=${n}: operator ${JSON.stringify(operator)}`);
  say(`N=${n}: floor`);
  const floor = await floorRun(n);
  say(`N=${n}: peer at its default QPS`);
  const peer = await peerRun(n);
  const budget = Math.max(1, Math.round(operator.writeQps));
  say(`N=${n}: peer at the operator's ${budget} writes/s`);
  const peerSameQps = await peerRun(n, budget);
  const row = { n, operator, floor, peer, peerSameQps };
  say(JSON.stringify(row));
  result.sizes.push(row);
  save(); // after each size: a long run that is stopped keeps what it measured
}
say('latency at 20 apps/s');
result.latency = await latencyRun();
save();
process.stdout.write(markdown(result));

function save(): void {
  mkdirSync(flags.out!, { recursive: true });
  writeFileSync(join(flags.out!, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(flags.out!, 'latest.md'), markdown(result));
}
