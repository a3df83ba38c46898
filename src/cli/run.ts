import { KubeConfig } from '@kubernetes/client-node';
import { hostname } from 'node:os';
import { setupDistrolessAppController } from '../controller/setup.js';
import { LeaderElector } from '../kube/leader.js';
import { restClient } from '../kube/rest.js';
import { clientMetrics } from '../runtime/client-metrics.js';
import { createLogger } from '../runtime/log.js';
import { Manager } from '../runtime/manager.js';
import { createMetricsScope } from '../runtime/metrics.js';
import type { RunOptions } from './run-options.js';

/**
 * The composition root: builds the client, the manager and the DistrolessApp
 * controller from the flags, and runs them until SIGTERM or SIGINT. Resolves
 * with the exit code.
 */
export async function run(opts: RunOptions): Promise<number> {
  const log = createLogger(opts.logLevel);
  const kc = new KubeConfig();
  if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
  else kc.loadFromDefault();
  const identity = `${hostname()}_${process.pid}`;
  const rest = restClient(kc, `distroless-operator/${identity}`);
  const metrics = createMetricsScope('distroless_operator_');
  const client = clientMetrics(metrics);
  client.instrument(rest);

  const elector = opts.leaderElect ? new LeaderElector(rest, { namespace: opts.leaseNamespace, name: opts.leaseName, identity }, log) : undefined;
  const manager = new Manager({ log, metrics, metricsAddress: opts.metricsAddr, healthAddress: opts.healthAddr, elector });
  setupDistrolessAppController(manager, { rest, namespaces: opts.namespaces, workers: opts.workers, resyncMs: opts.resync, identity, log, metrics, clientMetrics: client });

  const stop = (signal: string) => {
    log.info({ signal }, 'signal received');
    void manager.stop(0);
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  log.info({ namespaces: opts.namespaces.length ? opts.namespaces : 'all', workers: opts.workers, leaderElection: opts.leaderElect }, 'starting');
  return manager.start();
}
