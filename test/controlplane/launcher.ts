import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBinaries } from './binaries.js';
import { kubectlPath } from './kubectl.js';
import { createPki, writeKubeconfig, type Pki } from './pki.js';

// A real Kubernetes control plane on loopback: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, and kwok playing the kubelet of fake
// nodes. Everything lives in one temp dir with its own free ports, so two control
// planes never collide. The state (pids, command lines, logs) is written to
// state.json there, so any process — a jest worker, a second terminal — can stop
// or restart a component.

export type Component = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok';
const START_ORDER: Component[] = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'];

export interface ComponentState {
  argv: string[];
  pid: number;
  log: string;
}

export interface ControlPlaneState {
  dir: string;
  server: string;
  kubeconfig: string;
  etcdUrl: string;
  pki: Pki;
  components: Record<Component, ComponentState>;
}

export interface StartOptions {
  nodes?: number;
  /** Keep the processes running after this process exits (for `npm run cluster:up`). */
  detached?: boolean;
  log?: (line: string) => void;
}

export class ControlPlane {
  constructor(readonly state: ControlPlaneState) {}

  static load(stateFile: string): ControlPlane {
    return new ControlPlane(JSON.parse(readFileSync(stateFile, 'utf8')) as ControlPlaneState);
  }

  get dir(): string {
    return this.state.dir;
  }

  get kubeconfigPath(): string {
    return this.state.kubeconfig;
  }

  get stateFile(): string {
    return join(this.state.dir, 'state.json');
  }

  logPath(component: Component): string {
    return this.state.components[component].log;
  }

  save(): void {
    writeFileSync(this.stateFile, JSON.stringify(this.state, null, 2));
  }

  /** Kills a component and starts it again with the same flags and data, waiting until it is healthy. */
  async restart(component: Component, options: { downMs?: number } = {}): Promise<void> {
    await terminate([this.state.components[component].pid]);
    if (options.downMs) await new Promise((r) => setTimeout(r, options.downMs));
    const { argv, log } = this.state.components[component];
    this.state.components[component].pid = launch(argv, log, false);
    this.save();
    await waitHealthy(component, this.state);
  }

  /** Kills a component with SIGKILL and leaves it down. */
  async kill(component: Component): Promise<void> {
    await terminate([this.state.components[component].pid], 'SIGKILL');
  }

  /** Stops every process, then removes the directory. */
  async stop(): Promise<void> {
    const pids = [...START_ORDER].reverse().map((c) => this.state.components[c]?.pid).filter((p): p is number => !!p);
    await terminate(pids);
    rmSync(this.state.dir, { recursive: true, force: true });
  }
}

