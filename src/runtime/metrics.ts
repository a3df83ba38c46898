import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Where a component registers the metrics it owns: a registry of the process's
 * own (no global state) and the prefix every metric name starts with. Each
 * metric is declared by the module that measures it.
 */
export interface MetricsScope {
  registry: Registry;
  prefix: string;
}

/** A fresh registry with Node's process metrics in it. */
export function createMetricsScope(prefix: string): MetricsScope {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return { registry, prefix };
}
