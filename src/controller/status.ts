import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { Condition, DistrolessApp, DistrolessAppStatus } from '../api/schema.js';
import { canonicalJson, templateHash as hashOfApp } from '../render/hash.js';
import { INIT_CONTAINER } from '../render/pod.js';
import { hashOf, indexOf, isFinished, isOwnedBy, isReady, isTerminating, nameOf } from './pods.js';

/** Something wrong that a human must fix; becomes Stalled=True with this reason. */
export interface Problem {
  reason: 'InvalidSpec' | 'PodRejected' | 'InitContainerFailed' | 'ImagePullFailed';
  message: string;
}

export interface StatusInput {
  app: DistrolessApp;
  pods: V1Pod[];
  /** A problem met while writing, such as a Pod the API server refused. */
  problem?: Problem | undefined;
  previous?: DistrolessAppStatus | undefined;
  now: Date;
}

const IMAGE_PULL_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']);
const CONTAINER_CONFIG_REASONS = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

/**
 * The status an app should show, kstatus-style: Ready, Reconciling and Stalled.
 * Pure and stable: computed twice from the same world it is deep-equal, down to
 * lastTransitionTime, which moves only when a condition's status does. That is
 * what lets a converged app cost no writes.
 */
export function computeStatus({ app, pods, problem, previous, now }: StatusInput): DistrolessAppStatus {
  const hash = hashOfApp(app);
  const desired = app.spec.replicas;
  const live = pods.filter((p) => isOwnedBy(p, app) && !isTerminating(p));
  const current = live.filter((p) => hashOf(p) === hash);
  const readyCurrent = current.filter((p) => isReady(p) && (indexOf(p) ?? Infinity) < desired).length;
  const stalled = problem ?? podProblem(current);

  let ready: Pick<Condition, 'status' | 'reason' | 'message'>;
  let reconciling: Pick<Condition, 'status' | 'reason' | 'message'>;
  if (stalled) {
    ready = { status: 'False', reason: stalled.reason, message: stalled.message };
    reconciling = { status: 'False', reason: stalled.reason, message: 'progress needs a human; see the Stalled condition' };
  } else if (readyCurrent === desired && live.length === desired) {
    const message = `${desired} of ${desired} pods ready`;
    ready = { status: 'True', reason: 'Ready', message };
    reconciling = { status: 'False', reason: 'Ready', message };
  } else {
    const reason = progressReason({ live: live.length, current: current.length, finished: live.filter(isFinished).length, desired });
    const message = `${readyCurrent} of ${desired} pods ready`;
    ready = { status: 'False', reason, message };
    reconciling = { status: 'True', reason, message };
  }
  const stalledCondition = stalled
    ? { status: 'True' as const, reason: stalled.reason, message: stalled.message }
    : { status: 'False' as const, reason: 'AsExpected', message: 'no problem needs a human' };

  const generation = app.metadata.generation ?? 0;
  return {
    observedGeneration: generation,
    replicas: live.length,
    readyReplicas: live.filter(isReady).length,
    updatedReplicas: current.length,
    templateHash: hash,
    replicaSummary: `${readyCurrent}/${desired}`,
    conditions: [
      condition('Ready', ready, generation, previous, now),
      condition('Reconciling', reconciling, generation, previous, now),
      condition('Stalled', stalledCondition, generation, previous, now),
    ],
  };
}

/** What the operator is busy with, most telling first; a reason is a CamelCase word, as kstatus tools show it. */
function progressReason(count: { live: number; current: number; finished: number; desired: number }): string {
  if (count.current < count.live) return 'Updating';
  if (count.finished > 0) return 'Replacing';
  if (count.live > count.desired) return 'ScalingDown';
  if (count.current < count.desired) return 'Creating';
  return 'Initialising';
}

