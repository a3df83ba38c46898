import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { Condition, DistrolessAppStatus } from '../api/schema.js';
import { APP_CONTAINER } from '../render/pod.js';
import { isInitStepContainer } from '../api/steps.js';
import { isTerminating, nameOf } from '../controller/pods.js';

// What `kubectl distroless status NAME` prints: pure, from the app and its Pods.

export interface AppView {
  metadata: { name: string; namespace?: string; generation?: number };
  spec?: { replicas?: number };
  status?: DistrolessAppStatus;
}

export interface InitFailure {
  pod: string;
  /** The init step's container: init, or init-<name> for spec.initSteps. */
  container: string;
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
  const failures = pods.flatMap(initFailuresOf);
  return failures.reduce<InitFailure | undefined>((latest, f) => (!latest || (f.finishedAt ?? '') > (latest.finishedAt ?? '') ? f : latest), undefined);
}

type Terminated = NonNullable<NonNullable<V1ContainerStatus['state']>['terminated']>;

/** Each init step's current and previous exits, where non-zero. */
function initFailuresOf(pod: V1Pod): InitFailure[] {
  return initStepStatuses(pod).flatMap((status) => exitsOf(pod, status));
}

function exitsOf(pod: V1Pod, status: V1ContainerStatus): InitFailure[] {
  const exits = [status.state?.terminated, status.lastState?.terminated].filter((t): t is Terminated => !!t && t.exitCode !== 0);
  return exits.map((t) => ({
    pod: pod.metadata?.name ?? '',
    container: status.name,
    exitCode: t.exitCode,
    restarts: status.restartCount ?? 0,
    ...(t.reason ? { reason: t.reason } : {}),
    ...(t.message ? { message: t.message } : {}),
    // client-node types it as a Date; read from JSON it is a string.
    ...(t.finishedAt ? { finishedAt: new Date(t.finishedAt as unknown as string).toISOString() } : {}),
  }));
}

const condition = (status: DistrolessAppStatus | undefined, type: string): Condition | undefined => status?.conditions?.find((c) => c.type === type);

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 2))).join('').trimEnd()).join('\n');
}

/** What the operator's inspection found, when the image policy is not Off. */
function distrolessLines(status: DistrolessAppStatus): string[] {
  const found = condition(status, 'Distroless');
  if (!found) return [];
  const images = (status.images ?? []).map((i) => `    ${i.container.padEnd(5)} ${i.image}  ${imageLine(i)}`);
  return [`  Distroless: ${found.status} (${found.reason})`, ...images];
}

function imageLine(i: NonNullable<DistrolessAppStatus['images']>[number]): string {
  if (i.error) return `could not inspect: ${i.error}`;
  if (i.distroless === undefined) return 'inspecting';
  const found = [...(i.shells ?? []), ...(i.packageManagers ?? [])];
  return `${i.distroless ? 'distroless' : `not distroless (${found.join(', ')})`}; scanners: ${i.scannerVisibility ?? '?'}; user ${i.user ?? '?'}`;
}

export function formatAppStatus(app: AppView, pods: V1Pod[]): string {
  return `${[...headerLines(app), '', ...podLines(pods), '', initFailureLine(lastInitFailure(pods))].join('\n')}\n`;
}

function headerLines(app: AppView): string[] {
  const { name, namespace = 'default' } = app.metadata;
  const status = app.status ?? {};
  const ready = condition(status, 'Ready');
  const stalled = condition(status, 'Stalled');
  return [
    `DistrolessApp ${namespace}/${name}`,
    `  Ready:     ${ready ? `${ready.status} (${ready.reason}: ${ready.message})` : 'Unknown (no status yet)'}`,
    `  Replicas:  ${status.replicaSummary ?? `0/${app.spec?.replicas ?? '?'}`} ready`,
    `  Template:  ${status.templateHash ?? '-'}`,
    observedLine(status.observedGeneration, app.metadata.generation),
    ...(stalled?.status === 'True' ? [`  Stalled:   ${stalled.reason}: ${stalled.message}`] : []),
    ...distrolessLines(status),
  ];
}

function observedLine(observed: number | undefined, generation: number | undefined): string {
  const lag = observed === generation ? '' : ' (the operator has not caught up)';
  return `  Observed:  generation ${observed ?? '-'} of ${generation ?? '-'}${lag}`;
}

function podLines(pods: V1Pod[]): string[] {
  if (pods.length === 0) return ['No Pods.'];
  const sorted = [...pods].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  return [table([['POD', 'NODE', 'PHASE', 'INIT', 'APP', 'SIDECARS'], ...sorted.map(podRow)])];
}

function podRow(pod: V1Pod): string[] {
  const status = pod.status ?? {};
  const main = status.containerStatuses?.find((s) => s.name === APP_CONTAINER);
  const phase = isTerminating(pod) ? 'Terminating' : (status.phase ?? 'Unknown');
  return [nameOf(pod), pod.spec?.nodeName ?? '-', phase, describeInit(pod), describeContainer(main), describeSidecars(pod)];
}

const initStepStatuses = (pod: V1Pod): V1ContainerStatus[] => (pod.status?.initContainerStatuses ?? []).filter((s) => isInitStepContainer(s.name));

/** The init step that has not completed yet, or the last one; named when there are several. */
function describeInit(pod: V1Pod): string {
  const steps = initStepStatuses(pod);
  const current = steps.find((s) => s.state?.terminated?.exitCode !== 0) ?? steps.at(-1);
  return steps.length > 1 && current ? `${current.name}: ${describeContainer(current)}` : describeContainer(current);
}

/** Native sidecars (init containers that keep running), each by name; - when there are none. */
function describeSidecars(pod: V1Pod): string {
  const sidecars = (pod.status?.initContainerStatuses ?? []).filter((s) => !isInitStepContainer(s.name));
  return sidecars.length ? sidecars.map((s) => `${s.name}: ${describeContainer(s)}`).join('; ') : '-';
}

function initFailureLine(failure: InitFailure | undefined): string {
  if (!failure) return 'Last init failure: none';
  const parts = [
    `Last init failure: pod ${failure.pod}: ${failure.container === 'init' ? '' : `${failure.container} `}exited with code ${failure.exitCode}`,
    failure.reason ? ` (${failure.reason})` : '',
    failure.finishedAt ? ` at ${failure.finishedAt}` : '',
    failure.restarts ? `, ${failure.restarts} restarts` : '',
    failure.message ? `: ${failure.message}` : '',
  ];
  return parts.join('');
}
