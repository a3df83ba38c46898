import type { Cache, ChangeHandler, KubeObject } from '../../../src/kube/cache.js';
import { objectKey } from '../../../src/kube/cache.js';
import { Controller, type Reconcile } from '../../../src/runtime/controller.js';
import { createMetricsScope } from '../../../src/runtime/metrics.js';
import { waitFor } from '../../../dev/wait-for.js';
import { capturingLogger } from './fake-rest.js';

// The generic controller: metrics read from what they measure, errors logged with
// the error itself and the reconcile's id.

/** A cache filled by hand; change() plays a watch event. */
class HandCache implements Cache<KubeObject> {
  private readonly objects = new Map<string, KubeObject>();
  private readonly handlers: ChangeHandler<KubeObject>[] = [];
  readonly hasSynced = true;
  readonly synced = Promise.resolve();
  get size(): number {
    return this.objects.size;
  }
  get(key: string): KubeObject | undefined {
    return this.objects.get(key);
  }
  list(): KubeObject[] {
    return [...this.objects.values()];
  }
  byIndex(): KubeObject[] {
    return [];
  }
  subscribe(handler: ChangeHandler<KubeObject>): void {
    this.handlers.push(handler);
  }
  start(): void {}
  stop(): void {}
  change(name: string): void {
    const object = { metadata: { name, namespace: 'shop' } };
    this.objects.set(objectKey(object), object);
    for (const h of this.handlers) h('MODIFIED', object);
  }
}

const soon = { timeoutMs: 5_000, intervalMs: 5 };

async function metricValue(scope: ReturnType<typeof createMetricsScope>, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await scope.registry.getSingleMetric(`${scope.prefix}${name}`)!.get();
  return metric.values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((n, v) => n + v.value, 0);
}

describe('Controller', () => {
  let controller: Controller | undefined;
  let release: () => void = () => {};
  afterEach(async () => {
    release();
    await controller?.stop();
  });

  it('reports the queue depth as it is when scraped, delayed requeues included', async () => {
    const metrics = createMetricsScope('test_');
    const gate = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    // The first reconcile asks to be run again in 30 ms; every later one holds the only worker.
    const reconcile: Reconcile = async () => (calls++ === 0 ? { requeueAfterMs: 30 } : gate.then(() => ({})));
    const cache = new HandCache();
    controller = new Controller({ name: 'test', reconcile, workers: 1, resyncMs: 3_600_000, log: capturingLogger().log, metrics }).reconciles(cache);
    cache.change('a');
    cache.change('b');
    cache.change('c');
    expect(await metricValue(metrics, 'workqueue_depth')).toBe(3);
    controller.start();
    // a ran and asked again; b holds the worker; c waits; then a's timer puts it back.
    await waitFor(async () => (await metricValue(metrics, 'workqueue_depth')) === 2, { ...soon, what: 'the delayed requeue of a to show in the depth' });
    expect(calls).toBe(2);
  });

  it('counts a failed reconcile, logs the error with its stack and the reconcile id, and retries the key', async () => {
    const metrics = createMetricsScope('test_');
    const { log, lines } = capturingLogger();
    let calls = 0;
    const reconcile: Reconcile = async (key, { reconcileId }) => {
      calls++;
      if (calls === 1) throw Object.assign(new Error(`boom in ${key}`), { reconcileId });
      return {};
    };
    const cache = new HandCache();
    controller = new Controller({ name: 'test', reconcile, workers: 1, resyncMs: 3_600_000, log, metrics }).reconciles(cache);
    cache.change('a');
    controller.start();
    await waitFor(() => calls === 2, { ...soon, what: 'the retry' });
    await waitFor(async () => (await metricValue(metrics, 'reconcile_total', { result: 'success' })) === 1, { ...soon, what: 'the successful retry to be counted' });
    expect(await metricValue(metrics, 'reconcile_errors_total')).toBe(1);
    const failure = lines.find((l) => l.msg === 'reconcile failed; will retry') as { err: { message: string; stack: string; reconcileId: string }; reconcileId: string; namespace: string; name: string };
    expect(failure).toMatchObject({ namespace: 'shop', name: 'a', controller: 'test' });
    expect(failure.err.message).toBe('boom in shop/a');
    expect(failure.err.stack).toContain('controller.test.ts');
    expect(failure.reconcileId).toBe(failure.err.reconcileId);
  });

  it('never reconciles one key in two workers at once', async () => {
    const metrics = createMetricsScope('test_');
    let inFlight = 0;
    let most = 0;
    let calls = 0;
    const reconcile: Reconcile = async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      calls++;
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      return {};
    };
    const cache = new HandCache();
    controller = new Controller({ name: 'test', reconcile, workers: 4, resyncMs: 3_600_000, log: capturingLogger().log, metrics }).reconciles(cache);
    controller.start();
    for (let i = 0; i < 20; i++) cache.change('a');
    await waitFor(() => inFlight === 0 && calls >= 2, { ...soon, what: 'the changes to be worked off' });
    expect(most).toBe(1);
  });
});
