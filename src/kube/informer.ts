import type { Logger } from 'pino';
import type { Cache, ChangeHandler, ChangeType, KubeObject } from './cache.js';
import { objectKey } from './cache.js';
import type { ResourceRef, ResourceType } from './resources.js';
import { isGone, isNotFound, type Rest } from './rest.js';
import { backoffDelay, sleep } from './wait.js';

export interface InformerOptions<T> {
  /** For logs and metrics: pods, distrolessapps. */
  name: string;
  rest: Rest;
  type: ResourceType;
  /** One namespace; all when absent. */
  namespace?: string | undefined;
  labelSelector?: string;
  log: Logger;
  /** A watch that sends nothing, not even a bookmark, for this long is presumed dead. */
  watchInactivityMs?: number;
  pageSize?: number;
  /** Called after every full list, the first included: a relist is how a lost watch recovers. */
  onList?: () => void;
  /** Secondary index, such as Pods by the app that controls them; undefined leaves an object out. */
  indexBy?: (object: T) => string | undefined;
  /**
   * What the cache keeps of each object as it arrives: a trimmed copy, or undefined
   * to keep none of it (an object the controller never looks at). Memory then grows
   * with what the controller reads, not with what anyone can create.
   */
  transform?: (object: T) => T | undefined;
}

/**
 * A list-then-watch cache that does not die. Unlike client-node's informer, which
 * stops for good on any error but 410, this one:
 * - resumes a watch from the last resourceVersion it saw (bookmarks included);
 * - relists when the server says that version is gone (410, or an ERROR event);
 * - retries every other list or watch failure with capped exponential backoff;
 * - treats a silent connection as dead and reconnects;
 * - logs and survives an exception thrown by a change handler.
 */
export class Informer<T extends KubeObject> implements Cache<T> {
  private readonly store = new Map<string, T>();
  private readonly handlers: ChangeHandler<T>[] = [];
  private readonly collection: ResourceRef;
  private readonly index = new Map<string, Map<string, T>>();
  private resourceVersion = '';
  /** The next round lists first: at start, and after the server forgot our resourceVersion. */
  private listNeeded = true;
  private stopped = false;
  private abort: AbortController | undefined;
  private wakeSleep: AbortController | undefined;
  private markSynced!: () => void;
  readonly synced: Promise<void> = new Promise((resolve) => (this.markSynced = resolve));
  hasSynced = false;
  /** The last list or watch found the resource not served (404). */
  missing = false;

  constructor(private readonly options: InformerOptions<T>) {
    this.collection = { type: options.type, namespace: options.namespace };
  }

  /** Called on every change after the cache has applied it; a handler that throws is logged, and the cache stays consistent. */
  subscribe(handler: ChangeHandler<T>): void {
    this.handlers.push(handler);
  }

