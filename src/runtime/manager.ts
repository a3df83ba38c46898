import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { API_VERSION, PLURAL } from '../api/schema.js';
import { createReconciler, type StoredApp } from '../controller/reconciler.js';
import type { AppState } from '../controller/status.js';
import { LABEL_APP, LABEL_MANAGED_BY, MANAGER } from '../render/pod.js';
import { EventRecorder } from '../kube/events.js';
import { Informer, objectKey, type KubeObject } from '../kube/informer.js';
import { LeaderElector } from '../kube/leader.js';
import { createMetrics } from './metrics.js';
import { WorkQueue } from './queue.js';
import { restClient } from '../kube/rest.js';
import { serveHttp } from './server.js';

export interface ManagerOptions {
  /** Namespaces to watch; empty for all. */
  namespaces: string[];
  workers: number;
  resyncMs: number;
  leaderElection: { enabled: boolean; namespace: string; name: string; identity?: string };
  metricsAddress: string;
  healthAddress: string;
}

/**
 * Wires caches, queue, reconciler, leader election and the HTTP endpoints, and
 * owns their lifecycle. Caches fill as soon as the process starts, so a new
 * leader begins with a warm cache; only the leader runs workers.
 */
export class Manager {
  private readonly metrics = createMetrics();
  private readonly queue = new WorkQueue();
  private readonly appStates = new Map<string, AppState>();
  private readonly appInformers: Informer<StoredApp>[];
  private readonly podInformers: Informer<V1Pod>[];
  private readonly elector: LeaderElector | undefined;
  private readonly servers: Server[] = [];
  private readonly workers: Promise<void>[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private readonly finished: Promise<number>;
  private finish!: (code: number) => void;

  constructor(
    kc: KubeConfig,
    private readonly options: ManagerOptions,
    private readonly log: Logger,
  ) {
    const identity = options.leaderElection.identity ?? `${hostname()}_${process.pid}`;
    const rest = restClient(kc, `distroless-operator/${identity}`);
    rest.onWrite = (verb, resource) => this.metrics.apiWrites.inc({ verb, resource });
    rest.onConnect = () => this.metrics.apiConnections.inc();

    const scopes = options.namespaces.length ? options.namespaces.map((ns) => `/namespaces/${ns}`) : [''];
    const enqueue = (key: string | undefined) => {
      if (key) this.queue.add(key);
      this.metrics.queueDepth.set(this.queue.length);
    };
    this.appInformers = scopes.map(
      (scope) =>
        new Informer<StoredApp>({
          name: PLURAL,
          rest,
          path: `/apis/${API_VERSION}${scope}/${PLURAL}`,
          log,
          onChange: (_, app) => enqueue(objectKey(app)),
          onList: () => this.metrics.lists.inc({ informer: PLURAL }),
        }),
    );
    this.podInformers = scopes.map(
      (scope) =>
        new Informer<V1Pod>({
          name: 'pods',
          rest,
          path: `/api/v1${scope}/pods`,
          labelSelector: `${LABEL_MANAGED_BY}=${MANAGER},${LABEL_APP}`,
          indexBy: appKeyOfPod,
          log,
          onChange: (_, pod) => enqueue(appKeyOfPod(pod)),
          onList: () => this.metrics.lists.inc({ informer: 'pods' }),
        }),
    );

    const events = new EventRecorder(rest, 'distroless-operator', identity, log);
    const reconcile = createReconciler({
      getApp: (key) => this.informerFor(this.appInformers, key)?.get(key),
      podsOf: (key) => this.informerFor(this.podInformers, key)?.byIndex(key) ?? [],
      rest,
      events,
      log,
    });
    this.runWorker = this.makeWorker(reconcile);

    if (options.leaderElection.enabled) {
      this.elector = new LeaderElector(rest, { namespace: options.leaderElection.namespace, name: options.leaderElection.name, identity }, log);
    }
    this.finished = new Promise((resolve) => (this.finish = resolve));
  }

  private readonly runWorker: () => Promise<void>;

  /** Starts everything; resolves with the process exit code once the manager has stopped. */
  async start(): Promise<number> {
    const ready = () => [...this.appInformers, ...this.podInformers].every((i) => i.hasSynced);
    this.servers.push(await serveHttp(this.options.healthAddress, { healthy: () => !this.stopping, ready }));
    this.servers.push(await serveHttp(this.options.metricsAddress, { healthy: () => !this.stopping, ready }, this.metrics.registry));
    for (const informer of [...this.appInformers, ...this.podInformers]) informer.start();
    await Promise.all([...this.appInformers, ...this.podInformers].map((i) => i.synced));
    this.log.info({ apps: this.appInformers.reduce((n, i) => n + i.size, 0) }, 'caches synced');

    if (this.elector) {
      void this.elector
        .run(() => {
          this.metrics.leader.set(1);
          this.startWorkers();
        })
        .then((outcome) => {
          this.metrics.leader.set(0);
          // A leader that lost its lease must not write again: stop, and let the
          // Deployment restart the process as a fresh candidate.
          if (outcome === 'lost') void this.stop(1);
        });
    } else {
      this.startWorkers();
    }
    return this.finished;
  }

  private startWorkers(): void {
    this.enqueueAll();
    for (let i = 0; i < this.options.workers; i++) this.workers.push(this.runWorker());
    // Level-triggered safety net: look at every app again now and then.
    this.resyncTimer = setInterval(() => this.enqueueAll(), this.options.resyncMs);
    this.resyncTimer.unref();
  }

  private enqueueAll(): void {
    for (const informer of this.appInformers) for (const app of informer.list()) this.queue.add(objectKey(app));
    this.metrics.queueDepth.set(this.queue.length);
  }

  private makeWorker(reconcile: ReturnType<typeof createReconciler>) {
    return async () => {
      for (;;) {
        const key = await this.queue.get();
        if (key === undefined) return;
        this.metrics.queueDepth.set(this.queue.length);
        const end = this.metrics.reconcileDuration.startTimer();
        try {
          const result = await reconcile(key);
          this.queue.forget(key);
          this.recordState(key, result.state);
          if (result.requeueAfterMs) this.queue.addAfter(key, result.requeueAfterMs);
          this.metrics.reconciles.inc({ result: 'success' });
        } catch (err) {
          const delay = this.queue.addRateLimited(key);
          this.metrics.reconciles.inc({ result: 'error' });
          this.metrics.reconcileErrors.inc();
          const [namespace, name] = key.split('/');
          this.log.warn({ namespace, name, err: String(err), retryInMs: delay }, 'reconcile failed; will retry');
        } finally {
          end();
          this.queue.done(key);
        }
      }
    };
  }

  /** Keeps the apps-by-state gauge: each app counted once, under its latest state. */
  private recordState(key: string, state: AppState | undefined): void {
    const before = this.appStates.get(key);
    if (before === state) return;
    if (before) this.metrics.apps.dec({ state: before });
    if (state) {
      this.appStates.set(key, state);
      this.metrics.apps.inc({ state });
    } else this.appStates.delete(key);
  }

  /** Stops taking work, lets in-flight reconciles finish, releases the Lease. */
  async stop(code = 0): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info('stopping: finishing in-flight work');
    this.elector?.stop();
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.queue.shutDown();
    await Promise.all(this.workers);
    await this.elector?.release();
    for (const informer of [...this.appInformers, ...this.podInformers]) informer.stop();
    await Promise.all(this.servers.map((s) => new Promise((resolve) => s.close(resolve))));
    this.log.info('stopped');
    this.finish(code);
  }

  private informerFor<T extends KubeObject>(informers: Informer<T>[], key: string): Informer<T> | undefined {
    if (informers.length === 1 && this.options.namespaces.length === 0) return informers[0];
    const index = this.options.namespaces.indexOf(key.split('/')[0] ?? '');
    return index >= 0 ? informers[index] : undefined;
  }
}

/** The app a Pod belongs to, by its label: `namespace/app`. */
function appKeyOfPod(pod: V1Pod): string | undefined {
  const app = pod.metadata?.labels?.[LABEL_APP];
  return app ? `${pod.metadata?.namespace}/${app}` : undefined;
}
