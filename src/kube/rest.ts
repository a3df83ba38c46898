import { fetch, type Dispatcher } from 'undici';
import type { KubeObject } from './cache.js';
import { ApiConnection, type Prepared } from './connection.js';
import type { KubeContext } from './context.js';
import { pathOf, resourceLabel, type ResourceRef } from './resources.js';
import { openWatch } from './watch.js';

/**
 * The one door to the API server. Requests go through undici with the TLS and
 * credentials of a kubeconfig context (certificates, tokens, token files, exec
 * plugins: connection.ts), and every failure becomes a KubeError with the
 * server's Status parsed, so no caller ever has to pick apart a raw JSON string.
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

const statusOf = (err: unknown): number | undefined => (err instanceof KubeError ? err.status : undefined);
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

export interface RestClient extends Rest {
  /** Closes the kept connection; watches close their own as they end. */
  close(): Promise<void>;
}

export function restClient(context: KubeContext, userAgent: string, timeoutMs = 30_000): RestClient {
  const connection = new ApiConnection(context);
  const server = connection.server;
  // The kept Agent's connections, counted for onConnect. It changes only when an
  // exec plugin hands out a new client certificate.
  let counted: Dispatcher | undefined;

  async function send(method: Method, url: URL, body: string | undefined, contentType: string | undefined, what: string): Promise<{ status: number; text: string }> {
    const attempt = async (prepared: Prepared) => {
      if (prepared.dispatcher !== counted) {
        counted = prepared.dispatcher;
        counted.on('connect', () => rest.onConnect?.());
      }
      const headers: Record<string, string> = { ...prepared.headers, Accept: 'application/json', 'User-Agent': userAgent };
      if (contentType) headers['Content-Type'] = contentType;
      const response = await fetch(url, { method, headers, body, dispatcher: prepared.dispatcher, signal: AbortSignal.timeout(timeoutMs) }).catch((err: unknown) => {
        throw new KubeError(0, 'ConnectionFailed', `${what}: ${describeFetchError(err)}`);
      });
      return { status: response.status, text: await response.text() };
    };
    const prepared = await connection.forRequest();
    const answer = await attempt(prepared);
    if (answer.status !== 401) return answer;
    // Refused credentials are dropped; when fresh ones differ (a rotated token file, an
    // exec plugin run again), the request is sent once more: the server did nothing with it.
    const fresh = await connection.afterUnauthorized(prepared);
    return fresh ? attempt(fresh) : answer;
  }

  const rest: RestClient = {
    async request(method, target, options = {}) {
      const url = urlOf(server, target, options.query);
      const what = `${method} ${url.pathname}`;
      const body = options.body === undefined ? undefined : JSON.stringify(options.body);
      const contentType = options.body === undefined ? undefined : (options.contentType ?? 'application/json');
      const { status, text } = await send(method, url, body, contentType, what);
      if (status < 200 || status > 299) throw errorFromStatus(status, text, what);
      const verb = WRITE_VERBS[method];
      if (verb) rest.onWrite?.(verb, resourceLabel(target));
      return (text ? JSON.parse(text) : undefined) as never;
    },

    async watch(collection, query, handlers, inactivityMs) {
      const url = urlOf(server, collection, { watch: true, ...query });
      const prepared = await connection.forStream();
      return openWatch({
        url,
        headers: { ...prepared.headers, Accept: 'application/json', 'User-Agent': userAgent },
        dispatcher: prepared.dispatcher,
        // With bookmarks on, a healthy idle watch still speaks, so silence means a dead connection.
        inactivityMs,
        onEvent: ({ type, object }) => handlers.onEvent(type, object as WatchedObject),
        onDone: (err) => handlers.onDone(err),
        refused: (status, text) => {
          // The informer retries the watch; let that attempt fetch fresh credentials.
          if (status === 401) void connection.afterUnauthorized(prepared).catch(() => {});
          return errorFromStatus(status, text, `watch ${url.pathname}`);
        },
      });
    },

    close: () => connection.close(),
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
