import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { Condition, DistrolessAppStatus } from '../api/schema.js';
import { APP_CONTAINER, INIT_CONTAINER } from '../render/pod.js';

// What `kubectl distroless status NAME` prints: pure, from the app and its Pods.

export interface AppView {
  metadata: { name: string; namespace?: string; generation?: number };
  spec?: { replicas?: number };
  status?: DistrolessAppStatus;
}

export interface InitFailure {
  pod: string;
  exitCode: number;
  reason?: string;
  message?: string;
  finishedAt?: string;
  restarts: number;
}

/** One container's state in a few words: `Running, ready`, `Completed (exit 0)`, `CrashLoopBackOff (restarts 4)`. */
export function describeContainer(status: V1ContainerStatus | undefined): string {
  if (!status) return '-';
  const restarts = status.restartCount ? ` (restarts ${status.restartCount})` : '';
  const { running, terminated, waiting } = status.state ?? {};
  if (running) return `Running${status.ready ? ', ready' : ''}${restarts}`;
  if (terminated) return `${terminated.reason ?? 'Terminated'} (exit ${terminated.exitCode})${restarts}`;
  if (waiting) return `${waiting.reason ?? 'Waiting'}${restarts}`;
  return 'Unknown';
}

/** The most recent non-zero exit of an init container across the Pods, current or previous run. */
export function lastInitFailure(pods: V1Pod[]): InitFailure | undefined {
  let latest: InitFailure | undefined;
  for (const pod of pods) {
    const status = pod.status?.initContainerStatuses?.find((s) => s.name === INIT_CONTAINER);
    for (const t of [status?.state?.terminated, status?.lastState?.terminated]) {
      if (!t || t.exitCode === 0) continue;
      const finishedAt = t.finishedAt ? new Date(t.finishedAt as unknown as string).toISOString() : undefined;
      const candidate: InitFailure = {
        pod: pod.metadata?.name ?? '',
        exitCode: t.exitCode,
        restarts: status?.restartCount ?? 0,
        ...(t.reason ? { reason: t.reason } : {}),
        ...(t.message ? { message: t.message } : {}),
        ...(finishedAt ? { finishedAt } : {}),
      };
      if (!latest || (candidate.finishedAt ?? '') > (latest.finishedAt ?? '')) latest = candidate;
    }
  }
  return latest;
}

const condition = (status: DistrolessAppStatus | undefined, type: string): Condition | undefined => status?.conditions?.find((c) => c.type === type);

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 2))).join('').trimEnd()).join('\n');
}

export function formatAppStatus(app: AppView, pods: V1Pod[]): string {
  const { name, namespace = 'default', generation } = app.metadata;
  const status = app.status;
  const ready = condition(status, 'Ready');
  const stalled = condition(status, 'Stalled');
  const lines = [
    `DistrolessApp ${namespace}/${name}`,
    `  Ready:     ${ready ? `${ready.status} (${ready.reason}: ${ready.message})` : 'Unknown (no status yet)'}`,
    `  Replicas:  ${status?.replicaSummary ?? `0/${app.spec?.replicas ?? '?'}`} ready`,
    `  Template:  ${status?.templateHash ?? '-'}`,
    `  Observed:  generation ${status?.observedGeneration ?? '-'} of ${generation ?? '-'}${status?.observedGeneration === generation ? '' : ' (the operator has not caught up)'}`,
  ];
  if (stalled?.status === 'True') lines.push(`  Stalled:   ${stalled.reason}: ${stalled.message}`);
  lines.push('');
  if (pods.length === 0) lines.push('No Pods.');
  else {
    const sorted = [...pods].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
    const rows = [['POD', 'NODE', 'PHASE', 'INIT', 'APP']];
    for (const pod of sorted) {
      const init = pod.status?.initContainerStatuses?.find((s) => s.name === INIT_CONTAINER);
      const main = pod.status?.containerStatuses?.find((s) => s.name === APP_CONTAINER);
      const phase = pod.metadata?.deletionTimestamp ? 'Terminating' : (pod.status?.phase ?? 'Unknown');
      rows.push([pod.metadata?.name ?? '', pod.spec?.nodeName ?? '-', phase, describeContainer(init), describeContainer(main)]);
    }
    lines.push(table(rows));
  }
  lines.push('');
  const failure = lastInitFailure(pods);
  lines.push(
    failure
      ? `Last init failure: pod ${failure.pod}: exited with code ${failure.exitCode}${failure.reason ? ` (${failure.reason})` : ''}` +
          `${failure.finishedAt ? ` at ${failure.finishedAt}` : ''}${failure.restarts ? `, ${failure.restarts} restarts` : ''}${failure.message ? `: ${failure.message}` : ''}`
      : 'Last init failure: none',
  );
  return `${lines.join('\n')}\n`;
}
