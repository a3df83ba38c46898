import { ImageInspector, type InspectionSource, type Lookup } from '../../../src/image/inspector.js';
import { ImageError, type ImageVerdict } from '../../../src/image/types.js';

// The inspector's cache and background work, against a scripted source: nothing
// here waits on a clock; `settled()` waits for the listener the inspector calls.

interface Resolved {
  digest: string;
}

const verdict = (digest: string): ImageVerdict => ({
  digest,
  shells: [],
  packageManagers: [],
  packageMetadata: [],
  user: { configured: '65532', uid: 65532, nonRoot: true },
  scannerVisibility: 'NoOS',
  unaccounted: [],
  distroless: true,
});

/** A source whose tags point where `tags` says, counting what it is asked. */
class ScriptedSource implements InspectionSource<Resolved> {
  resolves = 0;
  reads: string[] = [];
  tags = new Map<string, string | ImageError>();
  gate: Promise<void> = Promise.resolve();
  running = 0;
  maxRunning = 0;

  async resolve(reference: string): Promise<Resolved> {
    this.resolves += 1;
    const target = this.tags.get(reference) ?? new ImageError('NotFound', reference, 'manifest unknown', 404);
    if (target instanceof ImageError) throw target;
    return { digest: target };
  }

  async inspect(resolved: Resolved): Promise<ImageVerdict> {
    this.running += 1;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    this.reads.push(resolved.digest);
    await this.gate;
    this.running -= 1;
    return verdict(resolved.digest);
  }
}

function setup(options: ConstructorParameters<typeof ImageInspector>[1] = {}) {
  const source = new ScriptedSource();
  let clock = 0;
  const inspector = new ImageInspector(source, { now: () => clock, ...options });
  const heard: string[] = [];
  const waiters: (() => void)[] = [];
  inspector.subscribe((reference) => {
    heard.push(reference);
    waiters.shift()?.();
  });
  const settled = () => new Promise<void>((resolve) => waiters.push(resolve));
  return { source, inspector, heard, settled, advance: (ms: number) => (clock += ms) };
}

const digestOf = (lookup: Lookup): string | undefined => (lookup.state === 'inspected' ? lookup.verdict.digest : undefined);

describe('ImageInspector', () => {
  it('answers pending at once, reads in the background, then answers from memory and tells its listeners', async () => {
    const { source, inspector, heard, settled } = setup();
    source.tags.set('r/app:1', 'sha256:a');
    const done = settled();
    expect(inspector.lookup('r/app:1')).toEqual({ state: 'pending' });
    await done;
    expect(heard).toEqual(['r/app:1']);
    expect(digestOf(inspector.lookup('r/app:1'))).toBe('sha256:a');
    expect(source.resolves).toBe(1);
    expect(source.reads).toEqual(['sha256:a']);
  });

  it('reads a digest once however many references and lookups point at it', async () => {
    const { source, inspector, settled } = setup();
    const references = Array.from({ length: 500 }, (_, i) => `r/app:${i % 2 ? 'v1' : 'latest'}`);
    source.tags.set('r/app:v1', 'sha256:same').set('r/app:latest', 'sha256:same');
    const both = Promise.all([settled(), settled()]);
    for (const r of references) inspector.lookup(r);
    await both;
    for (const r of references) expect(digestOf(inspector.lookup(r))).toBe('sha256:same');
    expect(source.resolves).toBe(2);
    expect(source.reads).toEqual(['sha256:same']);
  });

  it('asks the registry for a tag again after its time to live, keeping the old verdict meanwhile', async () => {
    const { source, inspector, settled, advance } = setup({ tagTtlMs: 1000 });
    source.tags.set('r/app:1', 'sha256:a');
    let next = settled();
    inspector.lookup('r/app:1');
    await next;
    source.tags.set('r/app:1', 'sha256:b');
    advance(999);
    expect(digestOf(inspector.lookup('r/app:1'))).toBe('sha256:a');
    expect(source.resolves).toBe(1);
    advance(1);
    next = settled();
    expect(digestOf(inspector.lookup('r/app:1'))).toBe('sha256:a');
    await next;
    expect(digestOf(inspector.lookup('r/app:1'))).toBe('sha256:b');
    expect(source.reads).toEqual(['sha256:a', 'sha256:b']);
  });

  it('never asks again for a reference pinned by digest', async () => {
    const { source, inspector, settled, advance } = setup({ tagTtlMs: 1000 });
    const pinned = 'r/app@sha256:a';
    source.tags.set(pinned, 'sha256:a');
    const done = settled();
    inspector.lookup(pinned);
    await done;
    advance(10_000_000);
    inspector.lookup(pinned);
    expect(source.resolves).toBe(1);
  });

  it('keeps a failure with the registry answer, retries only after a doubling delay, and recovers', async () => {
    const { source, inspector, settled, advance } = setup({ minRetryMs: 100, maxRetryMs: 300 });
    source.tags.set('r/app:1', new ImageError('Unreachable', 'r/app:1', 'connection refused'));
    let next = settled();
    inspector.lookup('r/app:1');
    await next;
    const failed = inspector.lookup('r/app:1');
    expect(failed.state === 'failed' && failed.error.message).toBe('r/app:1: connection refused');
    advance(99);
    inspector.lookup('r/app:1');
    expect(source.resolves).toBe(1);
    advance(1);
    inspector.lookup('r/app:1'); // second failure, same message: listeners are not told again
    await new Promise((resolve) => setImmediate(resolve));
    expect(source.resolves).toBe(2);
    advance(199);
    inspector.lookup('r/app:1');
    expect(source.resolves).toBe(2); // the delay doubled to 200
    source.tags.set('r/app:1', 'sha256:a');
    advance(1);
    next = settled();
    inspector.lookup('r/app:1');
    await next;
    expect(digestOf(inspector.lookup('r/app:1'))).toBe('sha256:a');
  });

  it('reads at most maxConcurrentReads images at once', async () => {
    const { source, inspector, settled } = setup({ maxConcurrentReads: 2 });
    let open!: () => void;
    source.gate = new Promise((resolve) => (open = resolve));
    const all = Promise.all(Array.from({ length: 5 }, () => settled()));
    for (let i = 0; i < 5; i++) {
      source.tags.set(`r/app:${i}`, `sha256:${i}`);
      inspector.lookup(`r/app:${i}`);
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(source.running).toBe(2);
    open();
    await all;
    expect(source.maxRunning).toBe(2);
    expect(source.reads).toHaveLength(5);
  });

  it('forgets the least recently used verdict beyond maxVerdicts, and reads it again when asked', async () => {
    const { source, inspector, settled } = setup({ maxVerdicts: 2 });
    for (const [i, d] of ['a', 'b', 'c'].entries()) {
      source.tags.set(`r/app:${i}`, `sha256:${d}`);
      const done = settled();
      inspector.lookup(`r/app:${i}`);
      await done;
    }
    expect(inspector.size).toBe(2);
    expect(inspector.lookup('r/app:0')).toEqual({ state: 'pending' });
    expect(source.reads).toEqual(['sha256:a', 'sha256:b', 'sha256:c']);
  });
});
