import type { V1Pod } from '@kubernetes/client-node';
import type { DistrolessApp } from '../api/schema.js';
import { render } from '../render/pod.js';
import { podName } from '../render/names.js';
import { hashOf, indexOf, isFinished, isOwnedBy, isReady, isTerminating, nameOf } from './pods.js';

export type Action = { kind: 'create'; pod: V1Pod } | { kind: 'delete'; name: string; uid: string; reason: DeleteReason };

export type DeleteReason = 'Malformed' | 'Finished' | 'ScaleDown' | 'Recreate' | 'RollingUpdate';

export interface PlanInput {
  app: DistrolessApp;
  /** Pods of the app from the cache: may include foreign Pods that merely share its labels. */
  pods: V1Pod[];
}

/**
 * The writes that move an app one step towards its desired Pods. Pure: the same
 * app and Pods give the same actions, and a converged app gives none.
 *
 * Pods are named by template hash and replica index, so a new Pod never has to
 * wait for an old one's name. A Pod being deleted still holds its name: its
 * replacement is created on a later step, once it is gone.
 *
 * RollingUpdate surges by one and never lets the Ready count drop below the
 * desired count: one new Pod is created, and an old Ready Pod goes only once
 * enough new Pods are Ready to cover it. Old Pods that are not Ready serve nothing
 * and go at once. Recreate deletes every old Pod first and creates new ones only
 * when none of the old is left, terminating ones included.
 */
export function planActions({ app, pods }: PlanInput): Action[] {
  const { templateHash, pods: desired } = render(app);
  const replicas = app.spec.replicas;
  const owned = pods.filter((p) => isOwnedBy(p, app));
  const actions: Action[] = [];
  const remove = (pod: V1Pod, reason: DeleteReason) => actions.push({ kind: 'delete', name: nameOf(pod), uid: pod.metadata?.uid ?? '', reason });

  const live: V1Pod[] = [];
  for (const pod of owned.filter((p) => !isTerminating(p))) {
    const hash = hashOf(pod);
    const index = indexOf(pod);
    if (hash === undefined || index === undefined || nameOf(pod) !== podName(app.metadata.name, hash, index)) remove(pod, 'Malformed');
    else if (isFinished(pod)) remove(pod, 'Finished');
    else live.push(pod);
  }

  const current = live.filter((p) => hashOf(p) === templateHash);
  const old = live.filter((p) => hashOf(p) !== templateHash);
  for (const pod of current) if (indexOf(pod)! >= replicas) remove(pod, 'ScaleDown');
  const currentKept = current.filter((p) => indexOf(p)! < replicas);

  let createBudget = Infinity;
  if (app.spec.updateStrategy === 'Recreate') {
    for (const pod of old) remove(pod, 'Recreate');
    const oldLeft = owned.some((p) => hashOf(p) !== templateHash);
    if (oldLeft) createBudget = 0;
  } else if (old.length > 0) {
    const [oldReady, oldUnready] = partition(old, isReady);
    for (const pod of oldUnready) remove(pod, 'RollingUpdate');
    const readyCurrent = currentKept.filter(isReady).length;
    const removable = Math.max(0, readyCurrent + oldReady.length - replicas);
    const leaving = [...oldReady].sort((a, b) => indexOf(b)! - indexOf(a)!).slice(0, removable);
    for (const pod of leaving) remove(pod, 'RollingUpdate');
    const oldStaying = oldReady.length - leaving.length;
    createBudget = oldStaying > 0 ? Math.max(0, replicas + 1 - (currentKept.length + oldStaying)) : Infinity;
  }

  // Any owned Pod, terminating ones included, holds its name.
  const taken = new Set(owned.map(nameOf));
  for (const pod of desired) {
    if (createBudget <= 0) break;
    if (taken.has(nameOf(pod))) continue;
    actions.push({ kind: 'create', pod });
    createBudget--;
  }
  return actions;
}

function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (test(item) ? yes : no).push(item);
  return [yes, no];
}