  start(): void {
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    this.wakeSleep?.abort();
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(): T[] {
    return [...this.store.values()];
  }

  /** Objects whose indexBy value is `value`. */
  byIndex(value: string): T[] {
    return [...(this.index.get(value)?.values() ?? [])];
  }

  get size(): number {
    return this.store.size;
  }

  private put(key: string, object: T): void {
    // managedFields are often the largest part of an object, and nothing here reads them.
    if (object.metadata && 'managedFields' in object.metadata) delete (object.metadata as { managedFields?: unknown }).managedFields;
    const old = this.store.get(key);
    if (old) this.unindex(key, old);
    this.store.set(key, object);
    const value = this.options.indexBy?.(object);
    if (value === undefined) return;
    let bucket = this.index.get(value);
    if (!bucket) this.index.set(value, (bucket = new Map()));
    bucket.set(key, object);
  }

  private remove(key: string): void {
    const old = this.store.get(key);
    if (old) this.unindex(key, old);
    this.store.delete(key);
  }

  private unindex(key: string, object: T): void {
    const value = this.options.indexBy?.(object);
    if (value === undefined) return;
    const bucket = this.index.get(value);
    bucket?.delete(key);
    if (bucket?.size === 0) this.index.delete(value);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        await this.listAndWatch();
        failures = 0;
      } catch (err) {
        if (this.stopped) return;
        const delay = backoffDelay(failures++, 200, 30_000);
        this.noteFailure(err, delay);
        this.wakeSleep = new AbortController();
        await sleep(delay, this.wakeSleep.signal);
      }
    }
  }

  /** Lists when the cache cannot be trusted to resume, then watches until the connection ends. */
  private async listAndWatch(): Promise<void> {
    if (this.listNeeded) {
      await this.relist();
      this.listNeeded = false;
    }
    if ((await this.watchOnce()) === 'gone') {
      this.options.log.info({ informer: this.options.name }, 'watch resourceVersion expired; relisting');
      this.listNeeded = true;
    }
  }

  private noteFailure(err: unknown, retryInMs: number): void {
    const { log, name } = this.options;
    if (isGone(err)) this.listNeeded = true;
    if (!isNotFound(err)) {
      log.warn({ informer: name, err, retryInMs }, 'list/watch failed; retrying');
      return;
    }
    // The resource is not served at all: for DistrolessApps, the CRD was removed.
    // Said once per outage, loudly, not once per retry.
    if (!this.missing) log.error({ informer: name, resource: this.options.type }, 'the API server does not serve this resource (is the CRD installed?); waiting for it');
    this.missing = true;
    this.listNeeded = true;
  }

  /** Replaces the cache with a full list, telling handlers what changed as if they had watched. */
  private async relist(): Promise<void> {
    const { items, resourceVersion } = await this.listAll();
    const seen = new Set<string>();
    for (const item of items) {
      const key = objectKey(item);
      seen.add(key);
      const old = this.store.get(key);
      this.put(key, item);
      if (!old) this.notify('ADDED', item);
      else if (old.metadata?.resourceVersion !== item.metadata?.resourceVersion) this.notify('MODIFIED', item);
    }
    for (const [key, old] of this.store) {
      if (seen.has(key)) continue;
      this.remove(key);
      this.notify('DELETED', old);
    }
    this.resourceVersion = resourceVersion;
    this.markListed(items.length);
  }

  /**
   * Every page of the collection, transformed page by page, and the resourceVersion
   * to watch from. Only one page of whole objects is held at a time: a list of
   * 10,000 whole Pods and apps, kept until the last page came, was the operator's
   * largest heap (a 160 MiB heap limit ran out there, not while converging).
   */
  private async listAll(): Promise<{ items: T[]; resourceVersion: string }> {
    const { rest, labelSelector, pageSize = 500, transform } = this.options;
    const items: T[] = [];
    let continueToken: string | undefined;
    let resourceVersion: string;
    do {
      const page = await rest.request<{ items: T[]; metadata: { resourceVersion: string; continue?: string } }>('GET', this.collection, {
        query: { labelSelector, limit: pageSize, continue: continueToken },
      });
      for (const item of page.items) {
        const kept = transform ? transform(item) : item;
        if (kept !== undefined) items.push(kept);
      }
      continueToken = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion;
    } while (continueToken);
    return { items, resourceVersion };
  }

  private markListed(count: number): void {
    const { log, name } = this.options;
    this.options.onList?.();
    if (this.missing) log.info({ informer: name }, 'the resource is served again');
    this.missing = false;
    if (!this.hasSynced) {
      this.hasSynced = true;
      this.markSynced();
    }
    log.debug({ informer: name, items: count, resourceVersion: this.resourceVersion }, 'listed');
  }

  /** Watches until the connection ends: 'closed' to resume, 'gone' to relist; throws on failure. */
  private watchOnce(): Promise<'closed' | 'gone'> {
    const { rest, labelSelector, watchInactivityMs = 90_000 } = this.options;
    return new Promise((resolve, reject) => {
      let gone = false;
      const query = {
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        labelSelector,
        // Spread reconnects out so many operators do not all come back at once.
        timeoutSeconds: 300 + Math.floor(Math.random() * 300),
      };
      rest
        .watch(
          this.collection,
          query,
          {
            onEvent: (type, object) => {
              if (type === 'ERROR') {
                if (object.code === 410) gone = true;
                else this.options.log.warn({ informer: this.options.name, status: object }, 'watch error event');
                this.abort?.abort();
                return;
              }
              const version = object.metadata?.resourceVersion;
              if (version) this.resourceVersion = version;
              if (type === 'BOOKMARK') return;
              this.apply(type as ChangeType, object as T);
            },
            onDone: (err) => {
              if (gone) resolve('gone');
              else if (isTimeout(err)) {
                this.options.log.debug({ informer: this.options.name }, 'watch went silent; reconnecting');
                resolve('closed');
              }
              else if (err && !this.stopped && !isAbort(err)) reject(err);
              else resolve('closed');
            },
          },
          watchInactivityMs,
        )
        .then((controller) => (this.abort = controller), reject);
    });
  }

  private apply(type: ChangeType, received: T): void {
    const key = objectKey(received);
    if (type === 'DELETED' && this.options.transform && !this.store.has(key)) return; // never kept, nothing to tell
    const object = type === 'DELETED' || !this.options.transform ? received : this.options.transform(received);
    if (object === undefined) return this.forget(key);
    if (type === 'DELETED') this.remove(key);
    else this.put(key, object);
    this.notify(type, object);
  }

  /** An object the transform no longer keeps: gone from the cache, as if deleted (its controller reference was removed, say). */
  private forget(key: string): void {
    const old = this.store.get(key);
    if (!old) return;
    this.remove(key);
    this.notify('DELETED', old);
  }

  private notify(type: ChangeType, object: T): void {
    for (const handler of this.handlers) {
      try {
        handler(type, object);
      } catch (err) {
        this.options.log.error({ informer: this.options.name, err }, 'change handler threw; the cache stays consistent');
      }
    }
  }
}

function isTimeout(err: unknown): boolean {
  return (err as { name?: string } | undefined)?.name === 'TimeoutError';
}

function isAbort(err: unknown): boolean {
  const name = (err as { name?: string })?.name;
  return name === 'AbortError';
}
