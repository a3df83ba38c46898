import { WorkQueue } from '../../../src/runtime/queue.js';

describe('WorkQueue', () => {
  it('hands out a key once however often it was added', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(q.length).toBe(0);
  });

  it('never gives a key to two workers: an add during processing waits for done()', async () => {
    const q = new WorkQueue();
    q.add('a');
    const key = await q.get();
    q.add('a');
    expect(q.length).toBe(0);
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done(key!);
    await Promise.resolve();
    expect(second).toBe('a');
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.add('x');
    expect(await waiting).toBe('x');
    expect(q.inFlight).toBe(1);
  });

  it('backs off exponentially per key and forgets on success', () => {
    const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 50 });
    expect([q.addRateLimited('k'), q.addRateLimited('k'), q.addRateLimited('k'), q.addRateLimited('k')]).toEqual([10, 20, 40, 50]);
    expect(q.addRateLimited('other')).toBe(10);
    q.forget('k');
    expect(q.addRateLimited('k')).toBe(10);
    q.shutDown();
  });

  it('adds a key after a delay, keeping the earliest', async () => {
    const q = new WorkQueue();
    q.addAfter('late', 10_000);
    q.addAfter('late', 20);
    const started = Date.now();
    expect(await q.get()).toBe('late');
    expect(Date.now() - started).toBeLessThan(5_000);
    q.shutDown();
  });

  it('on shut down gives no more work, even queued keys, and releases waiting workers', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeUndefined();
    q.add('a');
    expect(await q.get()).toBeUndefined();
  });
});
