import { EventRecorder, REPEAT_WINDOW_MS } from '../../../src/kube/events.js';
import { FakeRest, capturingLogger } from './fake-rest.js';

// The Event recorder says the same thing about the same object once within its
// window: two reconciles that both saw the same stale status write one Event.

const app = (uid: string) => ({ apiVersion: 'distroless.dev/v1alpha1', kind: 'DistrolessApp', metadata: { name: 'web', namespace: 'shop', uid } });

function recorder(): { rest: FakeRest; record: EventRecorder; advance: (ms: number) => void } {
  const rest = new FakeRest();
  let now = Date.parse('2030-01-01T00:00:00Z');
  const record = new EventRecorder(rest, 'distroless-operator', 'test', capturingLogger().log, () => now);
  return { rest, record, advance: (ms) => (now += ms) };
}

const written = (rest: FakeRest) => rest.sentTo('POST', 'events').map((r) => (r.options.body as { reason: string; message: string }).message);

describe('EventRecorder', () => {
  it('writes a repeat of the same Event about the same object once within the window, and again after it', async () => {
    const { rest, record, advance } = recorder();
    await record.record(app('u1'), 'Warning', 'ImageNotDistroless', 'debian-init has /bin/sh');
    advance(1_000);
    await record.record(app('u1'), 'Warning', 'ImageNotDistroless', 'debian-init has /bin/sh');
    expect(written(rest)).toEqual(['debian-init has /bin/sh']);
    advance(REPEAT_WINDOW_MS);
    await record.record(app('u1'), 'Warning', 'ImageNotDistroless', 'debian-init has /bin/sh');
    expect(written(rest)).toHaveLength(2);
  });

  it('writes what differs: another message, reason or object (a new uid is a new object of the same name)', async () => {
    const { rest, record } = recorder();
    await record.record(app('u1'), 'Warning', 'ImageNotDistroless', 'a');
    await record.record(app('u1'), 'Warning', 'ImageNotDistroless', 'b');
    await record.record(app('u1'), 'Warning', 'InitContainerFailed', 'a');
    await record.record(app('u2'), 'Warning', 'ImageNotDistroless', 'a');
    expect(written(rest)).toEqual(['a', 'b', 'a', 'a']);
  });
});
