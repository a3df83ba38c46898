import { Counter } from 'prom-client';
import type { Rest } from '../kube/rest.js';
import type { MetricsScope } from './metrics.js';

// The API client's metrics. kube/ only offers hooks (as client-go does), so it
// stays free of any one metrics library; these counters are what the hooks feed.

export interface ClientMetrics {
  /** Counts the client's writes and new connections. */
  instrument(rest: Rest): void;
  /** An informer's onList hook that counts its full lists. */
  onList(informer: string): () => void;
}

export function clientMetrics({ registry, prefix }: MetricsScope): ClientMetrics {
  const writes = new Counter({
    name: `${prefix}api_writes_total`,
    help: 'Successful API writes by verb and resource.',
    labelNames: ['verb', 'resource'] as const,
    registers: [registry],
  });
  const connections = new Counter({
    name: `${prefix}api_connections_total`,
    help: 'Connections opened to the API server for requests (watches aside): 1 over HTTP/2, which carries concurrent requests on one connection; near the worker count over HTTP/1.1. A steady climb means connections are not reused.',
    registers: [registry],
  });
  const lists = new Counter({
    name: `${prefix}informer_lists_total`,
    help: 'Full lists by informer: one at start, then one per watch that could not resume.',
    labelNames: ['informer'] as const,
    registers: [registry],
  });
  return {
    instrument(rest) {
      rest.onWrite = (verb, resource) => writes.inc({ verb, resource });
      rest.onConnect = () => connections.inc();
    },
    onList: (informer) => () => lists.inc({ informer }),
  };
}
