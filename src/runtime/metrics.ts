import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The operator's Prometheus metrics, in a registry of their own (no global state). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const prefix = 'distroless_operator_';
  const metrics = {
    registry,
    reconciles: new Counter({ name: `${prefix}reconcile_total`, help: 'Reconciles by result.', labelNames: ['result'] as const, registers: [registry] }),
    reconcileErrors: new Counter({ name: `${prefix}reconcile_errors_total`, help: 'Reconciles that failed and were requeued with backoff.', registers: [registry] }),
    reconcileDuration: new Histogram({
      name: `${prefix}reconcile_duration_seconds`,
      help: 'Time spent in one reconcile.',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    queueDepth: new Gauge({ name: `${prefix}workqueue_depth`, help: 'Keys waiting in the work queue.', registers: [registry] }),
    apps: new Gauge({ name: `${prefix}apps`, help: 'DistrolessApps by state.', labelNames: ['state'] as const, registers: [registry] }),
    apiWrites: new Counter({ name: `${prefix}api_writes_total`, help: 'Successful API writes by verb and resource.', labelNames: ['verb', 'resource'] as const, registers: [registry] }),
    apiConnections: new Counter({
      name: `${prefix}api_connections_total`,
      help: 'Connections opened to the API server for requests (watches aside): 1 over HTTP/2, which carries concurrent requests on one connection; near the worker count over HTTP/1.1. A steady climb means connections are not reused.',
      registers: [registry],
    }),
    lists: new Counter({ name: `${prefix}informer_lists_total`, help: 'Full lists by informer: one at start, then one per watch that could not resume.', labelNames: ['informer'] as const, registers: [registry] }),
    leader: new Gauge({ name: `${prefix}leader`, help: '1 while this process holds the leader Lease.', registers: [registry] }),
  };
  // Every state shows from the start, at 0, so dashboards and alerts need no absent() guard.
  for (const state of ['ready', 'reconciling', 'stalled']) metrics.apps.set({ state }, 0);
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;
