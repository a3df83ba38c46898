import { HttpMethod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Rest } from './rest.js';

export interface EventSubject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string };
}

/**
 * Writes core/v1 Events about apps. An event repeats only when what it says
 * changes, so a stuck app does not write an event on every resync, and a converged
 * one writes none. Events are best effort: a failure is logged, never thrown.
 */
export class EventRecorder {
  private readonly last = new Map<string, string>();

  constructor(
    private readonly rest: Rest,
    private readonly component: string,
    private readonly instance: string,
    private readonly log: Logger,
  ) {}

  async record(subject: EventSubject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const { name, namespace = 'default', uid = '' } = subject.metadata;
    const said = `${type}\u0000${reason}\u0000${message}`;
    const key = `${uid}/${reason}`;
    if (this.last.get(key) === said) return;
    this.last.set(key, said);
    const now = new Date().toISOString();
    try {
      await this.rest.request(HttpMethod.POST, `/api/v1/namespaces/${namespace}/events`, {
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
      this.last.delete(key);
      this.log.warn({ namespace, name, reason, err: String(err) }, 'could not record an event');
    }
  }

  /** Clears what was said about an app, once the problem is gone or the app deleted. */
  forget(uid: string, reason?: string): void {
    for (const key of [...this.last.keys()]) if (key.startsWith(`${uid}/`) && (reason === undefined || key === `${uid}/${reason}`)) this.last.delete(key);
  }
}
