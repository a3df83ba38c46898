import { KubeError, isAlreadyExists, isConflict, isNotFound } from '../kube/rest.js';

/** What a failed write means for this round. */
export type FailedWrite =
  /** What the write was for holds already: the Pod exists, or is gone, or the app is. */
  | 'done'
  /** The API server refuses it as asked, and will until a human changes something: the app is Stalled. */
  | 'stalled'
  /** Worth trying again with backoff: the server is down, busy or timed out. The status says it is being retried. */
  | 'retry';

export type Write = 'create' | 'apply' | 'delete' | 'status';

/**
 * The error policy, in one place. Pod names are deterministic, so AlreadyExists
 * on create means an earlier create landed before the cache saw it; NotFound or
 * a uid-precondition Conflict on delete means the Pod is gone already. A Pod the
 * API server refuses (Forbidden: PodSecurity, a quota; Invalid) will be refused
 * again until the spec or the namespace changes. Everything else is retried.
 */
export function failedWrite(write: Write, err: unknown): FailedWrite {
  // The app was deleted meanwhile: nothing is left to describe.
  if (write === 'status') return isNotFound(err) ? 'done' : 'retry';
  if (write === 'delete') return isNotFound(err) || isConflict(err) ? 'done' : 'retry';
  if (write === 'create' && isAlreadyExists(err)) return 'done';
  // A create, or a server-side apply of an owned object: refused as asked, or worth retrying.
  return isRefused(err) ? 'stalled' : 'retry';
}

/** Forbidden (PodSecurity admission, a ResourceQuota, RBAC) or Invalid: the same request would be refused again. */
const isRefused = (err: unknown): boolean => err instanceof KubeError && (err.status === 403 || err.status === 422);

/** An error's message for a status or an event: the API server's own words where there are any. */
export const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
