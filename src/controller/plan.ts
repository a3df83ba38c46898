import type { V1Pod } from '@kubernetes/client-node';
import type { IntOrPercent, RollingUpdate } from '../api/workload.js';
import type { Observation, ObservedPod } from './observe.js';

export type Action = CreatePod | DeletePod;

export interface CreatePod {
  kind: 'create';
  pod: V1Pod;
}

export interface DeletePod {
  kind: 'delete';
  name: string;
  /** Sent as the delete precondition, so a newer Pod of the same name is never the one deleted. */
  uid: string;
  reason: DeleteReason;
}

export type DeleteReason =
  /** Owned, but its labels or name are not ones the renderer gives. */
  | 'Malformed'
  /** Failed or Succeeded: it will not run again under restartPolicy Always. */
  | 'Finished'
  /** A current-template Pod whose index is at or past spec.replicas. */
  | 'ScaleDown'
  /** An old-template Pod, removed before the new ones start. */
  | 'Recreate'
  /** An old-template Pod, removed once a new one is Ready to take its place. */
  | 'RollingUpdate';

/**
 * The writes that move an app one step towards its desired Pods. Pure: the same
 * app and Pods give the same actions whatever their order, and a converged app
 * (or one that is only waiting for Pods to start or to go) gives none.
 *
 * Pods are named by template hash and replica index, so a new Pod never has to
 * wait for an old one's name. Any Pod still holds its name while it terminates:
 * its replacement is created on a later step, once it is gone.
 *
 * Foreign Pods (no controller ownerReference to this app's uid) are never
 * deleted, counted or replaced; the only heed paid to them is that a name one of
 * them holds is not created, since the API server would refuse it.
 *
 * RollingUpdate, with maxSurge and maxUnavailable resolved against
 * spec.replicas (rolloutLimits), per step:
 *  - old Pods that are not available serve nothing the budget counts, and go at once;
 *  - old available Pods go only while the available count stays at or above
 *    spec.replicas - maxUnavailable, the highest index first, so each new Pod
 *    that becomes available releases one old Pod;
 *  - new Pods are created, lowest index first, while the live (non-terminating)
 *    Pods number at most spec.replicas + maxSurge; once no old available Pod is
 *    left to protect, every missing new Pod is created at once.
 * It cannot deadlock while maxSurge or maxUnavailable is above 0 (the schema
 * refuses both 0, and rolloutLimits keeps it so after rounding): a step that
 * plans nothing while old available Pods remain has no old Pod it may release,
 * so the available Pods are at the floor, and live Pods at the cap; some new Pod
 * is then not available yet, and when it becomes so it releases an old Pod and
 * a surge slot. Old Pods only ever decrease, so the rollout ends once the new
 * Pods are available, and holds, the floor serving, while they never are.
 * The defaults (maxSurge 1, maxUnavailable 0) cost one extra Pod's worth of
 * quota and node room, and a template that never becomes Ready makes one broken
 * Pod, not spec.replicas of them.
 *
 * Recreate deletes every old Pod first and creates new ones only when none of
 * the old is left, terminating ones included.
 */
export function plan(observation: Observation): Action[] {
  const { app, malformed, finished, current } = observation;
  const remove = (reason: DeleteReason) => (pod: ObservedPod) => ({ kind: 'delete' as const, name: pod.name, uid: pod.uid, reason });
  // Terminating Pods are on their way out already: deleting them again would be a wasted write.
  const deletes: DeletePod[] = [...malformed.map(remove('Malformed')), ...finished.map(remove('Finished'))];
  const [kept, surplus] = partition(current, (p) => p.index! < app.spec.replicas);
  deletes.push(...surplus.map(remove('ScaleDown')));

  const rollout = app.spec.updateStrategy === 'Recreate' ? recreate(observation) : rollingUpdate(observation, kept);
  deletes.push(...rollout.leaving.map(remove(app.spec.updateStrategy)));
  return [...deletes, ...creates(observation, rollout.createBudget)];
}

interface RolloutStep {
  /** Old Pods to delete now. */
  leaving: ObservedPod[];
  /** How many missing Pods may be created now. */
  createBudget: number;
}

/** Every old Pod goes; new ones come only once no Pod of another template is left, terminating or finished ones included. */
function recreate({ owned, old }: Observation): RolloutStep {
  const waiting = owned.some((p) => !p.ofCurrentTemplate);
  return { leaving: old, createBudget: waiting ? 0 : Infinity };
}

function rollingUpdate({ app, old }: Observation, kept: ObservedPod[]): RolloutStep {
  if (old.length === 0) return { leaving: [], createBudget: Infinity };
  const replicas = app.spec.replicas;
  const { maxSurge, maxUnavailable } = rolloutLimits(app.spec.rollingUpdate, replicas);
  const [oldAvailable, oldUnavailable] = partition(old, (p) => p.available);
  const availableNew = kept.filter((p) => p.available).length;
  const removable = Math.min(oldAvailable.length, Math.max(0, availableNew + oldAvailable.length - (replicas - maxUnavailable)));
  // The highest index goes first: old Pods are in index order.
  const staying = oldAvailable.slice(0, oldAvailable.length - removable);
  const leaving = [...oldUnavailable, ...oldAvailable.slice(oldAvailable.length - removable)];
  const createBudget = staying.length > 0 ? Math.max(0, replicas + maxSurge - (kept.length + staying.length)) : Infinity;
  return { leaving, createBudget };
}

/**
 * maxSurge and maxUnavailable as Pod counts, as a Deployment resolves them: a
 * percentage of spec.replicas, rounded up for the surge and down for the
 * unavailable; when both come to 0, one Pod may be unavailable, so the rollout
 * still moves.
 */
export function rolloutLimits({ maxSurge, maxUnavailable }: RollingUpdate, replicas: number): { maxSurge: number; maxUnavailable: number } {
  const surge = countOf(maxSurge, replicas, Math.ceil);
  const unavailable = Math.min(replicas, countOf(maxUnavailable, replicas, Math.floor));
  return surge === 0 && unavailable === 0 ? { maxSurge: 0, maxUnavailable: 1 } : { maxSurge: surge, maxUnavailable: unavailable };
}

/** A count, or a percentage of `total` rounded as told. */
export function countOf(value: IntOrPercent, total: number, round: (n: number) => number): number {
  return typeof value === 'number' ? value : round((Number(value.slice(0, -1)) * total) / 100);
}

/** The missing desired Pods, lowest index first, within the budget; a name held by any Pod, terminating or foreign, waits. */
function creates({ desired, takenNames }: Observation, budget: number): CreatePod[] {
  const missing = desired.filter((pod) => !takenNames.has(pod.metadata?.name ?? ''));
  return missing.slice(0, budget).map((pod) => ({ kind: 'create', pod }));
}

function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (test(item) ? yes : no).push(item);
  return [yes, no];
}
