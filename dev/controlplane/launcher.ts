import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, secondsSince, tail } from '../logged-process.js';
import { freePorts } from '../ports.js';
import {
  apiserverAddressFlags,
  apiserverKubeletFlags,
  claimRealNode,
  killRealNodeNow,
  nodeAddresses,
  realNodePids,
  startRealNode,
  stopRealNode,
  type NodeView,
  type RealNodeState,
} from '../realnode/node.js';
import { ensureRealNodeTools, type NodePrograms } from '../realnode/tools.js';
import { StopWaiting, waitFor } from '../wait-for.js';
import { ensureBinaries } from './binaries.js';
import { createNodePki, createPki, writeKubeconfig, type Pki } from './pki.js';
import { readVersions } from './versions.js';

// A real Kubernetes control plane on loopback: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, and kwok playing the kubelet of fake
// nodes. Everything lives in one temp dir with its own free ports, so two control
// planes never collide. Optionally a real node too (dev/realnode): containerd and
// a kubelet on this machine, one per machine. The state (pids, command lines, logs) is written to
// state.json there, so any process — a jest worker, a second terminal — can stop
// or restart a component.

/** The fields of an audit.k8s.io/v1 Event that we read. */
export interface AuditEvent {
  verb: string;
  user: { username: string };
  userAgent?: string;
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
  requestReceivedTimestamp: string;
  /** When the request completed: the object exists from here. */
  stageTimestamp: string;
  responseStatus?: { code?: number };
}

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
  nodes: string[];
  components: Record<Component, ComponentState>;
  /** Milliseconds from the startControlPlane call to a usable cluster. */
  readyAfterMs?: number;
  /** The real node, when one was asked for. */
  realNode?: RealNodeState;
}

export interface StartOptions {
  /** How many kwok nodes to create (default 1). */
  nodes?: number;
  /** Goes into the temp dir's name, to tell control planes apart in /tmp and ps. */
  name?: string;
  /** Keep the processes running after this process exits (for `npm run cluster:up`). */
  detached?: boolean;
  /** Extra kube-controller-manager flags, such as a client QPS for benchmarks. */
  controllerManagerArgs?: string[];
  /** Serve kube-apiserver's /debug/pprof, so a benchmark can read where its CPU went. */
  apiserverProfiling?: boolean;
  /** Progress lines (components up, ready); silent by default. */
  log?: (line: string) => void;
  /**
   * Also run a real node on this machine (containerd, runc, CNI bridge, kubelet),
   * labelled and tainted distroless.dev/real-node, Ready before this resolves. One
   * per machine: a second one fails at once, naming the first.
   */
  realNode?: boolean;
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

  /** The API server's URL, https://127.0.0.1:PORT. */
  get server(): string {
    return this.state.server;
  }

  /** The API server's audit log: one JSON event per line. */
  get auditLog(): string {
    return join(this.state.dir, 'audit.log');
  }

  /** Every successful request the audit policy records, in order. */
  auditedWrites(): AuditEvent[] {
    if (!existsSync(this.auditLog)) return [];
    return readFileSync(this.auditLog, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AuditEvent)
      .filter((e) => (e.responseStatus?.code ?? 0) < 300);
  }

