import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { DistrolessApp, DistrolessAppStatus } from '../api/schema.js';
import { validateApp, type FieldProblem } from '../api/validate.js';
import type { EventRecorder } from '../kube/events.js';
import { PODS } from '../kube/resources.js';
import { isAlreadyExists, type Rest } from '../kube/rest.js';
import type { Reconcile } from '../runtime/controller.js';
import { failedWrite, messageOf, type Write } from './errors.js';
import type { Lookup } from '../image/inspector.js';
import { allowedUnderHold, checkImages } from './images.js';
import { observe, type Observation } from './observe.js';
import { recreateBlocked, takenName } from './taken.js';
import { plan, type Action } from './plan.js';
import { DISTROLESS_APPS } from './resources.js';
import { OWNED_KINDS, planOwned, type OwnedAction, type OwnedKind, type OwnedObject } from './owned.js';
import { writeOwned } from './owned-writes.js';
import { computeStatus, deadlineInMs, invalidSpecStatus, newImageFinding, newStall, problemsMessage, stalledOf, statusEqual, type Outcome } from './status.js';

/** A DistrolessApp as the cache holds it: not yet validated. */
export interface StoredApp {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid: string; generation?: number; resourceVersion?: string };
  spec?: unknown;
  status?: DistrolessAppStatus;
}

export interface ReconcilerDeps {
  getApp: (key: string) => StoredApp | undefined;
  /** The cached Pods whose controller reference names the app. */
  podsOf: (key: string) => V1Pod[];
  rest: Rest;
  events: EventRecorder;
  /** The cached objects of an owned kind (Service, PodDisruptionBudget) whose controller reference names the app. */
  ownedOf: (kind: OwnedKind, key: string) => OwnedObject[];
  /** What is known of an image, answered from memory; inspection runs in the background. */
  lookupImage: (reference: string) => Lookup;
  now?: () => Date;
}

/** A stalled app is looked at again after this long, in case the world fixed itself. */
const STALLED_RECHECK_MS = 60_000;
/** An app held back by its image policy is looked at again this soon: the inspector retries a failed registry on its own clock. */
const HELD_RECHECK_MS = 15_000;

/** The outcome of the writes, and the error to retry with when one must be retried. */
type Written = Outcome & { retry?: unknown };

/**
 * One level-triggered step for one app: read the app and its Pods from the cache,
 * observe and plan (pure), write what the plan says, then publish the status if
 * it changed. A write worth retrying still publishes a status that says so, then
 * throws, so the controller backs off.
 */
