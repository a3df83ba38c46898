import { hostname } from 'node:os';
import { join } from 'node:path';

// Where the real node lives. One real node per machine: its socket, ports and
// directories are fixed, so that a start can find and sweep what a crashed run left,
// and a second start finds the first one's lock. What belongs to one control plane
// (config files, logs, certificates) lives in that control plane's directory instead
// (see NodeFiles).

/** Run-time state: the lock, containerd's socket and state, runc's state. */
export const RUN_DIR = '/run/distroless-operator';
/** Persistent-looking but throwaway data: images, snapshots, volumes, IPAM, pod logs. Wiped by every stop. */
export const DATA_DIR = '/var/lib/distroless-operator/real-node';

export const LOCK_FILE = join(RUN_DIR, 'real-node.lock');
/** Who holds the lock: written by the holder's starter once it has the lock. */
export const LOCK_INFO = join(RUN_DIR, 'real-node.json');
export const CONTAINERD_SOCKET = join(RUN_DIR, 'containerd.sock');
export const CONTAINERD_STATE = join(RUN_DIR, 'containerd');
/** runc's --root for the CRI's containers (the default, /run/containerd/runc, is shared with any other containerd). */
export const RUNC_ROOT = join(RUN_DIR, 'runc');

export const CONTAINERD_ROOT = join(DATA_DIR, 'containerd');
export const KUBELET_ROOT = join(DATA_DIR, 'kubelet');
export const POD_LOGS = join(DATA_DIR, 'pod-logs');
export const CNI_CONF_DIR = join(DATA_DIR, 'cni-conf');
export const CNI_IPAM_DIR = join(DATA_DIR, 'cni-ipam');
/** Registry host configuration (containerd's config_path): one hosts.toml per registry. */
export const REGISTRY_HOSTS_DIR = join(DATA_DIR, 'registry-hosts');

/** Debian's containernetworking-plugins put the plugins here. */
export const CNI_BIN_DIR = '/usr/lib/cni';
/** libcni's cache of ADD results (not configurable through containerd 1.6): files named NETWORK-CONTAINERID-IFNAME. */
export const CNI_RESULTS_DIR = '/var/lib/cni/results';
/** The kubelet's device-plugin socket ignores --root-dir. */
export const KUBELET_DEVICE_PLUGINS = '/var/lib/kubelet/device-plugins';

export const CNI_NETWORK = 'dlo-real-node';
export const BRIDGE = 'dlo-cni0';
/** Pod IPs, reachable from the host through the bridge; clear of kwok's 10.244.0.0/16 and the Service range. */
export const POD_SUBNET = '10.89.0.0/24';
export const POD_GATEWAY = '10.89.0.1';

export const KUBELET_PORT = 10250;
export const KUBELET_HEALTHZ_PORT = 10248;
/** kube-proxy's usual ports, on loopback only. */
export const KUBE_PROXY_HEALTHZ_PORT = 10256;
export const KUBE_PROXY_METRICS_PORT = 10249;

/** The real node's label and taint: only Pods that select and tolerate it run there; kwok's tests never do. */
export const REAL_NODE_LABEL = 'distroless.dev/real-node';
export const SANDBOX_IMAGE = 'localhost:5000/pause:3.10';
export const REGISTRY_HOST = 'localhost:5000';
export const REGISTRY_URL = 'http://127.0.0.1:5000';

/** The node's name: the machine's hostname, which resolves here, so the API server can dial the kubelet by it. */
export function nodeName(): string {
  return hostname().toLowerCase();
}

/** The files of one real node, in its control plane's directory. */
export interface NodeFiles {
  dir: string;
  containerdConfig: string;
  containerdLog: string;
  cniConfig: string;
  kubeletConfig: string;
  kubeletKubeconfig: string;
  kubeletLog: string;
  kubeProxyConfig: string;
  kubeProxyKubeconfig: string;
  kubeProxyLog: string;
}

export function nodeFiles(controlPlaneDir: string): NodeFiles {
  const dir = join(controlPlaneDir, 'real-node');
  return {
    dir,
    containerdConfig: join(dir, 'containerd.toml'),
    containerdLog: join(dir, 'containerd.log'),
    cniConfig: join(CNI_CONF_DIR, `10-${CNI_NETWORK}.conflist`),
    kubeletConfig: join(dir, 'kubelet.yaml'),
    kubeletKubeconfig: join(dir, 'kubelet.kubeconfig'),
    kubeletLog: join(dir, 'kubelet.log'),
    kubeProxyConfig: join(dir, 'kube-proxy.yaml'),
    kubeProxyKubeconfig: join(dir, 'kube-proxy.kubeconfig'),
    kubeProxyLog: join(dir, 'kube-proxy.log'),
  };
}
