import type { StoredApp } from './reconciler.js';

/**
 * What the app cache keeps of a DistrolessApp: what validation, observe, plan and
 * status read. Dropped: managedFields (a few hundred bytes per field manager) and
 * the annotations, where a client-side `kubectl apply` leaves the whole app a
 * second time (kubectl.kubernetes.io/last-applied-configuration). At 10,000 apps
 * those copies, not the apps, would be most of the cache.
 */
export function trimApp(app: StoredApp): StoredApp {
  const { name, namespace, uid, generation, resourceVersion, labels } = app.metadata as StoredApp['metadata'] & { labels?: Record<string, string> };
  return {
    apiVersion: app.apiVersion,
    kind: app.kind,
    metadata: { name, namespace, uid, generation, resourceVersion, ...(labels ? { labels } : {}) },
    spec: app.spec,
    ...(app.status ? { status: app.status } : {}),
  };
}
