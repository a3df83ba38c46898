import type { V1Pod } from '@kubernetes/client-node';
import { readFileSync, readdirSync } from 'node:fs';

// What the real node's host sees of a container: its processes are ordinary
// processes here, in a cgroup named after the container's ID, so /proc tells
// their UIDs, groups, capabilities, seccomp mode, mounts and environment without
// anything running inside the container.

/** The ID the runtime gave a container of the Pod: `containerd://ID` without the scheme. */
export function containerId(pod: V1Pod, container: string): string {
  const statuses = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])];
  const id = statuses.find((s) => s.name === container)?.containerID;
  if (!id) throw new Error(`pod ${pod.metadata?.name} has no running container "${container}" yet`);
  return id.replace(/^[a-z]+:\/\//, '');
}

const readOrEmpty = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // the process ended while we looked
  }
};

/** The container's first process (the lowest pid in its cgroup): its command, the container's PID 1. */
export function mainPid(pod: V1Pod, container: string): number {
  const id = containerId(pod, container);
  const pids = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => readOrEmpty(`/proc/${pid}/cgroup`).includes(id))
    .sort((a, b) => a - b);
  if (pids.length === 0) throw new Error(`no process on this host is in the cgroup of container ${id}`);
  return pids[0]!;
}

/** `/proc/PID/status` as fields: Uid, Gid, Groups, CapEff, NoNewPrivs, Seccomp... */
export function processStatus(pid: number): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const at = line.indexOf(':');
    if (at > 0) fields[line.slice(0, at)] = line.slice(at + 1).trim();
  }
  return fields;
}

/** The process's environment, NAME=value entries as the kernel keeps them. */
export function processEnvironment(pid: number): Map<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return new Map(entries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}

/** The options of the mount at `path` in the process's mount namespace, as /proc/PID/mountinfo lists them. */
export function mountOptions(pid: number, path: string): string[] {
  const line = readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .split('\n')
    .find((l) => l.split(' ')[4] === path);
  if (!line) throw new Error(`nothing is mounted at ${path} for pid ${pid}`);
  return line.split(' ')[5]!.split(',');
}
