import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Gauge } from 'prom-client';
import { PLURAL } from '../api/schema.js';
import type { ImageInspector } from '../image/inspector.js';
import { objectKey, type Cache } from '../kube/cache.js';
import { EventRecorder } from '../kube/events.js';
import { cacheOf } from '../kube/multi-namespace.js';
import { controllerKey } from '../kube/owners.js';
import { PODS } from '../kube/resources.js';
import type { Rest } from '../kube/rest.js';
import { LABEL_APP, LABEL_MANAGED_BY, MANAGER } from '../render/pod.js';
import type { ClientMetrics } from '../runtime/client-metrics.js';
import { Controller } from '../runtime/controller.js';
import type { Manager } from '../runtime/manager.js';
import type { MetricsScope } from '../runtime/metrics.js';
import { OWNED_KINDS, trimOwned, type OwnedObject } from './owned.js';
import { trimPod } from './pods.js';
import { createReconciler, type StoredApp } from './reconciler.js';
import { APP_OWNER, DISTROLESS_APPS } from './resources.js';
import { stateOf, type AppState } from './status.js';
import { trimApp } from './stored-app.js';

export interface DistrolessAppControllerOptions {
  rest: Rest;
  /** Namespaces to watch; all when empty. */
  namespaces: readonly string[];
  /** A label selector on DistrolessApps: the shard of the apps this operator reconciles; all when unset. */
  appSelector?: string;
  workers: number;
  resyncMs: number;
  /** Who writes the Events: the leader election identity. */
  identity: string;
  log: Logger;
  metrics: MetricsScope;
  clientMetrics: ClientMetrics;
  /** Inspects the apps' images in the background (DESIGN section 9). */
  images: Pick<ImageInspector<{ digest: string }>, 'lookup' | 'subscribe'>;
}

/**
 * The DistrolessApp controller's wiring, and the only place that knows it: which
 * caches, how a Pod maps to its app (by its controller reference), which
 * metrics. Called by the composition root (cli/run.ts).
 */
export function setupDistrolessAppController(manager: Manager, options: DistrolessAppControllerOptions): void {
  const { rest, namespaces, log } = options;
  const apps = cacheOf<StoredApp>(namespaces, {
    name: PLURAL,
    rest,
    type: DISTROLESS_APPS,
    labelSelector: options.appSelector,
    transform: trimApp,
    log,
    onList: options.clientMetrics.onList(PLURAL),
  });
  const appKeyOf = (object: V1Pod | OwnedObject) => controllerKey(object, APP_OWNER);
  // Every shard caches every managed Pod (trimmed): a Pod does not carry its app's labels, and a Pod
  // whose app is another shard's only wakes a reconcile that finds no app and does nothing.
  const pods = cacheOf<V1Pod>(namespaces, {
    name: 'pods',
    rest,
    type: PODS,
    // Only the Pods this operator makes reach the cache; the index then keeps those an app controls.
    labelSelector: `${LABEL_MANAGED_BY}=${MANAGER},${LABEL_APP}`,
    indexBy: appKeyOf,
    transform: (pod) => trimPod(pod, (p) => appKeyOf(p) !== undefined),
    log,
    onList: options.clientMetrics.onList('pods'),
  });

  // The Services and PodDisruptionBudgets the operator makes carry the same labels; kept trimmed, by app.
  const owned = new Map(
    OWNED_KINDS.map((kind) => [
      kind,
      cacheOf<OwnedObject>(namespaces, {
        name: kind.type.plural,
        rest,
        type: kind.type,
        labelSelector: `${LABEL_MANAGED_BY}=${MANAGER},${LABEL_APP}`,
        indexBy: appKeyOf,
        transform: (object) => (appKeyOf(object) === undefined ? undefined : trimOwned(object)),
        log,
        onList: options.clientMetrics.onList(kind.type.plural),
      }),
    ]),
  );

  const reconcile = createReconciler({
    getApp: (key) => apps.get(key),
    podsOf: (key) => pods.byIndex(key),
    ownedOf: (kind, key) => owned.get(kind)?.byIndex(key) ?? [],
    rest,
    events: new EventRecorder(rest, MANAGER, options.identity, log),
    lookupImage: (reference) => options.images.lookup(reference),
  });
  const controller = new Controller({ name: 'distrolessapp', reconcile, workers: options.workers, resyncMs: options.resyncMs, log, metrics: options.metrics })
    .reconciles(apps)
    .watches(pods, (pod) => {
      const key = appKeyOf(pod);
      return key ? [key] : [];
    });
  // An owned object changed or removed by someone else is put back.
  for (const cache of owned.values()) controller.watches(cache, (object) => [appKeyOf(object)].filter((k) => k !== undefined));

  // An image inspected (or failing) is news for every app that runs it.
  options.images.subscribe((reference) => {
    for (const app of apps.list()) if (usesImage(app, reference)) controller.enqueue(objectKey(app));
  });

  manager.addCache(apps);
  manager.addCache(pods);
  for (const cache of owned.values()) manager.addCache(cache);
  manager.addController(controller);
  registerAppStates(apps, options.metrics);
}

function usesImage(app: StoredApp, reference: string): boolean {
  const spec = app.spec as { app?: { image?: unknown }; init?: { image?: unknown } } | undefined;
  return spec?.app?.image === reference || spec?.init?.image === reference;
}

/** Apps by the state their status shows, read from the cache at scrape time. */
function registerAppStates(apps: Cache<StoredApp>, { registry, prefix }: MetricsScope): void {
  const states: AppState[] = ['ready', 'reconciling', 'stalled'];
  new Gauge({
    name: `${prefix}apps`,
    help: 'DistrolessApps by the state their status shows (an app with no status yet counts as reconciling).',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const counts = new Map<AppState, number>(states.map((s) => [s, 0]));
      for (const app of apps.list()) {
        const state = stateOf(app.status ?? {});
        counts.set(state, (counts.get(state) ?? 0) + 1);
      }
      // Every state shows, at 0 too, so dashboards and alerts need no absent() guard.
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
}
