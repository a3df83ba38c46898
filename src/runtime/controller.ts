import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram } from 'prom-client';
import { objectKey, type Cache, type KubeObject } from '../kube/cache.js';
import type { MetricsScope } from './metrics.js';
import { WorkQueue } from './queue.js';

/** What a reconcile asks of the controller: only when to look again, if time alone can change the answer. */
export interface ReconcileResult {
  requeueAfterMs?: number;
}

export interface ReconcileContext {
  /** Carries the key's namespace and name and this reconcile's id. */
  log: Logger;
  reconcileId: string;
}

/**
 * One level-triggered step for one key. Throwing means "try again": the key is
 * requeued with per-key exponential backoff. What is not worth retrying is the
 * reconcile's to absorb (as a status), not to throw.
 */
export type Reconcile = (key: string, context: ReconcileContext) => Promise<ReconcileResult>;

export interface ControllerOptions {
  /** For logs: distrolessapp. */
  name: string;
  reconcile: Reconcile;
  workers: number;
  /** Every primary object is reconciled again this often, changed or not. */
  resyncMs: number;
  log: Logger;
  metrics: MetricsScope;
}

/**
 * A controller in the sense of controller-runtime: events from caches only
 * enqueue keys; a bounded number of workers take keys from a de-duplicating
 * queue, so one key is never reconciled by two workers at once.
 */
export class Controller {
  private readonly queue = new WorkQueue();
  private readonly primaries: Cache<KubeObject>[] = [];
  private readonly workers: Promise<void>[] = [];
  private readonly metrics: ReturnType<typeof controllerMetrics>;
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ControllerOptions) {
    this.metrics = controllerMetrics(options.metrics, this.queue);
  }

  /** Reconciles each object of the cache, keyed by namespace/name, on every change and every resync. */
  reconciles<T extends KubeObject>(cache: Cache<T>): this {
    this.primaries.push(cache);
    cache.subscribe((_, object) => this.queue.add(objectKey(object)));
    return this;
  }

  /** Reconciles the keys an object of the cache maps to (its controlling owner, say) on each of its changes. */
  watches<T extends KubeObject>(cache: Cache<T>, keysOf: (object: T) => string[]): this {
    cache.subscribe((_, object) => {
      for (const key of keysOf(object)) this.queue.add(key);
    });
    return this;
  }

  /** Reconciles a key because something outside the caches changed (an image was inspected, say). */
  enqueue(key: string): void {
    this.queue.add(key);
  }

  /** Starts the workers and the resync; the caches must have synced. */
  start(): void {
    this.enqueueAll();
    for (let i = 0; i < this.options.workers; i++) this.workers.push(this.work());
    this.resyncTimer = setInterval(() => this.enqueueAll(), this.options.resyncMs);
    this.resyncTimer.unref();
  }

  /** Takes no new key; resolves once the reconciles in flight have finished. */
  async stop(): Promise<void> {
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.queue.shutDown();
    await Promise.all(this.workers);
  }

  private enqueueAll(): void {
    for (const cache of this.primaries) for (const object of cache.list()) this.queue.add(objectKey(object));
  }

  private async work(): Promise<void> {
    for (let key = await this.queue.get(); key !== undefined; key = await this.queue.get()) {
      await this.process(key);
      this.queue.done(key);
    }
  }

  private async process(key: string): Promise<void> {
    const [namespace, name] = key.split('/');
    const reconcileId = randomUUID();
    const log = this.options.log.child({ controller: this.options.name, namespace, name, reconcileId });
    const end = this.metrics.duration.startTimer();
    try {
      const result = await this.options.reconcile(key, { log, reconcileId });
      this.queue.forget(key);
      if (result.requeueAfterMs) this.queue.addAfter(key, result.requeueAfterMs);
      this.metrics.reconciles.inc({ result: 'success' });
    } catch (err) {
      const retryInMs = this.queue.addRateLimited(key);
      this.metrics.reconciles.inc({ result: 'error' });
      this.metrics.errors.inc();
      log.warn({ err, retryInMs }, 'reconcile failed; will retry');
    } finally {
      end();
    }
  }
}

function controllerMetrics({ registry, prefix }: MetricsScope, queue: WorkQueue) {
  return {
    reconciles: new Counter({ name: `${prefix}reconcile_total`, help: 'Reconciles by result.', labelNames: ['result'] as const, registers: [registry] }),
    errors: new Counter({ name: `${prefix}reconcile_errors_total`, help: 'Reconciles that failed and were requeued with backoff.', registers: [registry] }),
    duration: new Histogram({
      name: `${prefix}reconcile_duration_seconds`,
      help: 'Time spent in one reconcile.',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    // Read from the queue at scrape time, so delayed adds and backoffs count too.
    depth: new Gauge({
      name: `${prefix}workqueue_depth`,
      help: 'Keys waiting in the work queue.',
      registers: [registry],
      collect() {
        this.set(queue.length);
      },
    }),
  };
}
