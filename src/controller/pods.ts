import type { V1Pod } from '@kubernetes/client-node';
import { LABEL_REPLICA_INDEX, LABEL_TEMPLATE_HASH } from '../render/pod.js';

// Facts about one Pod, as the plan and the status need them; and whose an owned object is.

/**
 * Only Pods with a controller reference to this very app (by uid, so not to an
 * earlier app of the same name) are ours to touch. An app without a uid (read
 * from a file, not the cluster) owns nothing.
 */
export function isOwnedBy(object: { metadata?: { ownerReferences?: { uid: string; controller?: boolean }[] } }, app: { metadata: { uid?: string } }): boolean {
  const uid = app.metadata.uid;
  if (!uid) return false;
  return (object.metadata?.ownerReferences ?? []).some((ref) => ref.controller === true && ref.uid === uid);
}

export const isTerminating = (pod: V1Pod): boolean => !!pod.metadata?.deletionTimestamp;

export const isFinished = (pod: V1Pod): boolean => pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded';

export function isReady(pod: V1Pod): boolean {
  return readySince(pod) !== undefined;
}

/**
 * When the Pod became Ready, in epoch milliseconds (NaN when the condition has no
 * time); undefined when it is not Ready, or terminating.
 */
export function readySince(pod: V1Pod): number | undefined {
  if (isTerminating(pod)) return undefined;
  const ready = (pod.status?.conditions ?? []).find((c) => c.type === 'Ready' && c.status === 'True');
  if (!ready) return undefined;
  const time = ready.lastTransitionTime as Date | string | undefined;
  return time === undefined ? Number.NaN : new Date(time).getTime();
}

export const hashOf = (pod: V1Pod): string | undefined => pod.metadata?.labels?.[LABEL_TEMPLATE_HASH];

/** The replica index from the label, or undefined when it is missing or not a plain number. */
export function indexOf(pod: V1Pod): number | undefined {
  const text = pod.metadata?.labels?.[LABEL_REPLICA_INDEX];
  return text !== undefined && /^(0|[1-9][0-9]{0,5})$/.test(text) ? Number(text) : undefined;
}

export const nameOf = (pod: V1Pod): string => pod.metadata?.name ?? '';

/**
 * What the Pod cache keeps of a Pod: the fields observe, plan and status read, and
 * nothing of Pods no DistrolessApp controls. Anyone who may create Pods with the
 * operator's labels could otherwise grow the operator's memory with whole Pods.
 */
export function trimPod(pod: V1Pod, isAppController: (pod: V1Pod) => boolean): V1Pod | undefined {
  if (!isAppController(pod)) return undefined;
  const { name, namespace, uid, resourceVersion, labels, ownerReferences, deletionTimestamp } = pod.metadata ?? {};
  const { phase, conditions, initContainerStatuses, containerStatuses } = pod.status ?? {};
  return {
    metadata: { name, namespace, uid, resourceVersion, labels, ownerReferences: ownerReferences?.filter((r) => r.controller), deletionTimestamp },
    status: { phase, conditions: conditions?.filter((c) => c.type === 'Ready'), initContainerStatuses, containerStatuses },
  };
}