/** The status of an app whose spec the operator refuses: Stalled, with the pod counts left as they were. */
export function invalidSpecStatus(
  app: { metadata: { generation?: number }; status?: DistrolessAppStatus },
  message: string,
  now: Date,
): DistrolessAppStatus {
  const generation = app.metadata.generation ?? 0;
  const previous = app.status;
  const stalled = { status: 'True' as const, reason: 'InvalidSpec', message };
  return {
    ...previous,
    observedGeneration: generation,
    conditions: [
      condition('Ready', { status: 'False', reason: 'InvalidSpec', message }, generation, previous, now),
      condition('Reconciling', { status: 'False', reason: 'InvalidSpec', message: 'progress needs a human; see the Stalled condition' }, generation, previous, now),
      condition('Stalled', stalled, generation, previous, now),
    ],
  };
}

/**
 * The Stalled condition of `next` when it is news: True, and not what `previous`
 * already said. The operator announces a stall with a Warning Event only then, so
 * a stuck app costs no writes per resync, nor a repeat after an operator restart
 * (its memory is the status it wrote, not the process).
 */
export function newStall(previous: DistrolessAppStatus | undefined, next: DistrolessAppStatus): Condition | undefined {
  const stalled = stalledOf(next);
  if (!stalled) return undefined;
  const before = stalledOf(previous);
  return before?.reason === stalled.reason && before.message === stalled.message ? undefined : stalled;
}

/** What the apps-by-state metric counts an app as. */
export type AppState = 'ready' | 'reconciling' | 'stalled';

export function stateOf(status: DistrolessAppStatus): AppState {
  if (stalledOf(status)) return 'stalled';
  return status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? 'ready' : 'reconciling';
}

export function stalledOf(status: DistrolessAppStatus | undefined): Condition | undefined {
  return status?.conditions?.find((c) => c.type === 'Stalled' && c.status === 'True');
}

export function statusEqual(a: DistrolessAppStatus | undefined, b: DistrolessAppStatus | undefined): boolean {
  return canonicalJson(a ?? {}) === canonicalJson(b ?? {});
}

function condition(
  type: string,
  { status, reason, message }: Pick<Condition, 'status' | 'reason' | 'message'>,
  observedGeneration: number,
  previous: DistrolessAppStatus | undefined,
  now: Date,
): Condition {
  const before = previous?.conditions?.find((c) => c.type === type);
  const lastTransitionTime = before && before.status === status ? before.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return { type, status, observedGeneration, lastTransitionTime, reason, message };
}

/** A failing init container or an image that cannot be pulled, in the Pods of the current template. */
function podProblem(pods: V1Pod[]): Problem | undefined {
  for (const pod of [...pods].sort((a, b) => nameOf(a).localeCompare(nameOf(b)))) {
    for (const status of pod.status?.initContainerStatuses ?? []) {
      const failure = initFailure(status);
      if (failure) return { reason: 'InitContainerFailed', message: `pod ${nameOf(pod)}: init container "${status.name}" ${failure}` };
    }
    for (const status of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
      const waiting = status.state?.waiting;
      if (waiting?.reason && IMAGE_PULL_REASONS.has(waiting.reason)) {
        return {
          reason: 'ImagePullFailed',
          message: `pod ${nameOf(pod)}: container "${status.name}" image ${status.image}: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`,
        };
      }
    }
  }
  return undefined;
}

function initFailure(status: V1ContainerStatus): string | undefined {
  if (status.name !== INIT_CONTAINER) return undefined;
  const exit = (t: { exitCode: number; reason?: string; message?: string }) =>
    `exited with code ${t.exitCode}${t.reason ? ` (${t.reason})` : ''}${t.message ? `: ${t.message}` : ''}`;
  const terminated = status.state?.terminated;
  if (terminated && terminated.exitCode !== 0) return exit(terminated);
  const waiting = status.state?.waiting;
  const last = status.lastState?.terminated;
  if (waiting?.reason === 'CrashLoopBackOff' && last && last.exitCode !== 0) return `${exit(last)}, now in CrashLoopBackOff`;
  if (waiting?.reason && CONTAINER_CONFIG_REASONS.has(waiting.reason)) return `cannot start: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`;
  return undefined;
}
