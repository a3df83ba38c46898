import type { Logger } from 'pino';
import { EVENTS } from './resources.js';
import type { Rest } from './rest.js';

export interface EventSubject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string };
}

/**
 * How long the same Event about the same object is said once. Two reconciles can
 * both see a change of status when the second runs before the cache holds the first
 * one's write; client-go's recorder folds such repeats into one Event (a count it
 * patches), this one leaves the repeat out, needing no right but create.
 */
export const REPEAT_WINDOW_MS = 60_000;

/**
 * Writes core/v1 Events about objects. Best effort: a failure is logged, never
 * thrown. When to speak is the reconciler's call (on a change of status), so a
 * converged or stuck app writes none per resync.
 */
export class EventRecorder {
  /** When each Event was last written, by object, type, reason and message; oldest first. */
  private readonly said = new Map<string, number>();

  constructor(
    private readonly rest: Rest,
    private readonly component: string,
    private readonly instance: string,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {}

  async record(subject: EventSubject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const { name, namespace = 'default', uid = '' } = subject.metadata;
    if (this.saidLately([namespace, name, uid, type, reason, message].join('\0'))) return;
    const now = new Date(this.clock()).toISOString();
    try {
      await this.rest.request('POST', { type: EVENTS, namespace }, {
        body: {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { generateName: `${name}.`, namespace },
          involvedObject: { apiVersion: subject.apiVersion, kind: subject.kind, name, namespace, uid, resourceVersion: subject.metadata.resourceVersion },
          type,
          reason,
          message: message.slice(0, 1024),
          source: { component: this.component },
          reportingComponent: this.component,
          reportingInstance: this.instance,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (err) {
      this.log.warn({ namespace, name, reason, err }, 'could not record an event');
    }
  }

  /** Whether this Event was written within the window; notes it as written now otherwise. Forgets what is older. */
  private saidLately(key: string): boolean {
    const now = this.clock();
    for (const [old, at] of this.said) {
      if (now - at < REPEAT_WINDOW_MS) break;
      this.said.delete(old);
    }
    if (this.said.has(key)) return true;
    this.said.set(key, now);
    return false;
  }
}
