import type { Logger } from 'pino';
import { isNotFound, type Rest } from '../kube/rest.js';
import { MANAGER } from '../render/pod.js';
import { failedWrite, messageOf } from './errors.js';
import type { OwnedAction, OwnedKind, OwnedObject } from './owned.js';
import { isOwnedBy } from './pods.js';
import type { Problem } from './status.js';

interface App {
  metadata: { namespace: string; uid: string };
}

/** What the owned-object writes came to when they did not all hold: a stall, or a failure to retry. */
export type OwnedFailure = { problem: Problem } | { retrying: string; retry: unknown };

/**
 * Writes an app's owned objects (Service, PodDisruptionBudget) as planOwned says,
 * in order, stopping at the first that fails. Updates are server-side applies
 * under the operator's field manager, so a field the spec stops setting is
 * removed and what others set (a cluster IP, a cloud controller's annotations)
 * is kept; the object is never deleted and recreated, so its cluster IP holds.
 */
export async function writeOwned(rest: Rest, app: App, actions: readonly OwnedAction[], log: Logger): Promise<OwnedFailure | undefined> {
  for (const action of actions) {
    const failure = await perform(rest, app, action);
    if (failure) return failure;
    const name = nameOf(action);
    log.info({ [action.of.kind === 'Service' ? 'service' : 'disruptionBudget']: name }, `${action.kind === 'apply' ? 'applied' : 'deleted'} ${action.of.kind}`);
  }
  return undefined;
}

const nameOf = (action: OwnedAction): string => (action.kind === 'apply' ? (action.object.metadata?.name ?? '') : action.name);

async function perform(rest: Rest, app: App, action: OwnedAction): Promise<OwnedFailure | undefined> {
  const name = nameOf(action);
  const { kind } = action.of;
  try {
    if (action.kind === 'delete') {
      const preconditions = { uid: action.uid };
      await rest.request('DELETE', { type: action.of.type, namespace: app.metadata.namespace, name }, { body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions } });
      return undefined;
    }
    const taken = action.known ? undefined : await takenBy(rest, app, action.of, name);
    if (taken) return { problem: taken };
    await apply(rest, app, action.of, action.object);
    return undefined;
  } catch (err) {
    const verdict = failedWrite(action.kind, err);
    if (verdict === 'done') return undefined;
    if (verdict === 'stalled') return { problem: { reason: `${kind}Rejected`, message: `${kind} ${name}: ${messageOf(err)}` } };
    return { retrying: `${action.kind} of ${kind} ${name} failed, retrying: ${messageOf(err)}`, retry: err };
  }
}

async function apply(rest: Rest, app: App, of: OwnedKind, object: OwnedObject): Promise<void> {
  await rest.request('PATCH', { type: of.type, namespace: app.metadata.namespace, name: object.metadata?.name ?? '' }, {
    body: object,
    // JSON is YAML: the apply content type takes it as it is.
    contentType: 'application/apply-patch+yaml',
    query: { fieldManager: MANAGER, force: true },
  });
}

/**
 * Before the first apply of a name the app does not control yet: the Problem when
 * someone else holds it. An apply would otherwise take their object over.
 */
async function takenBy(rest: Rest, app: App, of: OwnedKind, name: string): Promise<Problem | undefined> {
  let holder: OwnedObject;
  try {
    holder = await rest.request<OwnedObject>('GET', { type: of.type, namespace: app.metadata.namespace, name });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  if (isOwnedBy(holder, app)) return undefined;
  const controller = holder.metadata?.ownerReferences?.find((r) => r.controller);
  const who = controller ? `it is controlled by ${controller.kind} ${controller.name}` : 'it has no controller';
  return { reason: `${of.kind}NameTaken`, message: `${of.kind} ${name} exists and is not this app's (${who}): delete or rename it, or rename the app` };
}
