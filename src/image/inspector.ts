import { ImageError, type ImageVerdict } from './types.js';

/** How an inspector reaches images: resolve a reference to a digest (one manifest request), then read and judge. */
export interface InspectionSource<R extends { digest: string }> {
  resolve(reference: string): Promise<R>;
  inspect(resolved: R): Promise<ImageVerdict>;
}

/** What is known of a reference right now. */
export type Lookup =
  | { state: 'pending' }
  | { state: 'inspected'; verdict: ImageVerdict }
  /** The last attempt failed; another starts once `retryAt` has passed and someone asks again. */
  | { state: 'failed'; error: ImageError };

export interface InspectorOptions {
  /** How long a tag's digest is trusted before the registry is asked again; a digest reference never expires. */
  tagTtlMs?: number;
  /** The first retry after a failure; doubled per failure up to `maxRetryMs`. */
  minRetryMs?: number;
  maxRetryMs?: number;
  /** Images read at once: reading layers costs bandwidth and CPU, resolving a tag does not, so only reads wait. */
  maxConcurrentReads?: number;
  /** Verdicts kept, least recently used dropped first; a verdict is a few hundred bytes. */
  maxVerdicts?: number;
  now?: () => number;
  /** Called after every read of an image, for metrics. */
  onRead?: (result: 'inspected' | 'failed', seconds: number) => void;
}

interface ReferenceEntry {
  digest?: string;
  resolvedAt: number;
  error?: ImageError;
  failures: number;
  retryAt: number;
  refreshing: boolean;
}

/**
 * Inspects images for the operator without ever making a caller wait: `lookup`
 * answers from memory and, when the answer is missing or old, starts the work in
 * the background and calls `onSettled` when it is done. Verdicts are cached by
 * manifest digest, so an image referenced by a thousand apps is read once, and a
 * tag costs one manifest request per `tagTtlMs` however many apps use it.
 */
export class ImageInspector<R extends { digest: string }> {
  private readonly references = new Map<string, ReferenceEntry>();
  private readonly verdicts = new Map<string, ImageVerdict>();
  private readonly reading = new Map<string, Promise<ImageVerdict>>();
  private readonly waiting: (() => void)[] = [];
  private readonly listeners: ((reference: string) => void)[] = [];
  private readsRunning = 0;
  private readonly options: Required<Omit<InspectorOptions, 'onRead'>> & Pick<InspectorOptions, 'onRead'>;

  constructor(
    private readonly source: InspectionSource<R>,
    options: InspectorOptions = {},
  ) {
    this.options = {
      tagTtlMs: 5 * 60_000,
      minRetryMs: 10_000,
      maxRetryMs: 5 * 60_000,
      maxConcurrentReads: 2,
      maxVerdicts: 10_000,
      now: Date.now,
      ...options,
    };
  }

  lookup(reference: string): Lookup {
    const entry = this.references.get(reference);
    if (!entry) {
      this.refresh(reference, this.newEntry(reference));
      return { state: 'pending' };
    }
    if (this.due(reference, entry)) this.refresh(reference, entry);
    const verdict = entry.digest === undefined ? undefined : this.verdicts.get(entry.digest);
    if (verdict && !entry.error) return { state: 'inspected', verdict: this.touch(entry.digest!, verdict) };
    return entry.error ? { state: 'failed', error: entry.error } : { state: 'pending' };
  }

  /** Calls `listener` whenever what `lookup(reference)` answers has changed: a verdict, a new digest, a failure. */
  subscribe(listener: (reference: string) => void): void {
    this.listeners.push(listener);
  }

  /** Verdicts held: for the metrics. */
  get size(): number {
    return this.verdicts.size;
  }

  private newEntry(reference: string): ReferenceEntry {
    const entry: ReferenceEntry = { resolvedAt: 0, failures: 0, retryAt: 0, refreshing: false };
    this.references.set(reference, entry);
    return entry;
  }

  /** Whether the entry should be looked at again: after a failure once its retry time came, else once the tag's digest aged. */
  private due(reference: string, entry: ReferenceEntry): boolean {
    if (entry.refreshing) return false;
    const now = this.options.now();
    if (entry.error) return now >= entry.retryAt;
    if (entry.digest !== undefined && !this.verdicts.has(entry.digest)) return true; // dropped from the cache
    return !reference.includes('@') && now - entry.resolvedAt >= this.options.tagTtlMs;
  }

  private refresh(reference: string, entry: ReferenceEntry): void {
    entry.refreshing = true;
    void this.settle(reference, entry);
  }

  private async settle(reference: string, entry: ReferenceEntry): Promise<void> {
    const before = { digest: entry.digest, error: entry.error?.message };
    try {
      const resolved = await this.source.resolve(reference);
      await this.verdictOf(resolved);
      Object.assign(entry, { digest: resolved.digest, resolvedAt: this.options.now(), error: undefined, failures: 0 });
    } catch (err) {
      entry.error = asImageError(reference, err);
      entry.failures += 1;
      const delay = Math.min(this.options.maxRetryMs, this.options.minRetryMs * 2 ** (entry.failures - 1));
      entry.retryAt = this.options.now() + delay;
    } finally {
      entry.refreshing = false;
    }
    if (before.digest !== entry.digest || before.error !== entry.error?.message) for (const listener of this.listeners) listener(reference);
  }

  /** The verdict of a digest: cached, being read for another reference, or read now. */
  private verdictOf(resolved: R): Promise<ImageVerdict> {
    const cached = this.verdicts.get(resolved.digest);
    if (cached) return Promise.resolve(cached);
    let reading = this.reading.get(resolved.digest);
    if (!reading) {
      reading = this.read(resolved).finally(() => this.reading.delete(resolved.digest));
      this.reading.set(resolved.digest, reading);
    }
    return reading;
  }

  private async read(resolved: R): Promise<ImageVerdict> {
    await this.slot();
    const started = performance.now();
    try {
      const verdict = await this.source.inspect(resolved);
      this.remember(resolved.digest, verdict);
      this.options.onRead?.('inspected', (performance.now() - started) / 1000);
      return verdict;
    } catch (err) {
      this.options.onRead?.('failed', (performance.now() - started) / 1000);
      throw err;
    } finally {
      this.release();
    }
  }

  /** Waits for a free read slot; a slot freed while others wait passes straight to the first of them. */
  private async slot(): Promise<void> {
    if (this.readsRunning < this.options.maxConcurrentReads) {
      this.readsRunning += 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.readsRunning -= 1;
  }

  private remember(digest: string, verdict: ImageVerdict): void {
    this.verdicts.set(digest, verdict);
    if (this.verdicts.size > this.options.maxVerdicts) this.verdicts.delete(this.verdicts.keys().next().value!);
  }

  /** Marks a verdict recently used: a Map iterates in insertion order, so the oldest key is the least recently used. */
  private touch(digest: string, verdict: ImageVerdict): ImageVerdict {
    this.verdicts.delete(digest);
    this.verdicts.set(digest, verdict);
    return verdict;
  }
}

function asImageError(reference: string, err: unknown): ImageError {
  if (err instanceof ImageError) return err;
  return new ImageError('RegistryError', reference, err instanceof Error ? err.message : String(err));
}
