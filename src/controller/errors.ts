import { KubeError } from '../kube/rest.js';

/** What a failed write means for this round. */
export type FailedWrite =
  /** What the write was for holds already: the Pod exists, or is gone, or the app is. */
  | 'done'
  /** The API server refuses it as asked, and will until a human changes something: the app is Stalled. */
  | 'stalled'
  /** Worth trying again with backoff: the server is down, busy or timed out. The status says it is being retried. */
  | 'retry';

export type Write = 'create' | 'delete' | 'status';

/**
 * The error policy, in one place. Pod names are deterministic, so AlreadyExists
 * on create means an earlier create landed before the cache saw it; NotFound or
 * a uid-precondition Conflict on delete means the Pod is gone already. A Pod the
 * API server refuses (Forbidden: PodSecurity, a quota; Invalid) will be refused
 * again until the spec or the namespace changes. Everything else is retried.
 */
export function failedWrite(write: Write, err: unknown): FailedWrite {
  const status = err instanceof KubeError ? err.status : undefined;
  switch (write) {
    case 'create':
      if (status === 409 && (err as KubeError).reason === 'AlreadyExists') return 'done';
      return status === 403 || status === 422 ? 'stalled' : 'retry';
    case 'delete':
      return status === 404 || status === 409 ? 'done' : 'retry';
    case 'status':
      // The app was deleted meanwhile: nothing is left to describe.
      return status === 404 ? 'done' : 'retry';
  }
}

/** An error's message for a status or an event: the API server's own words where there are any. */
export const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
