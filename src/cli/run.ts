import { KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '../runtime/log.js';
import { Manager } from '../runtime/manager.js';
import type { RunOptions } from './run-options.js';

/** Runs the manager until SIGTERM or SIGINT; resolves with the exit code. */
export async function run(opts: RunOptions): Promise<number> {
  const log = createLogger(opts.logLevel);
  const kc = new KubeConfig();
  if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
  else kc.loadFromDefault();
  const manager = new Manager(
    kc,
    {
      namespaces: opts.namespaces,
      workers: opts.workers,
      resyncMs: opts.resync,
      leaderElection: { enabled: opts.leaderElect, namespace: opts.leaseNamespace, name: opts.leaseName },
      metricsAddress: opts.metricsAddr,
      healthAddress: opts.healthAddr,
    },
    log,
  );
  const stop = (signal: string) => {
    log.info({ signal }, 'signal received');
    void manager.stop(0);
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  log.info({ namespaces: opts.namespaces.length ? opts.namespaces : 'all', workers: opts.workers, leaderElection: opts.leaderElect }, 'starting');
  return manager.start();
}

