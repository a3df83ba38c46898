import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Condition, DistrolessAppStatus } from '../src/api/schema.js';
import { kubectlPath } from './controlplane/kubectl.js';
import { startControlPlane, type ControlPlane } from './controlplane/launcher.js';
import { parseFlags } from './flags.js';
import { ensureImages } from './images/build.js';
import { applyRealNodeExamples, reachability } from './real-node-examples/apply.js';
import { startOperator, type OperatorProcess } from './operator-process.js';
import { StopWaiting, waitFor } from './wait-for.js';

// `npm start [-- --once] [-- --namespace NS] [-- --real-node]`: the operator's main job, end to end.
// Uses the current kubeconfig when a cluster answers, otherwise starts the local
// control plane; installs the CRD, runs the operator, applies the examples into a
// namespace that enforces the restricted Pod Security profile, and shows the apps
// until they are Ready. With --once it then stops everything and exits 0 (1 if the
// apps are not Ready in time); without it, it runs until Ctrl-C.
//
// On kwok nodes (the default) Pods are Ready without any container running: the
// apps' status is real, their containers are not. --real-node starts the local
// control plane with a real node (containerd and a kubelet on this machine) and
// runs the examples in real containers, pulled from the local registry
// (dev/real-node-examples), then prints where each one answers.

const root = new URL('../', import.meta.url).pathname;
const { once, namespace, 'real-node': realNode } = parseFlags('npm start [-- --once] [-- --namespace NS] [-- --real-node]', {
  options: { once: { type: 'boolean', default: false }, namespace: { type: 'string', default: 'distroless-demo' }, 'real-node': { type: 'boolean', default: false } },
}).values;
const READY_TIMEOUT_MS = 5 * 60_000;
const say = (line: string) => process.stdout.write(`==> ${line}\n`);

let plane: ControlPlane | undefined;
let operator: OperatorProcess | undefined;
let logDir: string | undefined;

function kubectl(kubeconfig: string | undefined, argv: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(kubectlPath(), [...(kubeconfig ? ['--kubeconfig', kubeconfig] : []), ...argv], { encoding: 'utf8', input, timeout: 60_000 });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
}

