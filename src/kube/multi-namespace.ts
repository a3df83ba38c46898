import type { Cache, ChangeHandler, KubeObject } from './cache.js';
import { namespaceOfKey } from './cache.js';
import { Informer, type InformerOptions } from './informer.js';

/**
 * One cache over a list of namespaces: an informer per namespace (each needs only
 * namespaced RBAC), read as one. Keys route to their namespace's informer.
 */
export class MultiNamespaceCache<T extends KubeObject> implements Cache<T> {
  private readonly byNamespace: Map<string, Informer<T>>;

  constructor(namespaces: readonly string[], options: Omit<InformerOptions<T>, 'namespace'>) {
    this.byNamespace = new Map(namespaces.map((namespace) => [namespace, new Informer<T>({ ...options, namespace })]));
  }

  private get informers(): Informer<T>[] {
    return [...this.byNamespace.values()];
  }

  get(key: string): T | undefined {
    return this.byNamespace.get(namespaceOfKey(key))?.get(key);
  }

  list(): T[] {
    return this.informers.flatMap((i) => i.list());
  }

  byIndex(value: string): T[] {
    return this.informers.flatMap((i) => i.byIndex(value));
  }

  get size(): number {
    return this.informers.reduce((n, i) => n + i.size, 0);
  }

  get hasSynced(): boolean {
    return this.informers.every((i) => i.hasSynced);
  }

  get synced(): Promise<void> {
    return Promise.all(this.informers.map((i) => i.synced)).then(() => undefined);
  }

  subscribe(handler: ChangeHandler<T>): void {
    for (const informer of this.informers) informer.subscribe(handler);
  }

  start(): void {
    for (const informer of this.informers) informer.start();
  }

  stop(): void {
    for (const informer of this.informers) informer.stop();
  }
}

/** A cache of the given namespaces, or of all of them when the list is empty. */
export function cacheOf<T extends KubeObject>(namespaces: readonly string[], options: Omit<InformerOptions<T>, 'namespace'>): Cache<T> {
  return namespaces.length > 0 ? new MultiNamespaceCache<T>(namespaces, options) : new Informer<T>(options);
}
