import type { Logger } from 'pino';
import { EVENTS } from './resources.js';
import type { Rest } from './rest.js';

export interface EventSubject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string };
}

/**
 * Writes core/v1 Events about objects. Best effort: a failure is logged, never
 * thrown. When to speak is the reconciler's call (on a change of status), so a
 * converged or stuck app writes none per resync.
 */
export class EventRecorder {
  constructor(
    private readonly rest: Rest,
    private readonly component: string,
    private readonly instance: string,
    private readonly log: Logger,
  ) {}

  async record(subject: EventSubject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const { name, namespace = 'default', uid = '' } = subject.metadata;
    const now = new Date().toISOString();
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
}