export async function startControlPlane(options: StartOptions = {}): Promise<ControlPlane> {
  const say = options.log ?? (() => {});
  const started = Date.now();
  const bin = ensureBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'dlo-control-plane-'));
  const pids: number[] = [];
  const cleanup = () => {
    for (const pid of pids) tryKill(pid, 'SIGKILL');
  };
  // A crash of the caller must not leave etcd and friends behind.
  if (!options.detached) process.once('exit', cleanup);
  try {
    const [etcdPort, etcdPeerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const pki = createPki(dir);
    const server = `https://127.0.0.1:${apiPort}`;
    const kubeconfig = join(dir, 'admin.kubeconfig');
    writeKubeconfig(kubeconfig, server, pki.caCert, pki.clients.admin, 'admin');
    const kcmConfig = join(dir, 'controller-manager.kubeconfig');
    writeKubeconfig(kcmConfig, server, pki.caCert, pki.clients['controller-manager'], 'system:kube-controller-manager');
    const schedulerConfig = join(dir, 'scheduler.kubeconfig');
    writeKubeconfig(schedulerConfig, server, pki.caCert, pki.clients.scheduler, 'system:kube-scheduler');
    const kwokConfig = join(dir, 'kwok.kubeconfig');
    writeKubeconfig(kwokConfig, server, pki.caCert, pki.clients.kwok, 'kwok');
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;

    const argv: Record<Component, string[]> = {
      etcd: [
        join(bin, 'etcd'),
        '--name=default',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
        `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
        '--log-level=warn',
        // A test cluster need not survive a power cut; fsync would dominate its time.
        '--unsafe-no-fsync',
      ],
      'kube-apiserver': [
        join(bin, 'kube-apiserver'),
        `--etcd-servers=${etcdUrl}`,
        `--secure-port=${apiPort}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--tls-cert-file=${pki.servingCert}`,
        `--tls-private-key-file=${pki.servingKey}`,
        `--client-ca-file=${pki.caCert}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${pki.serviceAccountPub}`,
        `--service-account-signing-key-file=${pki.serviceAccountKey}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--authorization-mode=Node,RBAC',
        '--profiling=false',
        `--cert-dir=${join(dir, 'apiserver-certs')}`,
      ],
      'kube-controller-manager': [
        join(bin, 'kube-controller-manager'),
        `--kubeconfig=${kcmConfig}`,
        '--leader-elect=false',
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${pki.serviceAccountKey}`,
        `--root-ca-file=${pki.caCert}`,
        '--secure-port=0',
        '--controllers=*',
      ],
      'kube-scheduler': [join(bin, 'kube-scheduler'), `--kubeconfig=${schedulerConfig}`, '--leader-elect=false', '--secure-port=0'],
      kwok: [
        join(bin, 'kwok'),
        `--kubeconfig=${kwokConfig}`,
        '--manage-all-nodes=false',
        '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
        '--cidr=10.244.0.1/16',
        '--node-ip=10.240.0.1',
        // Heartbeat through node Leases, as kubelets do; without them kwok's status
        // heartbeats come slower than the node lifecycle controller's grace period,
        // and it marks every node, and every Pod on it, NotReady.
        '--node-lease-duration-seconds=40',
        `--config=${join(dir, 'kwok.yaml')}`,
      ],
    };
    // An explicit, empty kwok config: its built-in stages apply, and no ~/.kwok file sneaks in.
    writeFileSync(join(dir, 'kwok.yaml'), '');

    const components = {} as Record<Component, ComponentState>;
    const state: ControlPlaneState = { dir, server, kubeconfig, etcdUrl, pki, components };
    const plane = new ControlPlane(state);
    for (const component of START_ORDER) {
      const log = join(dir, `${component}.log`);
      const pid = launch(argv[component], log, !!options.detached);
      pids.push(pid);
      components[component] = { argv: argv[component], pid, log };
      plane.save();
      await waitHealthy(component, state);
      say(`${component} up after ${((Date.now() - started) / 1000).toFixed(1)}s`);
    }
    await createNodes(kubeconfig, options.nodes ?? 1);
    await waitForCluster(kubeconfig, options.nodes ?? 1);
    say(`control plane ready after ${((Date.now() - started) / 1000).toFixed(1)}s: ${dir}`);
    if (!options.detached) {
      process.removeListener('exit', cleanup);
      process.once('exit', () => {
        for (const c of START_ORDER) tryKill(plane.state.components[c]?.pid, 'SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      });
    }
    return plane;
  } catch (err) {
    cleanup();
    await terminate(pids);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

function launch(argv: string[], logPath: string, detached: boolean): number {
  const fd = openSync(logPath, 'a');
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', fd, fd], detached });
  closeSync(fd);
  if (detached) child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${argv[0]}`);
  return child.pid;
}

function tryKill(pid: number | undefined, signal: NodeJS.Signals): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

const alive = (pid: number) => tryKill(pid, 0 as unknown as NodeJS.Signals);

/** SIGTERM (or the given signal), then SIGKILL after a grace period; resolves once all are gone. */
export async function terminate(pids: number[], signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  for (const pid of pids) tryKill(pid, signal);
  const deadline = Date.now() + graceMs;
  while (pids.some(alive)) {
    if (Date.now() > deadline) for (const pid of pids) tryKill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function tail(path: string, lines = 30): string {
  if (!existsSync(path)) return '(no log)';
  return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/** Polls a component's health; fails naming the component, with its log, if it dies or never gets there. */
async function waitHealthy(component: Component, state: ControlPlaneState, timeoutMs = 90_000): Promise<void> {
  const { pid, log } = state.components[component];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!alive(pid)) throw new Error(`${component} exited during start-up; the end of ${log}:\n${tail(log)}`);
    if (await isHealthy(component, state)) return;
    if (Date.now() > deadline) throw new Error(`${component} not healthy within ${timeoutMs / 1000}s; the end of ${log}:\n${tail(log)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function isHealthy(component: Component, state: ControlPlaneState): Promise<boolean> {
  switch (component) {
    case 'etcd':
      return fetch(`${state.etcdUrl}/health`).then(
        async (r) => r.ok && (await r.text()).includes('"health":"true"'),
        () => false,
      );
    case 'kube-apiserver':
      return (await adminGet(state, '/readyz')) === 200;
    default:
      // The others serve nothing we enabled; their health shows in the cluster
      // (service accounts, scheduling, nodes Ready), which start-up waits for.
      return true;
  }
}

function adminGet(state: ControlPlaneState, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      `${state.server}${path}`,
      {
        ca: readFileSync(state.pki.caCert),
        cert: readFileSync(state.pki.clients.admin.cert),
        key: readFileSync(state.pki.clients.admin.key),
        timeout: 2000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function kubectl(kubeconfig: string, args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(kubectlPath(), ['--kubeconfig', kubeconfig, ...args], { input, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

async function createNodes(kubeconfig: string, count: number): Promise<void> {
  const nodes = Array.from({ length: count }, (_, i) => nodeManifest(`kwok-node-${i}`));
  const r = kubectl(kubeconfig, ['apply', '-f', '-'], nodes.map((n) => JSON.stringify(n)).join('\n'));
  if (r.code !== 0) throw new Error(`creating kwok nodes failed: ${r.stderr}`);
}

export function nodeManifest(name: string): Record<string, unknown> {
  const resources = { cpu: '64', memory: '256Gi', pods: '1000' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kwok.x-k8s.io/node': 'fake' },
      labels: { 'kubernetes.io/arch': 'amd64', 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': name, type: 'kwok' },
    },
    spec: {},
    status: {
      allocatable: resources,
      capacity: resources,
      nodeInfo: { architecture: 'amd64', operatingSystem: 'linux', kubeletVersion: 'fake', kubeProxyVersion: 'fake' },
      phase: 'Running',
    },
  };
}

/** Waits for what tests rely on: every node Ready, and the default ServiceAccount that Pods need. */
async function waitForCluster(kubeconfig: string, nodes: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const ready = kubectl(kubeconfig, ['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}']);
    const readyNodes = ready.stdout.split('\n').filter((s) => s === 'True').length;
    const sa = kubectl(kubeconfig, ['get', 'serviceaccount', 'default', '-n', 'default', '-o', 'name']);
    if (readyNodes >= nodes && sa.code === 0) return;
    last = `ready nodes ${readyNodes}/${nodes}; default ServiceAccount: ${sa.code === 0 ? 'present' : sa.stderr.trim()}`;
    if (Date.now() > deadline) throw new Error(`the cluster did not settle within ${timeoutMs / 1000}s: ${last}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
