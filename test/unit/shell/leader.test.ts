import { LeaderElector } from '../../../src/kube/leader.js';
import { FakeRest, capturingLogger, serverError, type SentRequest } from './fake-rest.js';

// Leader election against an in-memory Lease: what the elector leaves behind when it
// stops is what a successor (another replica, the next Pod) finds.

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  renewTime?: string;
}

/** One Lease kept in memory; a claim (PUT) can be held back to land later. */
class LeaseServer {
  spec: LeaseSpec | undefined;
  private version = 1;
  private heldBack: { land: () => void; arrived: Promise<void>; arrive: () => void } | undefined;
  readonly rest = new FakeRest((request) => this.answer(request));

  constructor(spec?: LeaseSpec) {
    this.spec = spec;
  }

  /** The next PUT waits until land() is called; `arrived` resolves when it is sent. */
  holdBackNextPut(): { arrived: Promise<void>; land: () => void } {
    let arrive = (): void => undefined;
    const arrived = new Promise<void>((resolve) => (arrive = resolve));
    this.heldBack = { land: () => undefined, arrived, arrive };
    return { arrived, land: () => this.heldBack?.land() };
  }

  private async answer({ method, options }: SentRequest): Promise<unknown> {
    if (method === 'GET') {
      if (!this.spec) throw serverError(404, 'NotFound');
      return this.object();
    }
    const body = options.body as { metadata: { resourceVersion?: string }; spec: LeaseSpec };
    if (method === 'PUT' && this.heldBack) {
      const { arrive } = this.heldBack;
      await new Promise<void>((resolve) => {
        this.heldBack!.land = resolve;
        arrive();
      });
      this.heldBack = undefined;
    }
    if (method === 'PUT' && body.metadata.resourceVersion !== String(this.version)) throw serverError(409, 'Conflict');
    this.spec = body.spec;
    this.version += 1;
    return this.object();
  }

  private object() {
    return { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'lease', namespace: 'system', resourceVersion: String(this.version) }, spec: { ...this.spec } };
  }
}

/** Resolves once the condition holds, checked on every turn of the event loop. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

const elector = (server: LeaseServer, identity = 'pod-a_1') =>
  new LeaderElector(server.rest, { namespace: 'system', name: 'lease', identity, retryPeriodMs: 5 }, capturingLogger().log);

describe('LeaderElector', () => {
  it('takes a free lease, and gives it back on release', async () => {
    const server = new LeaseServer({ holderIdentity: '' });
    const candidate = elector(server);
    let led = false;
    const outcome = candidate.run(() => (led = true));
    await until(() => led);
    expect(server.spec?.holderIdentity).toBe('pod-a_1');
    candidate.stop();
    await candidate.release();
    expect(await outcome).toBe('stopped');
    expect(server.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
  });

  it('stopped while its claim is on the wire, gives back the lease that claim won', async () => {
    const server = new LeaseServer({ holderIdentity: '' });
    const claim = server.holdBackNextPut();
    const candidate = elector(server);
    let led = false;
    const outcome = candidate.run(() => (led = true));
    await claim.arrived;
    candidate.stop();
    const released = candidate.release();
    claim.land();
    await released;
    expect(await outcome).toBe('stopped');
    expect(led).toBe(false);
    // Not left held for a lease duration: the successor finds it free.
    expect(server.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
  });

  it("a follower that never held the lease leaves the holder's lease alone", async () => {
    const server = new LeaseServer({ holderIdentity: 'pod-b_1', leaseDurationSeconds: 15, renewTime: new Date().toISOString() });
    const follower = elector(server);
    const outcome = follower.run(() => undefined);
    // Several looks at the held lease, none a claim.
    await until(() => server.rest.sent.length >= 3);
    follower.stop();
    await follower.release();
    expect(await outcome).toBe('stopped');
    expect(server.rest.sent.filter((r) => r.method !== 'GET')).toEqual([]);
    expect(server.spec?.holderIdentity).toBe('pod-b_1');
  });
});
