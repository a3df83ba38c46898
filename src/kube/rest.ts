import { KubeConfig, Watch } from '@kubernetes/client-node';
import { HttpMethod, RequestContext } from '@kubernetes/client-node';
import { fetch, type Dispatcher } from 'undici';

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
const statusOf = (err: unknown) => (err instanceof KubeError ? err.status : (err as { statusCode?: number } | undefined)?.statusCode);
export const isNotFound = (err: unknown) => statusOf(err) === 404;
export const isConflict = (err: unknown) => err instanceof KubeError && err.status === 409;
export const isAlreadyExists = (err: unknown) => err instanceof KubeError && err.status === 409 && err.reason === 'AlreadyExists';
export const isGone = (err: unknown) => statusOf(err) === 410;

export type Verb = 'get' | 'list' | 'create' | 'update' | 'patch' | 'delete';

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** Counted under this resource name, for the write metrics. */
  resource?: string;
}

export interface WatchHandlers {
  onEvent: (type: string, object: Record<string, any>) => void;
  onDone: (err: unknown) => void;
}

export interface Rest {
  request<T = any>(method: HttpMethod, path: string, options?: RequestOptions): Promise<T>;
  watch(path: string, query: Record<string, string | number | boolean | undefined>, handlers: WatchHandlers, inactivityMs: number): Promise<AbortController>;
  /** Called after every successful write, for metrics and tests. */
  onWrite?: (verb: Verb, resource: string) => void;
  /** Called when a new connection to the API server opens (watches aside): a steady climb means connections are not reused. */
  onConnect?: () => void;
}

const WRITE_VERBS: Partial<Record<HttpMethod, Verb>> = {
  [HttpMethod.POST]: 'create',
  [HttpMethod.PUT]: 'update',
  [HttpMethod.PATCH]: 'patch',
  [HttpMethod.DELETE]: 'delete',
};

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

  const rest: Rest = {
    async request(method, path, options = {}) {
      const url = new URL(server + path);
      for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
      const ctx = new RequestContext(url.toString(), method);
      await kc.applySecurityAuthentication(ctx);
      if (!dispatcher) {
        dispatcher = ctx.getDispatcher() as Dispatcher | undefined;
        dispatcher?.on('connect', () => rest.onConnect?.());
      }
      const headers: Record<string, string> = { ...ctx.getHeaders(), Accept: 'application/json', 'User-Agent': userAgent };
      if (options.body !== undefined) headers['Content-Type'] = options.contentType ?? 'application/json';
      let response;
      try {
        response = await fetch(url, {
          method,
          headers,
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
          dispatcher: dispatcher as never,
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        throw new KubeError(0, 'ConnectionFailed', `${method} ${path}: ${describeFetchError(err)}`);
      }
      const text = await response.text();
      if (!response.ok) throw errorFromStatus(response.status, text, `${method} ${path}`);
      const verb = WRITE_VERBS[method];
      if (verb) rest.onWrite?.(verb, options.resource ?? resourceOf(path));
      return (text ? JSON.parse(text) : undefined) as never;
    },

    async watch(path, query, handlers, inactivityMs) {
      const watcher = new Watch(kc);
      // Watch aborts a connection that sends nothing for this long: with bookmarks on,
      // a healthy idle watch still speaks, so silence means a dead connection.
      (watcher as unknown as { requestTimeoutMs: number }).requestTimeoutMs = inactivityMs;
      return watcher.watch(
        path,
        query,
        (type, object) => handlers.onEvent(type, object as Record<string, any>),
        (err) => handlers.onDone(err),
      );
    },
  };
  return rest;
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

/** `pods`, `distrolessapps/status`, `leases`... from an API path. */
export function resourceOf(path: string): string {
  const parts = path.split('?')[0]!.split('/').filter(Boolean);
  const ns = parts.indexOf('namespaces');
  const rest = ns >= 0 && parts.length > ns + 2 ? parts.slice(ns + 2) : parts.slice(parts[0] === 'api' ? 2 : 3);
  return rest.length >= 3 ? `${rest[0]}/${rest[2]}` : (rest[0] ?? 'unknown');
}
