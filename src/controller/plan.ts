import type { V1Pod } from '@kubernetes/client-node';
import type { DistrolessApp } from '../api/schema.js';
import { render } from '../render/pod.js';
import { podName } from '../render/names.js';
import { hashOf, indexOf, isFinished, isOwnedBy, isReady, isTerminating, nameOf } from './pods.js';

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

export interface PlanInput {
  /** The validated app, with metadata.uid (Pods are owned by uid). */
  app: DistrolessApp;
  /** Pods of the app from the cache: may include foreign Pods that merely share its labels. */
  pods: V1Pod[];
  /** When the plan is made. No decision depends on time yet; the parameter keeps the signature stable when one does. */
  now?: Date;
}

/**
 * RollingUpdate runs at most this many live Pods above spec.replicas. One, like a
 * Deployment's smallest surge: a rollout costs one extra Pod's worth of quota
 * and node room (a namespace with a tight ResourceQuota still rolls), and a new
 * template that never becomes Ready makes one broken Pod, not spec.replicas of them.
 */
export const MAX_SURGE = 1;

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
 * RollingUpdate (maxUnavailable 0, maxSurge MAX_SURGE), per step:
 *  - old Pods that are not Ready serve nothing and go at once;
 *  - old Ready Pods go only while the Ready count stays at or above
 *    spec.replicas: `readyNew + readyOld - spec.replicas` of them may go, the
 *    highest index first, so each new Pod that becomes Ready releases one old Pod;
 *  - new Pods are created, lowest index first, while the live (non-terminating)
 *    Pods number at most spec.replicas + MAX_SURGE; once no old Ready Pod is
 *    left to protect, every missing new Pod is created at once.
 * It cannot deadlock: a step that plans nothing while old Ready Pods remain has
 * live Pods at the cap and no old Pod to release, so (counting) some new Pod is
 * not Ready yet; when it becomes Ready it releases an old Pod and a surge slot.
 * Old Pods only ever decrease, so the rollout ends once the new Pods are Ready,
 * and holds, every old Pod serving, while they never are.
 *
 * Recreate deletes every old Pod first and creates new ones only when none of
 * the old is left, terminating ones included.
 */
export function planActions({ app, pods }: PlanInput): Action[] {
  const { templateHash, pods: desired } = render(app);
  const replicas = app.spec.replicas;
  const owned = pods.filter((p) => isOwnedBy(p, app)).sort(byIndexThenName);
  const actions: Action[] = [];
  const remove = (pod: V1Pod, reason: DeleteReason) => actions.push({ kind: 'delete', name: nameOf(pod), uid: pod.metadata?.uid ?? '', reason });

  // Terminating Pods are on their way out already: deleting them again would be a wasted write.
  const live: V1Pod[] = [];
  for (const pod of owned.filter((p) => !isTerminating(p))) {
    if (!isWellFormed(pod, app.metadata.name)) remove(pod, 'Malformed');
    else if (isFinished(pod)) remove(pod, 'Finished');
    else live.push(pod);
  }

  const current = live.filter((p) => hashOf(p) === templateHash);
  const old = live.filter((p) => hashOf(p) !== templateHash);
  const [currentKept, surplus] = partition(current, (p) => indexOf(p)! < replicas);
  for (const pod of surplus) remove(pod, 'ScaleDown');

  let createBudget = Infinity;
  if (app.spec.updateStrategy === 'Recreate') {
    for (const pod of old) remove(pod, 'Recreate');
    // Any owned Pod not of the current template, terminating or finished, still runs or may: wait for it.
    if (owned.some((p) => hashOf(p) !== templateHash)) createBudget = 0;
  } else if (old.length > 0) {
    const [oldReady, oldUnready] = partition(old, isReady);
    for (const pod of oldUnready) remove(pod, 'RollingUpdate');
    const readyNew = currentKept.filter(isReady).length;
    const removable = Math.max(0, readyNew + oldReady.length - replicas);
    const [staying, leaving] = [oldReady.slice(0, oldReady.length - removable), oldReady.slice(oldReady.length - removable)];
    for (const pod of leaving) remove(pod, 'RollingUpdate');
    if (staying.length > 0) createBudget = Math.max(0, replicas + MAX_SURGE - (currentKept.length + staying.length));
  }

  // A name held by any Pod, terminating or foreign, cannot be created again yet.
  const taken = new Set(pods.map(nameOf));
  for (const pod of desired) {
    if (createBudget <= 0) break;
    if (taken.has(nameOf(pod))) continue;
    actions.push({ kind: 'create', pod });
    createBudget--;
  }
  return actions;
}

/** Has a template hash and a replica index, and the very name the renderer gives them. */
function isWellFormed(pod: V1Pod, appName: string): boolean {
  const hash = hashOf(pod);
  const index = indexOf(pod);
  return hash !== undefined && index !== undefined && nameOf(pod) === podName(appName, hash, index);
}

/** Cache order is arbitrary; this makes the plan independent of it. Among old Ready Pods, the highest index goes first. */
function byIndexThenName(a: V1Pod, b: V1Pod): number {
  const byIndex = (indexOf(a) ?? -1) - (indexOf(b) ?? -1);
  if (byIndex !== 0) return byIndex;
  return nameOf(a) < nameOf(b) ? -1 : nameOf(a) > nameOf(b) ? 1 : 0;
}

function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (test(item) ? yes : no).push(item);
  return [yes, no];
}

/**
 * The Pods with the ones just created, as the API server returned them: the
 * cache will show them next, so the status written now already counts them
 * rather than saying "no Pods yet" one write before it says otherwise.
 * Deleted Pods stay as the cache has them, so a status can still say why
 * they are going (Replacing, ScalingDown) until the cache sees them go.
 */
export function withCreated(pods: V1Pod[], created: V1Pod[]): V1Pod[] {
  const names = new Set(created.map((p) => p.metadata?.name));
  return [...pods.filter((p) => !names.has(p.metadata?.name)), ...created];
}
