import type { V1PodDisruptionBudget, V1Service, V1ServicePort, V1ServiceSpec } from '@kubernetes/client-node';
import type { DistrolessApp } from '../api/schema.js';
import type { KubeObject } from '../kube/cache.js';
import { PODDISRUPTIONBUDGETS, SERVICES, type ResourceType } from '../kube/resources.js';
import { canonicalJson } from '../render/hash.js';
import { renderDisruptionBudget, renderService } from '../render/workload.js';
import { isOwnedBy } from './pods.js';

// The objects an app owns beside its Pods, and the pure step that says what to
// write for each: create or update it to what the spec says, delete it when the
// spec no longer wants it, or nothing, when what the cluster holds already says it.

/** An object as the owned-object caches hold it: what matching reads, nothing more. */
export interface OwnedObject extends KubeObject {
  metadata?: KubeObject['metadata'] & {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
  };
  spec?: unknown;
}

export interface OwnedKind {
  /** The kind, as messages and condition reasons name it. */
  kind: 'Service' | 'PodDisruptionBudget';
  type: ResourceType;
  /** The object the app should have, or undefined when it should have none. */
  desired(app: DistrolessApp): OwnedObject | undefined;
  /**
   * Whether the object in the cluster already holds everything `desired` sets.
   * What others add (a cluster IP, an allocated node port, someone's label) is theirs.
   */
  holds(actual: OwnedObject, desired: OwnedObject): boolean;
}

export type OwnedAction =
  /** Server-side apply of the desired object; `known` when the app already controls an object of that name. */
  | { kind: 'apply'; of: OwnedKind; object: OwnedObject; known: boolean }
  | { kind: 'delete'; of: OwnedKind; name: string; uid: string };

export const SERVICE_KIND: OwnedKind = {
  kind: 'Service',
  type: SERVICES,
  desired: (app) => renderService(app) as OwnedObject | undefined,
  holds: (actual, desired) => metadataHolds(actual, desired) && serviceSpecHolds((actual as V1Service).spec ?? {}, (desired as V1Service).spec ?? {}),
};

export const DISRUPTION_BUDGET_KIND: OwnedKind = {
  kind: 'PodDisruptionBudget',
  type: PODDISRUPTIONBUDGETS,
  desired: (app) => renderDisruptionBudget(app) as OwnedObject | undefined,
  holds(actual, desired) {
    const [a, d] = [actual as V1PodDisruptionBudget, desired as V1PodDisruptionBudget];
    return (
      metadataHolds(actual, desired) &&
      same(a.spec?.selector, d.spec?.selector) &&
      a.spec?.minAvailable === d.spec?.minAvailable &&
      a.spec?.maxUnavailable === d.spec?.maxUnavailable
    );
  },
};

export const OWNED_KINDS: readonly OwnedKind[] = [SERVICE_KIND, DISRUPTION_BUDGET_KIND];

/**
 * What to write for one kind, given the objects of that kind the cache holds for
 * the app. Pure. Only objects the app controls (by uid) are updated or deleted;
 * one it does not know of is applied as new, and the writer first makes sure the
 * name is free.
 */
export function planOwned(app: DistrolessApp, of: OwnedKind, cached: readonly OwnedObject[]): OwnedAction[] {
  const owned = cached.filter((o) => isOwnedBy(o, app));
  const desired = of.desired(app);
  const stray = owned.filter((o) => o.metadata?.name !== desired?.metadata?.name);
  const actions: OwnedAction[] = stray.map((o) => ({ kind: 'delete', of, name: o.metadata?.name ?? '', uid: o.metadata?.uid ?? '' }));
  if (!desired) return actions;
  const actual = owned.find((o) => o.metadata?.name === desired.metadata?.name);
  if (!actual || !of.holds(actual, desired)) actions.push({ kind: 'apply', of, object: desired, known: actual !== undefined });
  return actions;
}

/** Labels and annotations the desired object sets are there with the same values. */
function metadataHolds(actual: OwnedObject, desired: OwnedObject): boolean {
  const includes = (have: Record<string, string> = {}, want: Record<string, string> = {}) => Object.entries(want).every(([k, v]) => have[k] === v);
  return includes(actual.metadata?.labels, desired.metadata?.labels) && includes(actual.metadata?.annotations, desired.metadata?.annotations);
}

function serviceSpecHolds(actual: V1ServiceSpec, desired: V1ServiceSpec): boolean {
  return actual.type === desired.type && same(actual.selector, desired.selector) && portsHold(actual.ports ?? [], desired.ports ?? []);
}

function portsHold(actual: V1ServicePort[], desired: V1ServicePort[]): boolean {
  return same(
    actual.map((p, i) => portAsSet(p, desired[i])),
    desired.map((p) => portAsSet(p, p)),
  );
}

/** A port as far as the desired one sets it: a node port the server allocated is not compared. */
function portAsSet(port: V1ServicePort, desired: V1ServicePort | undefined): V1ServicePort {
  const { name, port: number, targetPort, protocol, nodePort } = port;
  return { name, port: number, targetPort, protocol, ...(desired?.nodePort !== undefined ? { nodePort } : {}) };
}

const same = (a: unknown, b: unknown): boolean => canonicalJson(a ?? null) === canonicalJson(b ?? null);

/**
 * What an owned-object cache keeps: what `holds` and the ownership check read.
 * managedFields and status can be most of an object and are never read.
 */
export function trimOwned(object: OwnedObject): OwnedObject {
  const { name, namespace, uid, resourceVersion, labels, annotations, ownerReferences } = object.metadata ?? {};
  return { metadata: { name, namespace, uid, resourceVersion, labels, annotations, ownerReferences: ownerReferences?.filter((r) => r.controller) }, spec: object.spec };
}