function kubectlOk(kubeconfig: string | undefined, argv: string[], input?: string): string {
  const r = kubectl(kubeconfig, argv, input);
  if (r.code !== 0) throw new Error(`kubectl ${argv.join(' ')} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

/** The kubeconfig to use: the user's when its cluster answers, else a fresh local control plane's. */
async function cluster(): Promise<string | undefined> {
  if (realNode) return startLocal('with a real node (containerd and a kubelet on this machine)');
  const probe = kubectl(undefined, ['get', '--raw', '/readyz', '--request-timeout=5s']);
  if (probe.code === 0) {
    const context = kubectl(undefined, ['config', 'current-context']).stdout.trim();
    say(`using the cluster of the current kubeconfig (context ${context || 'none'})`);
    return undefined;
  }
  say('no cluster answers on the current kubeconfig');
  return startLocal('on kwok nodes');
}

async function startLocal(nodes: string): Promise<string> {
  say(`starting the local control plane ${nodes} (the first run builds it from Go modules)`);
  plane = await startControlPlane({ name: 'start', nodes: 1, realNode, log: (l) => say(`control plane: ${l}`) });
  say(`local control plane ready: export KUBECONFIG=${plane.kubeconfigPath}`);
  return plane.kubeconfigPath;
}

/** The examples in real containers, or as status only on kwok. */
async function applyExamples(kubeconfig: string | undefined): Promise<void> {
  if (realNode && kubeconfig) {
    say('building the example images into the local registry, then applying dev/real-node-examples (images retargeted there)');
    await ensureImages();
    await applyRealNodeExamples({ kubeconfig, namespace });
    return;
  }
  process.stdout.write(kubectlOk(kubeconfig, ['apply', '-n', namespace, '-R', '-f', join(root, 'examples')]));
}

function sayWhereAppsRun(kubeconfig: string | undefined): void {
  if (!realNode || !kubeconfig) {
    say('the apps run on kwok nodes: their status is real, but no container runs (npm start -- --real-node runs them for real)');
    return;
  }
  say('the apps run in real containers; from this machine:');
  for (const line of reachability({ kubeconfig, namespace })) say(`  ${line}`);
}

async function runOperator(kubeconfig: string | undefined): Promise<void> {
  // Outside the control plane's directory, which goes when it stops: a failed run's log stays.
  logDir = mkdtempSync(join(tmpdir(), 'dlo-operator-'));
  operator = await startOperator({
    ...(kubeconfig ? { kubeconfig } : {}),
    args: ['--leader-elect=false'],
    // The operator's own default and environment override, as when it is run by hand.
    logLevel: process.env.DLO_LOG_LEVEL ?? 'info',
    logFile: join(logDir, 'operator.log'),
    // It runs until Ctrl-C: the file is its log, memory would only grow.
    keepLogs: false,
  });
  say(`operator running (pid ${operator.child.pid}); logs: ${operator.logFile}; metrics: ${operator.metricsUrl}`);
}

interface AppRow {
  name: string;
  ready: string;
  replicas: string;
  reason: string;
}

/** The fields of a listed DistrolessApp that its row shows. */
interface ListedApp {
  metadata: { name: string; generation?: number };
  spec: { replicas?: number };
  status?: DistrolessAppStatus;
}

function appRows(kubeconfig: string | undefined): AppRow[] {
  const list = JSON.parse(kubectlOk(kubeconfig, ['get', 'dla', '-n', namespace, '-o', 'json'])) as { items: ListedApp[] };
  return list.items.map(appRow);
}

/** The app's Ready condition, once its status describes its current generation. */
function currentReady(app: ListedApp): Condition | undefined {
  if (app.status?.observedGeneration !== app.metadata.generation) return undefined;
  return app.status?.conditions?.find((c) => c.type === 'Ready');
}

function appRow(app: ListedApp): AppRow {
  const ready = currentReady(app);
  return {
    name: app.metadata.name,
    ready: ready?.status ?? 'Unknown',
    replicas: app.status?.replicaSummary ?? `0/${app.spec.replicas}`,
    reason: ready?.reason ?? 'Pending',
  };
}

/** Prints a line for every change of an app's state; resolves true once all are Ready, false at the deadline. */
async function watchUntilReady(kubeconfig: string | undefined): Promise<boolean> {
  const last = new Map<string, string>();
  const timedOut = new Error('not every app is Ready');
  /** Prints what changed since the last look; true once every app is Ready. */
  const allReady = () => {
    let rows: AppRow[];
    try {
      rows = appRows(kubeconfig);
    } catch (err) {
      // A failing kubectl is not "not Ready yet": it ends the run, as every other kubectl step here does.
      throw new StopWaiting(err instanceof Error ? err.message : String(err));
    }
    for (const row of rows) {
      const line = `${row.replicas} ready, Ready=${row.ready} (${row.reason})`;
      if (last.get(row.name) !== line) say(`${row.name}: ${line}`);
      last.set(row.name, line);
    }
    return rows.length > 0 && rows.every((r) => r.ready === 'True');
  };
  return waitFor(allReady, { timeoutMs: READY_TIMEOUT_MS, intervalMs: 500, timeoutError: () => timedOut }).then(
    () => true,
    (err: unknown) => {
      if (err === timedOut) return false;
      throw err;
    },
  );
}

async function shutDown(code: number): Promise<void> {
  if (operator && operator.child.exitCode === null) {
    say('stopping the operator');
    await operator.stop('SIGTERM');
  }
  if (plane) {
    say('stopping the local control plane');
    await plane.stop();
  }
  if (logDir && code === 0) rmSync(logDir, { recursive: true, force: true });
  else if (logDir) say(`the operator's log is kept in ${logDir}`);
}

async function main(): Promise<number> {
  const kubeconfig = await cluster();
  say('installing the DistrolessApp CRD');
  kubectlOk(kubeconfig, ['apply', '--server-side', '--force-conflicts', '-f', join(root, 'crds/distroless.dev_distrolessapps.yaml')]);
  kubectlOk(kubeconfig, ['wait', '--for=condition=Established', '--timeout=60s', 'crd/distrolessapps.distroless.dev']);
  await runOperator(kubeconfig);
  say(`applying examples/ to namespace ${namespace} (Pod Security: enforce=restricted)`);
  kubectlOk(kubeconfig, ['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: namespace, labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted' } },
  }));
  await applyExamples(kubeconfig);
  const ready = await watchUntilReady(kubeconfig);
  process.stdout.write(`\n${kubectlOk(kubeconfig, ['get', 'dla', '-n', namespace])}\n`);
  if (!ready) {
    say(`not every app was Ready within ${READY_TIMEOUT_MS / 60_000} minutes; kubectl describe dla -n ${namespace} tells why`);
    return 1;
  }
  say('every example is Ready');
  sayWhereAppsRun(kubeconfig);
  if (once) return 0;
  say(`running until Ctrl-C${kubeconfig ? `; in another terminal: export KUBECONFIG=${kubeconfig}` : ''}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  return 0;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
} finally {
  await shutDown(code);
}
process.exit(code);
