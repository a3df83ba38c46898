import { RequestContext, Watch, type HttpMethod, type KubeConfig } from '@kubernetes/client-node';
import { fetch, type Dispatcher } from 'undici';
import type { KubeObject } from './cache.js';
import { pathOf, resourceLabel, type ResourceRef } from './resources.js';

/**
 * The one door to the API server. Requests go through undici with the same TLS
 * and credentials client-node's Watch uses (the kubeconfig's certificates, tokens
 * or exec plugins), and every failure becomes a KubeError with the server's
 * Status parsed, so no caller ever has to pick apart a raw JSON string.
 */

export class KubeError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeError';
  }
}

/** Watch failures come from client-node as an Error with statusCode, not as a KubeError. */
const statusOf = (err: unknown): number | undefined => (err instanceof KubeError ? err.status : (err as { statusCode?: number } | undefined)?.statusCode);
export const isNotFound = (err: unknown): boolean => statusOf(err) === 404;
export const isConflict = (err: unknown): boolean => err instanceof KubeError && err.status === 409;
export const isAlreadyExists = (err: unknown): boolean => err instanceof KubeError && err.status === 409 && err.reason === 'AlreadyExists';
export const isGone = (err: unknown): boolean => statusOf(err) === 410;

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type WriteVerb = 'create' | 'update' | 'patch' | 'delete';
export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
}

/** A watch event's object: an API object, or a Status for ERROR events. */
export type WatchedObject = KubeObject & { code?: number };

export interface WatchHandlers {
  onEvent: (type: string, object: WatchedObject) => void;
  onDone: (err: unknown) => void;
}

export interface Rest {
  request<T = unknown>(method: Method, target: ResourceRef, options?: RequestOptions): Promise<T>;
  watch(collection: ResourceRef, query: Query, handlers: WatchHandlers, inactivityMs: number): Promise<AbortController>;
  /** Called after every successful write with its verb and resource label (`pods`, `distrolessapps/status`), for metrics. */
  onWrite?: (verb: WriteVerb, resource: string) => void;
  /** Called when a new connection to the API server opens (watches aside): a steady climb means connections are not reused. */
  onConnect?: () => void;
}

const WRITE_VERBS: Partial<Record<Method, WriteVerb>> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

export function restClient(kc: KubeConfig, userAgent: string, timeoutMs = 30_000): Rest {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const server = cluster.server.replace(/\/$/, '');
  // client-node builds a new undici Agent, so a new TLS connection, each time it
  // applies the kubeconfig. Credentials are applied per request (tokens rotate;
  // exec plugins refresh), but the first Agent is kept and its keep-alive
  // connections reused: one handshake per connection, not per request. undici
  // negotiates HTTP/2 with kube-apiserver, so concurrent requests share a single
  // connection, as client-go's do. The TLS material (CA, client certificate) is
  // therefore read once, at the first request.
  let dispatcher: Dispatcher | undefined;

  /** The kubeconfig's credentials as headers; the first call also keeps the connection pool. */
  async function authenticate(url: URL, method: Method): Promise<Record<string, string>> {
    const ctx = new RequestContext(url.toString(), method as HttpMethod);
    await kc.applySecurityAuthentication(ctx);
    if (!dispatcher) {
      dispatcher = ctx.getDispatcher() as Dispatcher | undefined;
      dispatcher?.on('connect', () => rest.onConnect?.());
    }
    return { ...ctx.getHeaders() };
  }

  const rest: Rest = {
    async request(method, target, options = {}) {
      const url = urlOf(server, target, options.query);
      const what = `${method} ${url.pathname}`;
      const headers = await authenticate(url, method);
      headers.Accept = 'application/json';
      headers['User-Agent'] = userAgent;
      if (options.body !== undefined) headers['Content-Type'] = options.contentType ?? 'application/json';
      const body = options.body === undefined ? undefined : JSON.stringify(options.body);
      const response = await fetch(url, { method, headers, body, dispatcher: dispatcher as never, signal: AbortSignal.timeout(timeoutMs) }).catch((err: unknown) => {
        throw new KubeError(0, 'ConnectionFailed', `${what}: ${describeFetchError(err)}`);
      });
      const text = await response.text();
      if (!response.ok) throw errorFromStatus(response.status, text, what);
      const verb = WRITE_VERBS[method];
      if (verb) rest.onWrite?.(verb, resourceLabel(target));
      return (text ? JSON.parse(text) : undefined) as never;
    },

    async watch(collection, query, handlers, inactivityMs) {
      const watcher = new Watch(kc);
      // Watch aborts a connection that sends nothing for this long: with bookmarks on,
      // a healthy idle watch still speaks, so silence means a dead connection.
      (watcher as unknown as { requestTimeoutMs: number }).requestTimeoutMs = inactivityMs;
      return watcher.watch(
        pathOf(collection),
        query,
        (type, object) => handlers.onEvent(type, object as WatchedObject),
        (err) => handlers.onDone(err),
      );
    },
  };
  return rest;
}

function urlOf(server: string, target: ResourceRef, query: Query = {}): URL {
  const url = new URL(server + pathOf(target));
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
  return url;
}

function errorFromStatus(status: number, text: string, what: string): KubeError {
  try {
    const body = JSON.parse(text) as { reason?: string; message?: string };
    return new KubeError(status, body.reason ?? String(status), body.message ?? `${what}: HTTP ${status}`);
  } catch {
    return new KubeError(status, String(status), `${what}: HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`);
  }
}

function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}
