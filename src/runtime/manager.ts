import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { Gauge } from 'prom-client';
import type { Cache, KubeObject } from '../kube/cache.js';
import type { Controller } from './controller.js';
import type { MetricsScope } from './metrics.js';
import { serveHttp } from './server.js';

/** Leader election as the manager needs it; kube/leader.ts's LeaderElector is one. */
export interface Elector {
  /** Resolves with 'lost' when leadership is lost, 'stopped' after stop(). */
  run(onStartedLeading: () => void): Promise<'lost' | 'stopped'>;
  stop(): void;
  release(): Promise<void>;
}

export interface ManagerOptions {
  log: Logger;
  metrics: MetricsScope;
  metricsAddress: string;
  healthAddress: string;
  /** Only the holder of the lease runs controllers; without an elector this process always does. */
  elector?: Elector | undefined;
}

/**
 * Owns the lifecycle of caches, controllers, leader election and the HTTP
 * endpoints. Caches fill as soon as the process starts, so a new leader begins
 * with a warm cache; only the leader runs controllers.
 */
export class Manager {
  private readonly caches: Cache<KubeObject>[] = [];
  private readonly controllers: Controller[] = [];
  private readonly servers: Server[] = [];
  private leading = false;
  private stopping = false;
  private readonly finished: Promise<number>;
  private finish!: (code: number) => void;

  constructor(private readonly options: ManagerOptions) {
    this.finished = new Promise((resolve) => (this.finish = resolve));
    registerLeaderGauge(options.metrics, () => this.leading);
  }

  addCache<T extends KubeObject>(cache: Cache<T>): void {
    this.caches.push(cache);
  }

  addController(controller: Controller): void {
    this.controllers.push(controller);
  }

  /** Starts everything; resolves with the process exit code once the manager has stopped. */
  async start(): Promise<number> {
    const probes = { healthy: () => !this.stopping, ready: () => this.caches.every((c) => c.hasSynced) };
    this.servers.push(await serveHttp(this.options.healthAddress, probes));
    this.servers.push(await serveHttp(this.options.metricsAddress, probes, this.options.metrics.registry));
    for (const cache of this.caches) cache.start();
    // A SIGTERM while the caches fill (the CRD missing, say) must still end the process.
    await Promise.race([Promise.all(this.caches.map((c) => c.synced)), this.finished]);
    if (this.stopping) return this.finished;
    this.options.log.info({ cached: this.caches.map((c) => c.size) }, 'caches synced');

    const { elector } = this.options;
    if (!elector) this.startControllers();
    else void elector.run(() => this.startControllers()).then((outcome) => this.leadershipEnded(outcome));
    return this.finished;
  }

  private startControllers(): void {
    if (this.stopping) return;
    this.leading = true;
    for (const controller of this.controllers) controller.start();
  }

  private leadershipEnded(outcome: 'lost' | 'stopped'): void {
    this.leading = false;
    // A leader that lost its lease must not write again: stop, and let the
    // Deployment restart the process as a fresh candidate.
    if (outcome === 'lost') void this.stop(1);
  }

  /** Stops taking work, lets in-flight reconciles finish, releases the Lease. */
  async stop(code = 0): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.options.log.info('stopping: finishing in-flight work');
    this.options.elector?.stop();
    await Promise.all(this.controllers.map((c) => c.stop()));
    this.leading = false;
    await this.options.elector?.release();
    for (const cache of this.caches) cache.stop();
    await Promise.all(this.servers.map((s) => new Promise((resolve) => s.close(resolve))));
    this.options.log.info('stopped');
    this.finish(code);
  }
}

function registerLeaderGauge({ registry, prefix }: MetricsScope, isLeading: () => boolean): void {
  new Gauge({
    name: `${prefix}leader`,
    help: '1 while this process runs the controllers: it holds the leader Lease, or leader election is off.',
    registers: [registry],
    collect() {
      this.set(isLeading() ? 1 : 0);
    },
  });
}
