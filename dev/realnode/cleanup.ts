import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { waitFor } from '../wait-for.js';
import {
  BRIDGE,
  CNI_NETWORK,
  CNI_RESULTS_DIR,
  CONTAINERD_SOCKET,
  CONTAINERD_STATE,
  DATA_DIR,
  KUBELET_DEVICE_PLUGINS,
  KUBELET_ROOT,
  nodeFiles,
  POD_LOGS,
  RUN_DIR,
  RUNC_ROOT,
} from './paths.js';
import { kubeChainRemoval, kubeChains } from './kube-chains.js';
import { endProcesses, findProcesses } from './processes.js';

// Takes the real node off the machine, whatever state it is in: running, stopped
// half-way, or left behind by a run that crashed. Finds everything by fixed paths and
// names (never by pids a crashed run may not have written), in an order that works:
// kube-proxy and the kubelet (or it restarts containers), containerd, every container
// process (by the kubepods cgroups, the only reliable list once shims are gone), the
// shims; then mounts, deepest first; the cgroups; the KUBE- iptables chains
// (kube-proxy's and the kubelet's); the bridge; the files. The machine's lock
// holder is not touched: the caller holds the lock while it sweeps.

const CGROUP_ROOT = '/sys/fs/cgroup';
/** Fixed in containerd 1.6 and the kubelet, whatever their configured directories. */
const SHIM_SOCKETS = '/run/containerd/s';
const CONTAINER_LOG_LINKS = '/var/log/containers';
/** Where the kubelet (cgroupfs driver, cgroupRoot /) puts every Pod: one tree per v1 hierarchy, or one in v2. */
const KUBEPODS = 'kubepods';

/** What a sweep found and removed, for the log. */
export interface SweepReport {
  processes: number;
  mounts: number;
  cgroups: number;
  bridge: boolean;
  /** The node's KUBE- chains were in iptables and were taken out. */
  serviceRules: boolean;
  files: string[];
}

const isKubelet = (argv: string[]) => argv.includes(`--root-dir=${KUBELET_ROOT}`);
/** Its configuration is the same file in whichever control plane's directory: /real-node/kube-proxy.yaml at its end. */
const KUBE_PROXY_CONFIG = nodeFiles('/').kubeProxyConfig;
const isKubeProxy = (argv: string[]) => program(argv) === 'kube-proxy' && argv.some((a) => a.startsWith('--config=') && a.endsWith(KUBE_PROXY_CONFIG));
/** containerd and its shims: both name the socket (containerd through --address, shims through -address); ctr does too, and is neither. */
const program = (argv: string[]) => basename(argv[0] ?? '');
const isContainerd = (argv: string[]) => program(argv) === 'containerd' && argv.includes(CONTAINERD_SOCKET);
const isShim = (argv: string[]) => program(argv).startsWith('containerd-shim') && argv.includes(CONTAINERD_SOCKET);

export async function sweep(): Promise<SweepReport> {
  const report: SweepReport = { processes: 0, mounts: 0, cgroups: 0, bridge: false, serviceRules: false, files: [] };
  report.processes = await endAll();
  report.mounts = unmountAll();
  report.cgroups = await removeCgroups();
  report.serviceRules = removeServiceRules();
  report.bridge = removeBridge();
  report.files = removeFiles();
  return report;
}

async function endAll(): Promise<number> {
  const kubeProxy = findProcesses(isKubeProxy);
  await endProcesses(kubeProxy, 'the real node kube-proxy');
  const kubelet = findProcesses(isKubelet);
  await endProcesses(kubelet, 'the real node kubelet');
  const containerd = findProcesses(isContainerd);
  await endProcesses(containerd, 'the real node containerd');
  // Containers first, while their shims still reap them; then the shims.
  const containers = podProcesses();
  await endProcesses(containers, 'the real node containers', { signal: 'SIGKILL' });
  const shims = findProcesses(isShim);
  await endProcesses(shims, 'the real node containerd shims', { signal: 'SIGKILL' });
  return kubeProxy.length + kubelet.length + containerd.length + containers.length + shims.length;
}

const IPTABLES = ['iptables', 'ip6tables'] as const;
const TABLES = ['filter', 'nat', 'mangle'];

