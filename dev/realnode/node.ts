import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { promisify } from 'node:util';
import type { NodePki } from '../controlplane/pki.js';
import { writeKubeconfig } from '../controlplane/pki.js';
import { launch, secondsSince, tail } from '../logged-process.js';
import { StopWaiting, waitFor } from '../wait-for.js';
import { podProcesses, sweep, waitClean, type SweepReport } from './cleanup.js';
import { writeCniConfig } from './cni-config.js';
import { writeContainerdConfig } from './containerd-config.js';
import { kubeletArgv, writeKubeletConfig } from './kubelet-config.js';
import { kubeProxyArgv, writeKubeProxyConfig } from './kube-proxy-config.js';
import { releaseNodeLock, takeNodeLock } from './lock.js';
import { BRIDGE, CONTAINERD_SOCKET, KUBE_PROXY_HEALTHZ_PORT, KUBELET_HEALTHZ_PORT, nodeFiles, nodeName, type NodeFiles } from './paths.js';
import { findProcesses, isRunning } from './processes.js';
import { ensureSandboxImage, registryStartedHere, stopRegistryIfOurs, type RegistryUse } from './sandbox.js';
import type { NodePrograms } from './tools.js';

// A real node beside a local control plane: containerd (with runc and the CNI
// bridge), a kubelet that registers the machine itself as a Node, and kube-proxy,
// which gives its Pods the cluster's Services (the API server's among them). Started after
// the control plane is ready, stopped before it, swept off the machine by every
// stop and by every start (what a crashed run left).

export type NodeComponent = 'containerd' | 'kubelet' | 'kube-proxy';

export interface NodeProcess {
  argv: string[];
  pid: number;
  log: string;
}

export interface RealNodeState {
  /** The Node's name: the machine's hostname. */
  name: string;
  /** The pid holding the machine's real-node lock. */
  lockHolder: number;
  files: NodeFiles;
  processes: Partial<Record<NodeComponent, NodeProcess>>;
  /** The local registry the node pulls from; stopped with the node when the node started it. */
  registry?: RegistryUse;
  /** Milliseconds from starting containerd to the Node Ready. */
  readyAfterMs?: number;
}

/** What the launcher gives the real node: where the API server is, the node's certificates, how to read a Node. */
export interface RealNodeContext {
  server: string;
  caCert: string;
  pki: NodePki;
  programs: NodePrograms;
  detached: boolean;
  log: (line: string) => void;
  /** The Node object by name, or undefined when the API server has none (yet). */
  readNode: (name: string) => Promise<NodeView | undefined>;
  /** Called once the state has something new a stop must know of (the registry, a pid). */
  save: () => void;
}

export interface NodeView {
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

/**
 * Takes the machine's real-node lock (failing at once if another real node runs)
 * and sweeps what an earlier, crashed run left. The first step of a start, before
 * any control plane process exists.
 */
export async function claimRealNode(controlPlaneDir: string, detached: boolean, log: (line: string) => void): Promise<RealNodeState> {
  const lockHolder = await takeNodeLock(controlPlaneDir, detached);
  const state: RealNodeState = { name: nodeName(), lockHolder, files: nodeFiles(controlPlaneDir), processes: {} };
  try {
    const report = await sweep();
    if (found(report)) log(`real node: swept what an earlier run left: ${describe(report)}`);
  } catch (err) {
    await releaseNodeLock(lockHolder);
    throw new Error(`the real node's leftovers from an earlier run could not be removed: ${String(err)}`, { cause: err });
  }
  return state;
}

const found = (r: SweepReport) => r.processes + r.mounts + r.cgroups + r.files.length > 0 || r.bridge || r.serviceRules;
const describe = (r: SweepReport) =>
  `${r.processes} processes, ${r.mounts} mounts, ${r.cgroups} cgroups, ${r.bridge ? 'the bridge, ' : ''}${r.serviceRules ? 'iptables chains, ' : ''}${r.files.length} files and directories`;

/** The node's addresses besides its name: loopback and every IPv4 of the machine, for the serving certificate. */
export function nodeAddresses(): string[] {
  const ips = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a?.family === 'IPv4')
    .map((a) => a!.address);
  return [...new Set(['127.0.0.1', ...ips])];
}

/**
 * The machine's address Pods reach the API server on: its first IPv4 address that is
 * neither loopback nor the Pod bridge's. Pods route everything through the bridge to
 * the host, and the host delivers an address of its own locally, so no forwarding
 * or masquerade is needed.
 */
