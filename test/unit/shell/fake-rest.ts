import { pino, type Logger } from 'pino';
import type { ResourceRef } from '../../../src/kube/resources.js';
import { KubeError, type Method, type RequestOptions, type Rest, type WatchHandlers, type Query } from '../../../src/kube/rest.js';

// An in-memory stand-in for the API server's REST interface, for unit tests of the
// shell (reconciler, informer, controller): no sockets, every answer scripted.

export interface SentRequest {
  method: Method;
  target: ResourceRef;
  options: RequestOptions;
}

/** Returns the response body, or throws (a KubeError, say) to fail the request. */
export type Answer = (request: SentRequest) => unknown;

export interface OpenWatch {
  target: ResourceRef;
  query: Query;
  handlers: WatchHandlers;
  /** Ends the watch as a server closing the connection would. */
  close: (err?: unknown) => void;
}

export class FakeRest implements Rest {
  readonly sent: SentRequest[] = [];
  readonly watches: OpenWatch[] = [];
  onWrite?: Rest['onWrite'];
  onConnect?: Rest['onConnect'];
  private watchWaiters: (() => void)[] = [];

  constructor(public answer: Answer = () => ({})) {}

  async request<T>(method: Method, target: ResourceRef, options: RequestOptions = {}): Promise<T> {
    const request = { method, target, options };
    this.sent.push(request);
    const body = await this.answer(request);
    return body as T;
  }

  async watch(target: ResourceRef, query: Query, handlers: WatchHandlers): Promise<AbortController> {
    const controller = new AbortController();
    let open = true;
    const close = (err?: unknown): void => {
      if (!open) return;
      open = false;
      handlers.onDone(err);
    };
    controller.signal.addEventListener('abort', () => close(Object.assign(new Error('aborted'), { name: 'AbortError' })));
    this.watches.push({ target, query, handlers, close });
    for (const wake of this.watchWaiters.splice(0)) wake();
    return controller;
  }

  /** Resolves once `count` watches have been opened in all. */
  async watchOpened(count: number): Promise<OpenWatch> {
    while (this.watches.length < count) await new Promise<void>((resolve) => this.watchWaiters.push(resolve));
    return this.watches[count - 1]!;
  }

  /** The requests with this method to this resource (`pods`, `distrolessapps/status`). */
  sentTo(method: Method, resource: string): SentRequest[] {
    return this.sent.filter((r) => r.method === method && (r.target.subresource ? `${r.target.type.plural}/${r.target.subresource}` : r.target.type.plural) === resource);
  }
}

/** A KubeError as the API server's Status would make it. */
export const serverError = (status: number, reason: string, message = `${reason} (HTTP ${status})`): KubeError => new KubeError(status, reason, message);

/** A logger whose JSON lines are kept, to check what was logged and how. */
export function capturingLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}