/** One table's rules as iptables-save prints them; empty when the table or the command is missing. */
function savedTable(family: (typeof IPTABLES)[number], table: string): string {
  try {
    return execFileSync(`${family}-save`, ['-t', table], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}

/** The node's chains (kube-proxy's Services, its and the kubelet's canaries and firewall), by family, table and name. */
function serviceChains(): string[] {
  return IPTABLES.flatMap((family) => TABLES.flatMap((table) => kubeChains(savedTable(family, table)).map((c) => `${family} ${table} ${c}`)));
}

/**
 * Takes every KUBE- chain out of the filter, nat and mangle tables, IPv4 and IPv6, one
 * iptables-restore per table. kube-proxy --cleanup would leave its canaries and the
 * kubelet's firewall chain behind (and fails without ipset, trying IPVS too).
 */
function removeServiceRules(): boolean {
  let removed = false;
  for (const family of IPTABLES) {
    for (const table of TABLES) {
      const script = kubeChainRemoval(table, savedTable(family, table));
      if (!script) continue;
      execFileSync(`${family}-restore`, ['--noflush'], { input: script, stdio: ['pipe', 'ignore', 'pipe'] });
      removed = true;
    }
  }
  return removed;
}

/** The kubepods trees of every cgroup hierarchy mounted here (v1: one per controller; v2: one). */
function kubepodsTrees(): string[] {
  if (!existsSync(CGROUP_ROOT)) return [];
  const v2 = join(CGROUP_ROOT, KUBEPODS);
  const v1 = readdirSync(CGROUP_ROOT).map((h) => join(CGROUP_ROOT, h, KUBEPODS));
  return [v2, ...v1].filter(existsSync);
}

/** A cgroup tree's directories, children before parents. */
function cgroupDirs(dir: string): string[] {
  const children = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => cgroupDirs(join(dir, e.name)));
  return [...children, dir];
}

/** Every process in a Pod's cgroup: the containers, whoever their parent now is. */
export function podProcesses(): number[] {
  const pids = new Set<number>();
  for (const tree of kubepodsTrees()) {
    for (const dir of cgroupDirs(tree)) {
      const procs = existsSync(join(dir, 'cgroup.procs')) ? readFileSync(join(dir, 'cgroup.procs'), 'utf8') : '';
      for (const pid of procs.split('\n').filter(Boolean)) pids.add(Number(pid));
    }
  }
  pids.delete(process.pid);
  return [...pids];
}

/** Mount points under the node's directories, in mount order (/proc/self/mountinfo's), with octal escapes decoded. */
export function nodeMounts(): string[] {
  const roots = [DATA_DIR, RUN_DIR];
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((point) => roots.some((root) => point === root || point.startsWith(`${root}/`)));
}

function unmount(point: string): void {
  try {
    execFileSync('umount', [point], { stdio: 'ignore' });
  } catch {
    // Busy (a process we could not see holds it): detach it; the kernel frees it when the last user goes.
    try {
      execFileSync('umount', ['--lazy', point], { stdio: 'ignore' });
    } catch {
      // Already gone with its parent.
    }
  }
}

/** Unmounts in reverse mount order (the kubelet's rshared root bind last), a few passes for what stacked. */
function unmountAll(): number {
  let count = 0;
  for (let pass = 0; pass < 5; pass++) {
    const mounts = nodeMounts();
    if (mounts.length === 0) break;
    for (const point of mounts.reverse()) unmount(point);
    count += mounts.length;
  }
  const left = nodeMounts();
  if (left.length) throw new Error(`could not unmount the real node's ${left.join(', ')}`);
  return count;
}

/** Removes the kubepods trees, children first; retried for a few seconds while the kernel finishes the exits. */
async function removeCgroups(): Promise<number> {
  let count = 0;
  await waitFor(
    () => {
      for (const tree of kubepodsTrees()) for (const dir of cgroupDirs(tree)) count += removeDir(dir) ? 1 : 0;
      return kubepodsTrees().length === 0;
    },
    {
      timeoutMs: 10_000,
      intervalMs: 100,
      timeoutError: (err) => new Error(`could not remove the cgroups ${kubepodsTrees().join(', ')} (a process still in them?): ${String(err)}`),
    },
  );
  return count;
}

function removeDir(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

/** The bridge and whatever is still attached to it (host ends of veths whose Pod netns outlived a crash). */
function removeBridge(): boolean {
  const sys = `/sys/class/net/${BRIDGE}`;
  if (!existsSync(sys)) return false;
  const ports = existsSync(join(sys, 'brif')) ? readdirSync(join(sys, 'brif')) : [];
  for (const link of [...ports, BRIDGE]) execFileSync('ip', ['link', 'delete', link], { stdio: ['ignore', 'ignore', 'pipe'] });
  return true;
}

/** The shims' sockets are in /run/containerd/s/ whatever containerd's state dir; each task bundle names its own. */
function shimSockets(): string[] {
  const tasks = join(CONTAINERD_STATE, 'io.containerd.runtime.v2.task');
  if (!existsSync(tasks)) return [];
  return readdirSync(tasks).flatMap((ns) =>
    readdirSync(join(tasks, ns))
      .map((id) => join(tasks, ns, id, 'address'))
      .filter(existsSync)
      .map((file) => readFileSync(file, 'utf8').trim().replace(/^unix:\/\//, '')),
  );
}

/**
 * libcni's cached results of the node's sandboxes: NETWORK-ID-IFNAME for the bridge
 * network and containerd's own loopback one. A clean stop's CNI DEL removes them; a
 * crash or a stop with Pods running leaves them. The ids come from the bridge
 * network's files and from containerd's task bundles.
 */
function cniResults(): string[] {
  if (!existsSync(CNI_RESULTS_DIR)) return [];
  const files = readdirSync(CNI_RESULTS_DIR);
  const ours = files.filter((f) => f.startsWith(`${CNI_NETWORK}-`));
  const ids = new Set([...ours.map((f) => f.slice(CNI_NETWORK.length + 1).replace(/-[^-]+$/, '')), ...taskIds()]);
  const loopback = files.filter((f) => f.startsWith('cni-loopback-') && ids.has(f.slice('cni-loopback-'.length).replace(/-lo$/, '')));
  return [...ours, ...loopback].map((f) => join(CNI_RESULTS_DIR, f));
}

/** The ids of containerd's task bundles (sandboxes and containers), from its state dir. */
function taskIds(): string[] {
  const tasks = join(CONTAINERD_STATE, 'io.containerd.runtime.v2.task');
  if (!existsSync(tasks)) return [];
  return readdirSync(tasks).flatMap((ns) => readdirSync(join(tasks, ns)));
}

/** The kubelet's links to container logs (in /var/log/containers whatever podLogsDir is) that point into the node's. */
function containerLogLinks(): string[] {
  if (!existsSync(CONTAINER_LOG_LINKS)) return [];
  return readdirSync(CONTAINER_LOG_LINKS)
    .map((f) => join(CONTAINER_LOG_LINKS, f))
    .filter((link) => {
      try {
        return readlinkSync(link).startsWith(`${POD_LOGS}/`);
      } catch {
        return false;
      }
    });
}

function removeFiles(): string[] {
  const deviceSocket = join(KUBELET_DEVICE_PLUGINS, 'kubelet.sock');
  const candidates = [...shimSockets(), ...cniResults(), ...containerLogLinks(), deviceSocket, CONTAINERD_SOCKET, `${CONTAINERD_SOCKET}.ttrpc`, CONTAINERD_STATE, RUNC_ROOT, DATA_DIR];
  const removed = candidates.filter(existsSync);
  // Nothing is mounted under these any more (unmountAll made sure), so a recursive remove stays inside them.
  for (const path of removed) rmSync(path, { recursive: true, force: true });
  // Made for the node's sake (the kubelet's device-plugin socket and log links, libcni's cache, the shims' sockets) when missing; removed only when empty.
  for (const dir of [KUBELET_DEVICE_PLUGINS, '/var/lib/kubelet', CNI_RESULTS_DIR, '/var/lib/cni', CONTAINER_LOG_LINKS, SHIM_SOCKETS, '/run/containerd']) {
    removeIfEmpty(dir);
  }
  return removed;
}

function removeIfEmpty(dir: string): void {
  try {
    if (existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    // In use by something else: not ours to remove.
  }
}

/** Whether anything of the real node is left on the machine; a description of each thing, empty when clean. */
export function leftovers(): string[] {
  const found: string[] = [];
  const procs = [...findProcesses(isKubeProxy), ...findProcesses(isKubelet), ...findProcesses(isContainerd), ...findProcesses(isShim)];
  if (procs.length) found.push(`processes ${procs.join(' ')}`);
  const chains = serviceChains();
  if (chains.length) found.push(`iptables chains ${chains.join(' ')}`);
  const mounts = nodeMounts();
  if (mounts.length) found.push(`mounts ${mounts.join(' ')}`);
  const cgroups = kubepodsTrees();
  if (cgroups.length) found.push(`cgroups ${cgroups.join(' ')}`);
  if (existsSync(`/sys/class/net/${BRIDGE}`)) found.push(`bridge ${BRIDGE}`);
  const results = cniResults();
  if (results.length) found.push(`CNI results ${results.join(' ')}`);
  for (const path of [DATA_DIR, CONTAINERD_STATE, RUNC_ROOT, CONTAINERD_SOCKET]) if (existsSync(path)) found.push(path);
  return found;
}

/** Waits until the kernel has let go of the bridge (deleting it while veths go away can lag). */
export async function waitClean(timeoutMs = 10_000): Promise<void> {
  await waitFor(() => leftovers().length === 0, {
    timeoutMs,
    intervalMs: 100,
    timeoutError: () => new Error(`the real node left behind: ${leftovers().join('; ')}`),
  });
}