export function podFacingAddress(): string {
  const found = Object.entries(networkInterfaces())
    .filter(([name]) => name !== BRIDGE)
    .flatMap(([, addresses]) => addresses ?? [])
    .find((a) => a.family === 'IPv4' && !a.internal);
  if (!found) throw new Error('a real node needs an IPv4 address besides loopback: its Pods reach the API server through it (kube-proxy forwards the kubernetes Service there), and this machine has none');
  return found.address;
}

/**
 * The API server's listening and advertised address with a real node: every address
 * (Pods come through the machine's own), advertised as the Pod-facing one, which
 * becomes the kubernetes Service's endpoint.
 */
export function apiserverAddressFlags(): string[] {
  return ['--bind-address=0.0.0.0', `--advertise-address=${podFacingAddress()}`];
}

/** The API server's flags to reach kubelets: its client certificate, the kubelets' CA, and dialing by hostname first. */
export function apiserverKubeletFlags(pki: NodePki, caCert: string): string[] {
  return [
    `--kubelet-client-certificate=${pki.apiserverKubeletClient.cert}`,
    `--kubelet-client-key=${pki.apiserverKubeletClient.key}`,
    `--kubelet-certificate-authority=${caCert}`,
    '--kubelet-preferred-address-types=Hostname,InternalIP',
  ];
}

/**
 * Starts containerd and the kubelet and waits until the Node is Ready. A component
 * that dies, or a node that is not Ready in time, fails the start with the end of
 * the log that says why; the caller's stop() then sweeps.
 */
export async function startRealNode(state: RealNodeState, ctx: RealNodeContext): Promise<void> {
  const started = Date.now();
  const { files } = state;
  mkdirSync(files.dir, { recursive: true });
  writeContainerdConfig(files.containerdConfig);
  writeCniConfig(files.cniConfig);
  writeKubeletConfig(files.kubeletConfig, { clientCaFile: ctx.caCert, tlsCertFile: ctx.pki.kubeletServing.cert, tlsPrivateKeyFile: ctx.pki.kubeletServing.key });
  writeKubeconfig(files.kubeletKubeconfig, ctx.server, ctx.caCert, ctx.pki.kubeletClient, `system:node:${state.name}`);
  writeKubeProxyConfig(files.kubeProxyConfig, { kubeconfig: files.kubeProxyKubeconfig, node: state.name });
  writeKubeconfig(files.kubeProxyKubeconfig, ctx.server, ctx.caCert, ctx.pki.kubeProxyClient, 'system:kube-proxy');

  state.registry = await ensureSandboxImage(ctx.detached, ctx.log);
  ctx.save();
  ctx.log(`real node: registry and sandbox image ready after ${secondsSince(started)}s`);
  const containerd = ['containerd', '--config', files.containerdConfig, '--address', CONTAINERD_SOCKET, '--log-level', 'warn'];
  state.processes.containerd = { argv: containerd, pid: launch(containerd, files.containerdLog, ctx.detached), log: files.containerdLog };
  ctx.save();
  await waitContainerd(state);
  ctx.log(`real node: containerd up after ${secondsSince(started)}s`);

  const kubelet = kubeletArgv({ kubelet: ctx.programs.kubelet, config: files.kubeletConfig, kubeconfig: files.kubeletKubeconfig, node: state.name });
  state.processes.kubelet = { argv: kubelet, pid: launch(kubelet, files.kubeletLog, ctx.detached), log: files.kubeletLog };
  ctx.save();
  await waitNodeReady(state, ctx);
  ctx.log(`real node: kubelet Ready after ${secondsSince(started)}s`);

  const kubeProxy = kubeProxyArgv(ctx.programs.kubeProxy, files.kubeProxyConfig);
  state.processes['kube-proxy'] = { argv: kubeProxy, pid: launch(kubeProxy, files.kubeProxyLog, ctx.detached), log: files.kubeProxyLog };
  ctx.save();
  await waitKubeProxySynced(state);
  state.readyAfterMs = Date.now() - started;
  ctx.log(`real node ${state.name} Ready after ${secondsSince(started)}s`);
}

/**
 * Sweeps the node off the machine, stops the registry if the node started it, and
 * drops the lock, even when the sweep fails (the next start sweeps again).
 */
export async function stopRealNode(state: RealNodeState): Promise<void> {
  try {
    await sweep();
    await waitClean();
  } finally {
    await stopRegistryIfOurs(state.registry).finally(() => releaseNodeLock(state.lockHolder));
  }
}

/**
 * For a process that is exiting and cannot wait ('exit' handlers are synchronous):
 * SIGKILLs the kubelet, containerd, every container and shim, and the lock holder.
 * Mounts, cgroups and the bridge stay until the next start sweeps them.
 */
