import type { V1ObjectMeta, V1Pod, V1PodSpec, V1PodStatus } from '@kubernetes/client-node';
import type { Condition, DistrolessAppStatus } from '../../src/api/schema.js';

// Objects as the API server returns them to the integration and fault suites,
// through kubectl or the REST client: typed as far as the tests read them, with
// what the server always fills in marked as present.

/** A list, as `kubectl get -o json` and a REST list return it. */
export interface List<T> {
  items: T[];
}

/** A DistrolessApp read back from the API server. */
export interface ServedApp {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid: string; generation: number; resourceVersion: string; labels?: Record<string, string> };
  /** The tests read only replicas, which the CRD defaults. */
  spec: { replicas: number };
  status?: DistrolessAppStatus;
}

/** An app whose status describes its current generation. */
export type CurrentApp = ServedApp & { status: DistrolessAppStatus };

/** Whether the operator has written a status for the app's current spec. */
export function isCurrent(app: ServedApp): app is CurrentApp {
  return app.status?.observedGeneration === app.metadata.generation;
}

/** The condition of this type in the app's status, if it has one. */
export function condition(app: { status?: DistrolessAppStatus }, type: string): Condition | undefined {
  return app.status?.conditions?.find((c) => c.type === type);
}

/** A Pod read back from the API server, which always returns its metadata, spec and status. */
export interface ServedPod extends V1Pod {
  metadata: V1ObjectMeta & { name: string; uid: string };
  spec: V1PodSpec;
  status: V1PodStatus;
}

/** Ready and not terminating: a Pod a Service sends traffic to and a rollout counts. */
export const podReady = (pod: ServedPod): boolean => !pod.metadata.deletionTimestamp && (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/**
 * The fewest Ready and the most live (not terminating) Pods at any moment of a
 * recorded Pod watch, counted once its initial list of `listed` Pods is in (the
 * watch lists them one ADDED event at a time).
 */
export function podExtremes(events: { type: string; object: ServedPod }[], listed: number): { minReady: number; maxLive: number } {
  const live = new Map<string, ServedPod>();
  let minReady = Infinity;
  let maxLive = 0;
  for (const [i, { type, object }] of events.entries()) {
    if (type === 'DELETED') live.delete(object.metadata.name);
    else live.set(object.metadata.name, object);
    if (i < listed - 1) continue;
    const alive = [...live.values()].filter((p) => !p.metadata.deletionTimestamp);
    maxLive = Math.max(maxLive, alive.length);
    minReady = Math.min(minReady, alive.filter(podReady).length);
  }
  return { minReady, maxLive };
}