export function createReconciler(deps: ReconcilerDeps): Reconcile {
  const now = deps.now ?? (() => new Date());

  return async function reconcile(key, { log }) {
    const stored = deps.getApp(key);
    if (!stored) return {}; // deleted: the garbage collector removes its Pods
    const parsed = validateApp({ ...stored, status: undefined });
    if (!parsed.ok) {
      await publish(stored, invalidSpecStatus(stored, problemsMessage(parsed.problems), now()), log);
      return { requeueAfterMs: STALLED_RECHECK_MS };
    }
    if (stored.status?.observedGeneration !== stored.metadata.generation) await warn(stored, parsed.warnings);
    const images = checkImages(parsed.app, deps.lookupImage, stored.status);
    const observation = observe(parsed.app, deps.podsOf(key), now());
    const actions = images.hold ? allowedUnderHold(plan(observation)) : plan(observation);
    const written = await write(stored, actions, ownedActions(parsed.app, key), observation, log);
    const status = computeStatus(observation, { ...written, images }, stored.status, observation.now);
    await publish(stored, status, log);
    if (written.retry !== undefined) throw written.retry;
    return { requeueAfterMs: recheckInMs(parsed.app, status, images.hold !== undefined, observation) };
  };

  function ownedActions(app: DistrolessApp, key: string): OwnedAction[] {
    // Under an image hold the owned objects are still kept: they select Pods, they run nothing.
    return OWNED_KINDS.flatMap((kind) => planOwned(app, kind, deps.ownedOf(kind, key)));
  }

  /** When to look again without news from a watch: the earliest of the clocks this app waits on. */
  function recheckInMs(app: DistrolessApp, status: DistrolessAppStatus, held: boolean, observation: Observation): number | undefined {
    if (stalledOf(status)) return STALLED_RECHECK_MS;
    const waits = [held ? HELD_RECHECK_MS : undefined, observation.nextAvailableInMs, deadlineInMs(app, status, observation.now)];
    const soonest = Math.min(...waits.map((w) => w ?? Infinity));
    return Number.isFinite(soonest) ? soonest : undefined;
  }

  /**
   * Writes the plan in order, the Pods' then the owned objects'; a refused write,
   * a taken name or a failure worth retrying ends the round there.
   */
  async function write(app: StoredApp, podActions: Action[], ownedActions: OwnedAction[], observation: Observation, log: Logger): Promise<Written> {
    const blocked = await recreateBlocked(deps.rest, app, podActions, observation);
    if (blocked) return { created: 0, problem: blocked };
    let created = 0;
    for (const action of podActions) {
      const result = await perform(app, action, log);
      if (result === 'created') created += 1;
      else if (result !== 'done') return { created, ...result };
    }
    return { created, ...(await writeOwned(deps.rest, app, ownedActions, log)) };
  }

  async function perform(app: StoredApp, action: Action, log: Logger): Promise<'created' | 'done' | Omit<Written, 'created'>> {
    const pod = action.kind === 'create' ? (action.pod.metadata?.name ?? '') : action.name;
    try {
      if (action.kind === 'create') await deps.rest.request('POST', { type: PODS, namespace: app.metadata.namespace }, { body: action.pod });
      else await deletePod(app, action.name, action.uid);
    } catch (err) {
      return failure(app, action.kind, pod, err);
    }
    log.info({ pod, ...(action.kind === 'delete' ? { reason: action.reason } : {}) }, `${action.kind}d pod`);
    return action.kind === 'create' ? 'created' : 'done';
  }

  /** What a failed write means, by the error policy; AlreadyExists on a create asks who holds the name. */
  async function failure(app: StoredApp, write: Action['kind'], pod: string, err: unknown): Promise<'done' | Omit<Written, 'created'>> {
    const verdict = failedWrite(write, err);
    if (verdict === 'stalled') return { problem: { reason: 'PodRejected', message: `pod ${pod}: ${messageOf(err)}` } };
    if (verdict === 'retry') return { retrying: `${write} of pod ${pod} failed, retrying: ${messageOf(err)}`, retry: err };
    // AlreadyExists: an earlier create of ours landed before the cache saw it, or someone else holds the name.
    const taken = write === 'create' && isAlreadyExists(err) ? await takenName(deps.rest, app, pod) : undefined;
    return taken ? { problem: taken } : 'done';
  }

  async function deletePod(app: StoredApp, name: string, uid: string): Promise<void> {
    await deps.rest.request('DELETE', { type: PODS, namespace: app.metadata.namespace, name }, {
      // The uid precondition: a newer Pod of the same name is never the one deleted.
      body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid } },
    });
  }

  /** Patches the status when it changed, and announces a new stall with a Warning Event. */
  async function publish(app: StoredApp, status: DistrolessAppStatus, log: Logger): Promise<void> {
    if (app.status && statusEqual(app.status, status)) return;
    const { namespace, name } = app.metadata;
    try {
      // A merge patch of the whole status: the operator owns every field of it, and
      // a patch cannot conflict with a concurrent metadata write.
      await deps.rest.request('PATCH', { type: DISTROLESS_APPS, namespace, name, subresource: 'status' }, {
        body: { status },
        contentType: 'application/merge-patch+json',
      });
    } catch (err) {
      if (failedWrite('status' satisfies Write, err) === 'done') return;
      throw err;
    }
    log.debug({ conditions: status.conditions?.map((c) => `${c.type}=${c.status}`) }, 'status updated');
    const stall = newStall(app.status, status);
    if (stall) await deps.events.record(app, 'Warning', stall.reason, stall.message);
    const finding = newImageFinding(app.status, status);
    if (finding) await deps.events.record(app, 'Warning', 'ImageNotDistroless', finding.message);
  }

  /** What validation allows but worth a word: said once per generation, which the status's observedGeneration records. */
  async function warn(app: StoredApp, warnings: FieldProblem[]): Promise<void> {
    for (const w of warnings) await deps.events.record(app, 'Warning', 'ShellInImage', `${w.path}: ${w.message}`);
  }
}