  /** The operator ServiceAccount's successful writes so far, Leases aside. */
  operatorWrites(): AuditEvent[] {
    return this.auditedWrites().filter((e) => e.user.username === OPERATOR_USER && e.objectRef?.resource !== 'leases');
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

  /**
   * Picks up pids another process wrote: a jest worker may have restarted the API
   * server of a control plane that the global setup's supervisor owns.
   */
  private reload(): void {
    if (!existsSync(this.stateFile)) return;
    const onDisk = JSON.parse(readFileSync(this.stateFile, 'utf8')) as ControlPlaneState;
    Object.assign(this.state.components, onDisk.components);
  }

  /** The pids still running this control plane's processes (a pid reused by another program is left out). */
  pids(): number[] {
    this.reload();
    return START_ORDER.map((c) => this.state.components[c]?.pid).filter((pid): pid is number => !!pid && owns(this.state.dir, pid));
  }

  /**
   * Kills a component and starts it again with the same flags, ports and data,
   * waiting until it is healthy. SIGKILL by default, a crash: the outage is then
   * downMs plus the start (~2.5s for the API server), not a drain of unknown length.
   * etcd loses nothing by it: it never fsyncs here, and the OS keeps what it wrote.
   * SIGTERM is a graceful stop, SIGKILLed after graceMs (10s): with clients attached
   * etcd takes ~7s to drain the API server's streams, and the API server waits up to
   * its request timeout (60s) for open watches, so it is killed at the end of the
   * grace period. An operator whose lease renew deadline is 10s loses its lease in
   * such an outage.
   */
  async restart(component: Component, options: { downMs?: number; signal?: 'SIGTERM' | 'SIGKILL'; graceMs?: number } = {}): Promise<void> {
    this.reload();
    const { argv, log, pid } = this.state.components[component];
    if (owns(this.state.dir, pid)) await terminate([pid], options.signal ?? 'SIGKILL', options.graceMs);
    if (options.downMs) await new Promise((r) => setTimeout(r, options.downMs));
    // Detached: the new process belongs to the control plane, not to whoever asked
    // for the restart (a jest worker); stop() finds it through state.json.
    this.state.components[component].pid = launch(argv, log, true);
    this.save();
    await waitHealthy(component, this.state);
  }

  /** Kills a component with SIGKILL and leaves it down. */
  async kill(component: Component): Promise<void> {
    this.reload();
    const { pid } = this.state.components[component];
    if (owns(this.state.dir, pid)) await terminate([pid], 'SIGKILL');
  }

  /**
   * Stops every process (SIGTERM, SIGKILL after a grace period), waits until they
   * are gone, then removes the directory. In waves, clients first, etcd last: an
   * API server with watch clients attached, or an etcd with the API server's
   * streams open, takes seconds to drain, but a second or so once they are gone.
   */
  async stop(): Promise<void> {
    unguard(this);
    this.reload();
    // The real node first: its kubelet would otherwise report to an API server that is going.
    let nodeError: unknown;
    if (this.state.realNode) await stopRealNode(this.state.realNode).catch((err: unknown) => (nodeError = err));
    const waves: Component[][] = [['kwok', 'kube-scheduler', 'kube-controller-manager'], ['kube-apiserver'], ['etcd']];
    for (const wave of waves) await terminate(wave.map((c) => this.state.components[c]?.pid).filter((pid): pid is number => owns(this.state.dir, pid)));
    rmSync(this.state.dir, { recursive: true, force: true });
    if (nodeError) throw new Error(`the control plane stopped, but the real node's cleanup failed: ${String(nodeError)}`, { cause: nodeError });
  }

  /** The real node's kubelet and containerd pids still running (none without a real node). */
  realNodePids(): number[] {
    return this.state.realNode ? realNodePids(this.state.realNode) : [];
  }
}

const OPERATOR_USER = 'system:serviceaccount:distroless-operator-system:distroless-operator';

/**
 * Audits the operator ServiceAccount's writes and anyone's DistrolessApp
 * creates (benchmarks time an app's creation to its Pod's on the server's
 * clock), at Metadata level: small enough to leave on always.
 */
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    users: ["${OPERATOR_USER}"]
    verbs: [create, update, patch, delete]
  - level: Metadata
    verbs: [create]
    resources: [{ group: distroless.dev, resources: [distrolessapps] }]
  - level: None
`;

export async function startControlPlane(options: StartOptions = {}): Promise<ControlPlane> {
  const say = options.log ?? (() => {});
  const started = Date.now();
  const nodeCount = options.nodes ?? 1;
  const bin = ensureBinaries();
  // Before anything runs: installing packages or a cold kubelet build (minutes) must not keep a control plane idle.
  const nodePrograms = options.realNode ? ensureRealNodeTools() : undefined;
  const prefix = `dlo-${(options.name ?? 'control-plane').replace(/[^A-Za-z0-9_.-]/g, '-')}-`;
  const [etcdPort, etcdPeerPort, apiPort] = await freePorts(3);
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const server = `https://127.0.0.1:${apiPort}`;
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const kubeconfig = join(dir, 'admin.kubeconfig');
  const components = {} as Record<Component, ComponentState>;
  const nodes = Array.from({ length: nodeCount }, (_, i) => `kwok-node-${i}`);
  // The PKI is filled in below; the plane exists first so the guard can clean up a failed start.
  const state: ControlPlaneState = { dir, server, kubeconfig, etcdUrl, pki: undefined as unknown as Pki, nodes, components };
  const plane = new ControlPlane(state);
  // A crash or Ctrl-C of the caller must not leave etcd and friends behind; a
  // detached control plane is meant to outlive its caller.
  if (!options.detached) guard(plane);
  try {
    const pki = createPki(dir);
    state.pki = pki;
    const realNode = await realNodeStep(nodePrograms, plane, options, say);
    writeKubeconfig(kubeconfig, server, pki.caCert, pki.clients.admin, 'admin');
    const kcmConfig = join(dir, 'controller-manager.kubeconfig');
    writeKubeconfig(kcmConfig, server, pki.caCert, pki.clients['controller-manager'], 'system:kube-controller-manager');
    const schedulerConfig = join(dir, 'scheduler.kubeconfig');
    writeKubeconfig(schedulerConfig, server, pki.caCert, pki.clients.scheduler, 'system:kube-scheduler');
    const kwokConfig = join(dir, 'kwok.kubeconfig');
    writeKubeconfig(kwokConfig, server, pki.caCert, pki.clients.kwok, 'kwok');
    writeFileSync(join(dir, 'audit-policy.yaml'), AUDIT_POLICY);
    // An explicit, empty kwok config: its built-in stages apply, and no ~/.kwok file sneaks in.
    writeFileSync(join(dir, 'kwok.yaml'), '');

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
        ...realNode.addressFlags,
        `--tls-cert-file=${pki.servingCert}`,
        `--tls-private-key-file=${pki.servingKey}`,
        `--client-ca-file=${pki.caCert}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${pki.serviceAccountPub}`,
        `--service-account-signing-key-file=${pki.serviceAccountKey}`,
        // 10.0.0.1, the kubernetes Service's IP, is in the serving certificate.
        '--service-cluster-ip-range=10.0.0.0/24',
        '--authorization-mode=Node,RBAC',
        // Admission plugins stay at their defaults: PodSecurity must be enforced, as on a real cluster.
        // As kubeadm and every real cluster: privileged Pods are PodSecurity's call. The
        // default (false) refuses them in validation, before admission ever sees them.
        '--allow-privileged=true',
        `--profiling=${options.apiserverProfiling === true}`,
        // Nothing is generated there (the serving cert is given), but the default is /var/run/kubernetes.
        `--cert-dir=${join(dir, 'apiserver-certs')}`,
        // Who wrote what, for tests that must prove two operators never wrote at once.
        `--audit-policy-file=${join(dir, 'audit-policy.yaml')}`,
        `--audit-log-path=${join(dir, 'audit.log')}`,
        ...realNode.apiserverFlags,
      ],
      'kube-controller-manager': [
        join(bin, 'kube-controller-manager'),
        `--kubeconfig=${kcmConfig}`,
        '--leader-elect=false',
        // Each controller under its own ServiceAccount, as in real clusters, so RBAC is exercised.
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${pki.serviceAccountKey}`,
        `--root-ca-file=${pki.caCert}`,
        // No serving port: nothing to collide with; its health shows in the cluster (ServiceAccounts).
        '--secure-port=0',
        // The defaults, garbage collector and ServiceAccount controllers among them.
        '--controllers=*',
        ...(options.controllerManagerArgs ?? []),
      ],
      'kube-scheduler': [join(bin, 'kube-scheduler'), `--kubeconfig=${schedulerConfig}`, '--leader-elect=false', '--secure-port=0'],
      kwok: [
        join(bin, 'kwok'),
        `--kubeconfig=${kwokConfig}`,
        // Only the nodes created below, never a real node of some other cluster.
        '--manage-all-nodes=false',
        '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
        '--cidr=10.244.0.1/16',
        '--node-ip=10.240.0.1',
        // Heartbeat through node Leases, as kubelets do. kwok v0.7.0 picks its default
        // node heartbeat stage by `NodeLeaseDurationSeconds == 0` (the inverse of what
        // it means): without a lease duration it heartbeats every 10-20 min and renews
        // no Lease, and the node lifecycle controller marks every node, and every Pod
        // on it, NotReady after its 40s grace period. With 40 it renews Leases and
        // also updates the status every 20-45s.
        '--node-lease-duration-seconds=40',
        `--config=${join(dir, 'kwok.yaml')}`,
      ],
    };

    for (const component of START_ORDER) {
      const log = join(dir, `${component}.log`);
      components[component] = { argv: argv[component], pid: launch(argv[component], log, !!options.detached), log };
      plane.save();
      await waitHealthy(component, state);
      say(`${component} up after ${secondsSince(started)}s`);
    }
    await createNodes(state);
    await waitForCluster(state);
    await realNode.start();
    state.readyAfterMs = Date.now() - started;
    plane.save();
    say(`control plane ready after ${secondsSince(started)}s: ${dir}`);
    return plane;
  } catch (err) {
    await plane.stop();
    throw err;
  }
}


/** Without a real node nothing outside the machine talks to the API server. */
const LOOPBACK_ONLY = ['--bind-address=127.0.0.1', '--advertise-address=127.0.0.1'];

/** The real node's part of a start: its flags for the API server, and its start once the cluster is ready. */
interface RealNodeStep {
  /** Where the API server listens and what it advertises as the kubernetes Service's endpoint. */
  addressFlags: string[];
  apiserverFlags: string[];
  start: () => Promise<void>;
}

/**
 * Without a kubelet (no real node asked for) nothing. With one: takes the machine's
 * real-node lock and sweeps a crashed run's leftovers (recorded in the state at once,
 * so a failed start's stop() cleans up and releases the lock), and makes the node's
 * certificates.
 */
async function realNodeStep(programs: NodePrograms | undefined, plane: ControlPlane, options: StartOptions, say: (line: string) => void): Promise<RealNodeStep> {
  if (!programs) return { addressFlags: LOOPBACK_ONLY, apiserverFlags: [], start: async () => {} };
  const { state } = plane;
  const node = await claimRealNode(state.dir, !!options.detached, say);
  state.realNode = node;
  plane.save();
  const nodePki = createNodePki(state.dir, state.pki, node.name, nodeAddresses());
  return {
    addressFlags: apiserverAddressFlags(),
    apiserverFlags: apiserverKubeletFlags(nodePki, state.pki.caCert),
    start: async () => {
      await startRealNode(node, {
        server: state.server,
        caCert: state.pki.caCert,
        pki: nodePki,
        programs,
        detached: !!options.detached,
        log: say,
        readNode: async (name) => {
          const r = await api(state, 'GET', `/api/v1/nodes/${name}`);
          return r.status === 200 ? (JSON.parse(r.body) as NodeView) : undefined;
        },
        save: () => plane.save(),
      });
      plane.save();
    },
  };
}


function tryKill(pid: number | undefined, signal: NodeJS.Signals | 0): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether pid runs. A zombie does not: a detached component that cluster:down kills
 * is no child of cluster:down, and stays a zombie until init reaps it, seconds later.
 */
const alive = (pid: number) => tryKill(pid, 0) && !zombie(pid);

function zombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/**
 * Whether pid still runs one of this control plane's programs: every component's
 * command line names the temp dir. Guards against killing an unrelated program
 * that got a recycled pid (a stale state.json, a component that already died).
 */
function owns(dir: string, pid: number | undefined): boolean {
  if (!pid || !alive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
  } catch {
    // No /proc (not Linux): trust the recorded pid.
    return !existsSync('/proc/self');
  }
}

/** SIGTERM (or the given signal), then SIGKILL after a grace period; resolves once all are gone. */
export async function terminate(pids: number[], signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  for (const pid of pids) tryKill(pid, signal);
  const deadline = Date.now() + graceMs;
  let killed = false;
  while (pids.some(alive)) {
    if (!killed && Date.now() > deadline) {
      for (const pid of pids) tryKill(pid, 'SIGKILL');
      killed = true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}


const died = (component: Component, state: ControlPlaneState, when: string) => {
  // The log itself goes with the temp dir when a failed start cleans up; its end travels in the message.
  const { log } = state.components[component];
  return new StopWaiting(`${component} exited ${when}; the end of its log:\n${tail(log)}`);
};

/** Polls a component's health; fails naming the component, with its log, if it dies or never gets there. */
async function waitHealthy(component: Component, state: ControlPlaneState, timeoutMs = 90_000): Promise<void> {
  const { pid, log } = state.components[component];
  await waitFor(
    () => {
      if (!alive(pid)) throw died(component, state, 'during start-up');
      return isHealthy(component, state);
    },
    { timeoutMs, intervalMs: 100, timeoutError: () => new Error(`${component} not healthy within ${timeoutMs / 1000}s; the end of its log:\n${tail(log)}`) },
  );
}

async function isHealthy(component: Component, state: ControlPlaneState): Promise<boolean> {
  switch (component) {
    case 'etcd':
      return fetch(`${state.etcdUrl}/health`).then(
        async (r) => r.ok && (await r.text()).includes('"health":"true"'),
        () => false,
      );
    case 'kube-apiserver':
      return (await api(state, 'GET', '/readyz')).status === 200;
    default:
      // The others serve nothing we enabled; their health shows in the cluster
      // (ServiceAccounts, nodes Ready), which start-up waits for, checking they
      // are still alive meanwhile.
      return true;
  }
}

/** One request to the API server as the admin client; status 0 when it does not answer. */
function api(state: ControlPlaneState, method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request(
      `${state.server}${path}`,
      {
        method,
        ca: readFileSync(state.pki.caCert),
        cert: readFileSync(state.pki.clients.admin.cert),
        key: readFileSync(state.pki.clients.admin.key),
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        timeout: 5000,
        // No keep-alive pool: idle sockets would hold the caller's event loop open (cluster:up would linger).
        agent: false,
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', () => resolve({ status: 0, body: text }));
      },
    );
    req.on('error', (err) => resolve({ status: 0, body: String(err) }));
    req.on('timeout', () => req.destroy());
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

async function createNodes(state: ControlPlaneState): Promise<void> {
  for (const name of state.nodes) {
    const r = await api(state, 'POST', '/api/v1/nodes', nodeManifest(name));
    if (r.status !== 201) throw new Error(`creating kwok node ${name} failed (HTTP ${r.status}): ${r.body}`);
  }
}

/**
 * A node kwok manages (the annotation matches its selector). No taint, so any Pod
 * schedules; room for a thousand Pods, so tests never run out.
 */
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
      // The pinned version, so `kubectl get nodes` reads like a cluster of that version.
      nodeInfo: { architecture: 'amd64', operatingSystem: 'linux', kubeletVersion: `v${readVersions().kubernetes}`, kubeProxyVersion: '' },
      phase: 'Running',
    },
  };
}

/**
 * Waits for what tests rely on: every node Ready (kwok works), and the default
 * ServiceAccount in `default` (the controller manager works; Pods need it). A
 * component that dies meanwhile fails the start at once, with its log.
 */
async function waitForCluster(state: ControlPlaneState, timeoutMs = 120_000): Promise<void> {
  // What the last look found, for the time-out message.
  let ready = 0;
  let serviceAccount = 0;
  await waitFor(
    async () => {
      for (const c of START_ORDER) if (!alive(state.components[c].pid)) throw died(c, state, 'while the cluster settled');
      const nodes = await api(state, 'GET', '/api/v1/nodes?labelSelector=type%3Dkwok');
      const items = nodes.status === 200 ? ((JSON.parse(nodes.body) as { items: NodeObject[] }).items ?? []) : [];
      ready = items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
      serviceAccount = (await api(state, 'GET', '/api/v1/namespaces/default/serviceaccounts/default')).status;
      return ready >= state.nodes.length && serviceAccount === 200;
    },
    {
      timeoutMs,
      intervalMs: 200,
      timeoutError: () => {
        // Name the component that owes what is missing.
        const culprit: Component = ready < state.nodes.length ? 'kwok' : 'kube-controller-manager';
        const log = state.components[culprit].log;
        return new Error(
          `the cluster did not settle within ${timeoutMs / 1000}s: ${ready}/${state.nodes.length} nodes Ready, ` +
            `default ServiceAccount ${serviceAccount === 200 ? 'present' : `missing (HTTP ${serviceAccount})`}; the end of the ${culprit} log:\n${tail(log)}`,
        );
      },
    },
  );
}

interface NodeObject {
  status?: { conditions?: { type: string; status: string }[] };
}

// Control planes this process started and must not leave behind. One set of
// handlers serves them all.
const guarded = new Set<ControlPlane>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function guard(plane: ControlPlane): void {
  if (guarded.size === 0) {
    process.on('exit', onExit);
    for (const s of SIGNALS) process.on(s, onSignal);
  }
  guarded.add(plane);
}

function unguard(plane: ControlPlane): void {
  if (!guarded.delete(plane) || guarded.size > 0) return;
  process.removeListener('exit', onExit);
  for (const s of SIGNALS) process.removeListener(s, onSignal);
}

/** 'exit' handlers run synchronously: SIGKILL is all there is time for. */
function onExit(): void {
  for (const plane of guarded) {
    // Mounts, cgroups and the bridge wait for the next start's sweep: there is no time for them here.
    if (plane.state.realNode) killRealNodeNow(plane.state.realNode);
    for (const pid of plane.pids()) tryKill(pid, 'SIGKILL');
    rmSync(plane.dir, { recursive: true, force: true });
  }
  guarded.clear();
}

/**
 * On a signal, stop the control planes gracefully, then die of the same signal as
 * if nobody had listened. When the program has handlers of its own (the cli's
 * supervisor), those own the shutdown and call stop(); leave it to them.
 */
function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  void Promise.allSettled([...guarded].map((p) => p.stop())).then(() => {
    // stop() removed the handlers with the last control plane; nothing stands between the signal and the default action now.
    process.removeListener('exit', onExit);
    for (const s of SIGNALS) process.removeListener(s, onSignal);
    process.kill(process.pid, signal);
  });
}
