import type { KubeObject } from './cache.js';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
}

type Owned = KubeObject & { metadata?: { ownerReferences?: OwnerReference[] } };

/**
 * `namespace/name` of the object's controller when it is of the given group and
 * kind: how an owned object maps to the key of the object that controls it. The
 * version is not compared, so owners survive a change of served version.
 */
export function controllerKey(object: Owned, owner: { group: string; kind: string }): string | undefined {
  const ref = object.metadata?.ownerReferences?.find((r) => r.controller === true);
  if (!ref || ref.kind !== owner.kind || ref.apiVersion.split('/')[0] !== owner.group) return undefined;
  return `${object.metadata?.namespace ?? ''}/${ref.name}`;
}
