import type { Logger } from 'pino';
import { LEASES, apiVersionOf, type ResourceRef } from './resources.js';
import { isConflict, isNotFound, type Rest } from './rest.js';
import { sleep } from './wait.js';

export interface LeaseOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: every
 * write carries the resourceVersion it read, so two candidates can never both win;
 * a holder that cannot renew within the renew deadline stops leading before its
 * lease can expire for others; expiry is judged by when this process last saw the
 * record change, not by the holder's clock.
 */
export class LeaderElector {
  private readonly durationSec: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observed: { record: string; at: number } | undefined;
  /** A write of ours made this process the holder at some point: release() must look. */
  private claimed = false;
  /** The attempt under way, which release() waits for: a claim may land after stop(). */
  private attempt: Promise<boolean> = Promise.resolve(false);
  private stopping = new AbortController();

  constructor(
    private readonly rest: Rest,
    private readonly options: LeaseOptions,
    private readonly log: Logger,
  ) {
    this.durationSec = options.leaseDurationSeconds ?? 15;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
  }

  private get lease(): ResourceRef {
    return { type: LEASES, namespace: this.options.namespace, name: this.options.name };
  }

  /**
   * Waits until this process holds the lease, then keeps renewing it. Resolves with
   * 'lost' when renewal fails past the deadline, or 'stopped' after stop().
   */
  async run(onStartedLeading: () => void): Promise<'lost' | 'stopped'> {
    const signal = this.stopping.signal;
    while (!signal.aborted && !(await this.attemptOnce())) await sleep(this.retryPeriodMs, signal);
    if (signal.aborted) return 'stopped';
    this.log.info({ lease: this.options.name, identity: this.options.identity }, 'became leader');
    onStartedLeading();
    let lastRenew = Date.now();
    while (!signal.aborted) {
      await sleep(this.retryPeriodMs, signal);
      if (signal.aborted) break;
      if (await this.attemptOnce()) lastRenew = Date.now();
      else if (Date.now() - lastRenew > this.renewDeadlineMs) {
        this.log.error({ lease: this.options.name }, 'could not renew the lease in time; no longer leader');
        return 'lost';
      }
    }
    return 'stopped';
  }

  /** Stops campaigning; call release() after in-flight work is done. */
  stop(): void {
    this.stopping.abort();
  }

  /**
   * Gives the lease up so a successor need not wait for it to expire. Waits for an
   * attempt still under way first: a claim sent just before stop() can land after
   * it, and a process stopped as it won would otherwise leave the lease held.
   */
  async release(): Promise<void> {
    await this.attempt;
    if (!this.claimed) return;
    this.claimed = false;
    try {
      const lease = await this.rest.request<Lease>('GET', this.lease);
      if (lease.spec.holderIdentity !== this.options.identity) return;
      lease.spec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now() };
      await this.rest.request('PUT', this.lease, { body: lease });
      this.log.info({ lease: this.options.name }, 'released the lease');
    } catch (err) {
      this.log.warn({ err }, 'could not release the lease; it will expire');
    }
  }

  private attemptOnce(): Promise<boolean> {
    this.attempt = this.tryAcquireOrRenew();
    return this.attempt;
  }

  /** One attempt: true when this process holds the lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    try {
      const lease = await this.readLease();
      if (lease && !this.mayTake(lease.spec, Date.now())) return false;
      if (lease) await this.rest.request('PUT', this.lease, { body: { ...lease, spec: this.claim(lease.spec) } });
      else await this.createLease();
      this.claimed = true;
      return true;
    } catch (err) {
      if (!isConflict(err)) this.log.warn({ err }, 'lease request failed');
      return false;
    }
  }

  private async readLease(): Promise<Lease | undefined> {
    try {
      return await this.rest.request<Lease>('GET', this.lease);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async createLease(): Promise<void> {
    const { name, namespace, identity } = this.options;
    await this.rest.request('POST', { type: LEASES, namespace }, {
      body: {
        apiVersion: apiVersionOf(LEASES),
        kind: 'Lease',
        metadata: { name, namespace },
        spec: { holderIdentity: identity, leaseDurationSeconds: this.durationSec, acquireTime: now(), renewTime: now(), leaseTransitions: 0 },
      },
    });
  }

  /**
   * Ours already, free, or expired. Expiry is judged by when this process last saw
   * the record change, on its own clock: the holder's clock may be off.
   */
  private mayTake(spec: Lease['spec'], at: number): boolean {
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseDurationSeconds]);
    if (this.observed?.record !== record) this.observed = { record, at };
    const heldByOther = !!spec.holderIdentity && spec.holderIdentity !== this.options.identity;
    const expired = this.observed.at + (spec.leaseDurationSeconds ?? this.durationSec) * 1000 < at;
    return !heldByOther || expired;
  }

  private claim(spec: Lease['spec']): Lease['spec'] {
    const takingOver = spec.holderIdentity !== this.options.identity;
    return {
      holderIdentity: this.options.identity,
      leaseDurationSeconds: this.durationSec,
      acquireTime: takingOver ? now() : spec.acquireTime,
      renewTime: now(),
      leaseTransitions: (spec.leaseTransitions ?? 0) + (takingOver ? 1 : 0),
    };
  }
}

// metav1.MicroTime: RFC 3339 with microseconds.
const now = (): string => new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
