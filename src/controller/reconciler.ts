import { HttpMethod, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { API_VERSION, PLURAL, type DistrolessAppStatus } from '../api/schema.js';
import { validateApp } from '../api/validate.js';
import type { EventRecorder } from '../kube/events.js';
import { KubeError, isAlreadyExists, isConflict, isNotFound, type Rest } from '../kube/rest.js';
import { planActions, withCreated, type Action } from './plan.js';
import { computeStatus, invalidSpecStatus, newStall, stateOf, statusEqual, type AppState, type Problem } from './status.js';

/** A DistrolessApp as the cache holds it: not yet validated. */
export interface StoredApp {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid: string; generation?: number; resourceVersion?: string };
  spec?: unknown;
  status?: DistrolessAppStatus;
}

export interface ReconcileResult {
  requeueAfterMs?: number;
  /** The app's state after this step; absent when the app is gone. */
  state?: AppState;
}

export interface ReconcilerDeps {
  getApp: (key: string) => StoredApp | undefined;
  podsOf: (key: string) => V1Pod[];
  rest: Rest;
  events: EventRecorder;
  log: Logger;
  now?: () => Date;
}

/** A stalled app is looked at again after this long, in case the world fixed itself. */
const STALLED_RECHECK_MS = 60_000;

/**
 * One level-triggered step for one app: read the app and its Pods from the cache,
 * plan (pure), write what the plan says, then write the status if it changed and
 * announce a new stall with a Warning Event.
 */
export function createReconciler(deps: ReconcilerDeps) {
  const now = deps.now ?? (() => new Date());

  return async function reconcile(key: string): Promise<ReconcileResult> {
    const stored = deps.getApp(key);
    if (!stored) return {}; // deleted: the garbage collector removes its Pods
    const log = deps.log.child({ namespace: stored.metadata.namespace, name: stored.metadata.name });

    let status: DistrolessAppStatus;
    const parsed = validateApp({ ...stored, status: undefined });
    if (!parsed.ok) {
      status = invalidSpecStatus(stored, parsed.problems.map((p) => `${p.path}: ${p.message}`).join('; '), now());
    } else {
      // Said once per generation: the status's observedGeneration records that it was.
      if (stored.status?.observedGeneration !== stored.metadata.generation) {
        for (const w of parsed.warnings) await deps.events.record(stored, 'Warning', 'ShellInImage', `${w.path}: ${w.message}`);
      }
      const pods = deps.podsOf(key);
      const { problem, created } = await applyActions(stored, planActions({ app: parsed.app, pods }), log);
      status = computeStatus({ app: parsed.app, pods: withCreated(pods, created), problem, previous: stored.status, now: now() });
    }
    await writeStatus(stored, status, log);
    const stall = newStall(stored.status, status);
    if (stall) await deps.events.record(stored, 'Warning', stall.reason, stall.message);
    const state = stateOf(status);
    return state === 'stalled' ? { state, requeueAfterMs: STALLED_RECHECK_MS } : { state };
  };

  /**
   * Writes the plan and returns the Pods it created; a Pod the API server
   * refuses stops the round and becomes the problem.
   */
  async function applyActions(app: StoredApp, actions: Action[], log: Logger): Promise<{ problem?: Problem; created: V1Pod[] }> {
    const podsPath = `/api/v1/namespaces/${app.metadata.namespace}/pods`;
    const created: V1Pod[] = [];
    for (const action of actions) {
      try {
        if (action.kind === 'create') {
          created.push(await deps.rest.request<V1Pod>(HttpMethod.POST, podsPath, { body: action.pod }));
          log.info({ pod: action.pod.metadata?.name }, 'created pod');
        } else {
          await deps.rest.request(HttpMethod.DELETE, `${podsPath}/${action.name}`, {
            body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: action.uid } },
          });
          log.info({ pod: action.name, reason: action.reason }, 'deleted pod');
        }
      } catch (err) {
        // Names are deterministic: AlreadyExists means an earlier create landed
        // before the cache saw it. NotFound or a uid Conflict on delete means the
        // Pod is gone already.
        if (action.kind === 'create' && isAlreadyExists(err)) continue;
        if (action.kind === 'delete' && (isNotFound(err) || isConflict(err))) continue;
        if (action.kind === 'create' && err instanceof KubeError && (err.status === 403 || err.status === 422)) {
          return { created, problem: { reason: 'PodRejected', message: `pod ${action.pod.metadata?.name}: ${err.message}` } };
        }
        throw err;
      }
    }
    return { created };
  }

  async function writeStatus(app: StoredApp, status: DistrolessAppStatus, log: Logger): Promise<void> {
    if (app.status && statusEqual(app.status, status)) return;
    const { namespace, name } = app.metadata;
    // A merge patch of the whole status: the operator owns every field of it, and
    // a patch cannot conflict with a concurrent metadata write.
    await deps.rest.request(HttpMethod.PATCH, `/apis/${API_VERSION}/namespaces/${namespace}/${PLURAL}/${name}/status`, {
      body: { status },
      contentType: 'application/merge-patch+json',
    });
    log.debug({ conditions: status.conditions?.map((c) => `${c.type}=${c.status}`) }, 'status updated');
  }
}

export type Reconcile = ReturnType<typeof createReconciler>;
