// What a reader of a local cache of API objects sees, whether one informer fills
// it or several (one per namespace).

export interface KubeObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; uid?: string };
}

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';
export type ChangeHandler<T> = (type: ChangeType, object: T) => void;

export interface Cache<T extends KubeObject> {
  get(key: string): T | undefined;
  list(): T[];
  /** Objects whose index value (the informer's indexBy) is `value`. */
  byIndex(value: string): T[];
  readonly size: number;
  /** Every list has completed once: the cache reflects the server. */
  readonly hasSynced: boolean;
  readonly synced: Promise<void>;
  subscribe(handler: ChangeHandler<T>): void;
  start(): void;
  stop(): void;
}

/** `namespace/name`, the key of caches and work queues. */
export const objectKey = (o: KubeObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

export const namespaceOfKey = (key: string): string => key.slice(0, Math.max(0, key.indexOf('/')));