export function killRealNodeNow(state: RealNodeState): void {
  const pids = [...Object.values(state.processes).map((p) => p.pid), ...podAndShimPids(), ...registryStartedHere(state.registry), state.lockHolder];
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
}

/** Container processes (by their cgroups), containerd and its shims (by the socket they name). */
function podAndShimPids(): number[] {
  return [...podProcesses(), ...findProcesses((argv) => argv.includes(CONTAINERD_SOCKET))];
}

/** The real node's pids still running. */
export function realNodePids(state: RealNodeState): number[] {
  return Object.values(state.processes)
    .map((p) => p.pid)
    .filter(isRunning);
}




/** Throws StopWaiting, with the end of its log, when a component of the node has exited. */
function checkAlive(state: RealNodeState, when: string): void {
  for (const [name, proc] of Object.entries(state.processes)) {
    if (!isRunning(proc.pid)) throw new StopWaiting(`real node: ${name} exited ${when}; the end of its log (${proc.log}):\n${tail(proc.log)}`);
  }
}

const execFileAsync = promisify(execFile);

/** containerd answers on its socket and its CRI plugin loaded (a bad CRI config shows here, not later in the kubelet). */
async function waitContainerd(state: RealNodeState, timeoutMs = 30_000): Promise<void> {
  let plugins = '';
  await waitFor(
    async () => {
      checkAlive(state, 'during start-up');
      plugins = (await execFileAsync('ctr', ['--address', CONTAINERD_SOCKET, 'plugins', 'ls'], { timeout: 5_000 })).stdout;
      const cri = plugins.split('\n').find((l) => /^io\.containerd\.grpc\.v1\s+cri\s/.test(l));
      if (cri && !/\sok\s*$/.test(cri)) throw new StopWaiting(`real node: containerd's CRI plugin did not load: ${cri}\n${tail(state.files.containerdLog)}`);
      return !!cri;
    },
    {
      timeoutMs,
      intervalMs: 100,
      timeoutError: (err) =>
        new Error(`real node: containerd not serving CRI on ${CONTAINERD_SOCKET} within ${timeoutMs / 1000}s (${String(err ?? 'no cri plugin')}); the end of its log:\n${tail(state.files.containerdLog)}`),
    },
  );
}

/** kube-proxy's healthz answers 200 once it has written the Services' rules at least once. */
async function waitKubeProxySynced(state: RealNodeState, timeoutMs = 60_000): Promise<void> {
  const log = state.files.kubeProxyLog;
  await waitFor(
    async () => {
      checkAlive(state, 'before it programmed the Services');
      return fetch(`http://127.0.0.1:${KUBE_PROXY_HEALTHZ_PORT}/healthz`).then((r) => r.ok, () => false);
    },
    { timeoutMs, intervalMs: 200, timeoutError: () => new Error(`real node: kube-proxy had not programmed the Services within ${timeoutMs / 1000}s; the end of its log (${log}):\n${tail(log)}`) },
  );
}

function describeReadiness(name: string, node: NodeView | undefined): { ready: boolean; text: string } {
  if (!node) return { ready: false, text: `no Node ${name} registered` };
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (!ready) return { ready: false, text: `Node ${name} has no Ready condition yet` };
  return { ready: ready.status === 'True', text: `Ready=${ready.status} (${ready.reason ?? ''}: ${ready.message ?? ''})` };
}

/** The kubelet is healthy and the Node it registered is Ready; says which of the two is missing at the deadline. */
async function waitNodeReady(state: RealNodeState, ctx: RealNodeContext, timeoutMs = 120_000): Promise<void> {
  let last = 'the kubelet not healthy yet';
  await waitFor(
    async () => {
      checkAlive(state, 'before the node was Ready');
      const healthz = await fetch(`http://127.0.0.1:${KUBELET_HEALTHZ_PORT}/healthz`).then((r) => r.ok, () => false);
      if (!healthz) return false;
      const readiness = describeReadiness(state.name, await ctx.readNode(state.name));
      last = readiness.text;
      return readiness.ready;
    },
    {
      timeoutMs,
      intervalMs: 250,
      timeoutError: () =>
        new Error(
          `real node: ${state.name} not Ready within ${timeoutMs / 1000}s: ${last}; the end of the kubelet log (${state.files.kubeletLog}):\n${tail(state.files.kubeletLog)}` +
            `\nthe end of the containerd log:\n${tail(state.files.containerdLog, 15)}`,
        ),
    },
  );
}
