import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { Gauge, Histogram } from 'prom-client';
import { setupDistrolessAppController } from '../controller/setup.js';
import { credentialsFromDockerConfig } from '../image/credentials.js';
import { ImageInspector } from '../image/inspector.js';
import { endpointFor, plainHttpFor } from '../image/registry.js';
import { registrySource } from '../image/source.js';
import { loadContext } from '../kube/context.js';
import { LeaderElector } from '../kube/leader.js';
import { restClient } from '../kube/rest.js';
import { clientMetrics } from '../runtime/client-metrics.js';
import { createLogger } from '../runtime/log.js';
import { Manager } from '../runtime/manager.js';
import { createMetricsScope, type MetricsScope } from '../runtime/metrics.js';
import { platformOf } from './inspect.js';
import type { RunOptions } from './run-options.js';

/** What every metric the operator exports is named with, as config/prometheus and config/grafana use them. */
export const METRICS_PREFIX = 'distroless_operator_';

/**
 * The composition root: builds the client, the manager and the DistrolessApp
 * controller from the flags, and runs them until SIGTERM or SIGINT. Resolves
 * with the exit code.
 */
export async function run(opts: RunOptions): Promise<number> {
  const log = createLogger(opts.logLevel);
  // --kubeconfig takes KUBECONFIG as its default, which may list several files:
  // the loader reads that list itself, merged as kubectl merges it.
  const file = opts.kubeconfig === process.env.KUBECONFIG ? undefined : opts.kubeconfig;
  const context = loadContext({ file });
  const identity = `${hostname()}_${process.pid}`;
  const rest = restClient(context, `distroless-operator/${identity}`);
  const metrics = createMetricsScope(METRICS_PREFIX);
  const client = clientMetrics(metrics);
  client.instrument(rest);

  const elector = opts.leaderElect ? new LeaderElector(rest, { namespace: opts.leaseNamespace, name: opts.leaseName, identity }, log) : undefined;
  const manager = new Manager({ log, metrics, metricsAddress: opts.metricsAddr, healthAddress: opts.healthAddr, elector });
  const images = imageInspector(opts, metrics);
  setupDistrolessAppController(manager, { rest, namespaces: opts.namespaces, appSelector: opts.selector, workers: opts.workers, resyncMs: opts.resync, identity, log, metrics, clientMetrics: client, images });

  const stop = (signal: string) => {
    log.info({ signal }, 'signal received');
    void manager.stop(0);
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  log.info({ namespaces: opts.namespaces.length ? opts.namespaces : 'all', selector: opts.selector ?? 'all apps', workers: opts.workers, leaderElection: opts.leaderElect }, 'starting');
  return manager.start();
}

/** The image inspector, with the registry options the flags give and the metrics it feeds. */
export function imageInspector(opts: RunOptions, { registry, prefix }: MetricsScope): ImageInspector<{ digest: string }> {
  // Read once at start: a mounted credentials file that changes needs a restart, as a kubeconfig does.
  const credentials = opts.registryCredentials ? credentialsFromDockerConfig(readFileSync(opts.registryCredentials, 'utf8')) : undefined;
  const reads = new Histogram({
    name: `${prefix}image_reads_seconds`,
    help: 'Time to read and judge one image (its layers streamed from the registry), by result. Verdicts are cached by digest, so each digest is read once.',
    labelNames: ['result'] as const,
    buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  const inspector = new ImageInspector(
    registrySource({
      platform: platformOf(opts.imagePlatform),
      timeoutMs: opts.imageTimeout,
      credentials,
      plainHttp: plainHttpFor(opts.insecureRegistries),
      endpoint: endpointFor(opts.registryEndpoints),
    }),
    { onRead: (result, seconds) => reads.observe({ result }, seconds) },
  );
  new Gauge({
    name: `${prefix}image_verdicts`,
    help: 'Image verdicts held in memory, one per manifest digest.',
    registers: [registry],
    collect() {
      this.set(inspector.size);
    },
  });
  return inspector;
}
