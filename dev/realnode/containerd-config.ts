import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CNI_BIN_DIR,
  CNI_CONF_DIR,
  CONTAINERD_ROOT,
  CONTAINERD_SOCKET,
  CONTAINERD_STATE,
  REGISTRY_HOST,
  REGISTRY_HOSTS_DIR,
  REGISTRY_URL,
  RUNC_ROOT,
  SANDBOX_IMAGE,
} from './paths.js';

// containerd 1.6's configuration (version 2) for the real node: its own root, state
// and socket, so it never meets another containerd on the machine, and the CRI
// plugin set up for this kind of machine.

const CRI = 'plugins."io.containerd.grpc.v1.cri"';

export function containerdConfig(): string {
  return `version = 2
root = "${CONTAINERD_ROOT}"
state = "${CONTAINERD_STATE}"

[grpc]
  address = "${CONTAINERD_SOCKET}"

[${CRI}]
  sandbox_image = "${SANDBOX_IMAGE}"
  # Without CAP_SYS_RESOURCE runc cannot lower a process's oom_score_adj; the kubelet
  # asks for -998 on sandboxes, and every sandbox then fails with "can't get final
  # child's PID from pipe: EOF". Clamped to containerd's own score instead.
  restrict_oom_score_adj = true
  # Network namespaces under the state dir, not /var/run/netns: a stop finds and removes them all.
  netns_mounts_under_state_dir = true
  enable_selinux = false

[${CRI}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[${CRI}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${CRI}.containerd.runtimes.runc.options]
  # The kubelet runs with cgroupDriver cgroupfs: containers go under /kubepods, no systemd.
  SystemdCgroup = false
  Root = "${RUNC_ROOT}"

[${CRI}.cni]
  bin_dir = "${CNI_BIN_DIR}"
  conf_dir = "${CNI_CONF_DIR}"
  max_conf_num = 1

[${CRI}.registry]
  # One hosts.toml per registry: images are pulled by the kubelet through the CRI.
  config_path = "${REGISTRY_HOSTS_DIR}"

[plugins."io.containerd.internal.v1.opt"]
  path = "${join(CONTAINERD_ROOT, 'opt')}"
`;
}

/** localhost:5000, the local registry (dev/images), is plain HTTP on 127.0.0.1. */
export function registryHostsToml(): string {
  return `server = "${REGISTRY_URL}"

[host."${REGISTRY_URL}"]
  capabilities = ["pull", "resolve"]
`;
}

/** Writes containerd's config to `path` and the registry hosts directory. */
export function writeContainerdConfig(path: string): void {
  writeFileSync(path, containerdConfig());
  const hostDir = join(REGISTRY_HOSTS_DIR, REGISTRY_HOST);
  mkdirSync(hostDir, { recursive: true });
  writeFileSync(join(hostDir, 'hosts.toml'), registryHostsToml());
}
