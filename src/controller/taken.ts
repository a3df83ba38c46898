import type { V1Pod } from '@kubernetes/client-node';
import { PODS } from '../kube/resources.js';
import { isNotFound, type Rest } from '../kube/rest.js';
import type { Observation } from './observe.js';
import type { Action } from './plan.js';
import { isOwnedBy } from './pods.js';
import type { Problem } from './status.js';

// Pod names are deterministic, so a name can be held by a Pod the app does not
// control: one made by hand under a name that status.templateHash predicts, or one
// of another app. The cache holds only the app's own Pods, so the API server is asked.

interface App {
  metadata: { namespace: string; uid: string };
}

/** The Problem when another holds the Pod name `name`; undefined when it is free or the app's own. */
export async function takenName(rest: Rest, app: App, name: string): Promise<Problem | undefined> {
  let pod: V1Pod;
  try {
    pod = await rest.request<V1Pod>('GET', { type: PODS, namespace: app.metadata.namespace, name });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  if (isOwnedBy(pod, app)) return undefined;
  const controller = pod.metadata?.ownerReferences?.find((r) => r.controller);
  const holder = controller ? `it is controlled by ${controller.kind} ${controller.name}` : 'it has no controller';
  return { reason: 'PodNameTaken', message: `pod ${name} exists and is not this app's (${holder}): delete or rename it, or rename the app` };
}

/**
 * Before Recreate removes the old Pods, the names their replacements need must be
 * free: removing them first would leave the app with no Pod at all.
 */
export async function recreateBlocked(rest: Rest, app: App, actions: Action[], observation: Observation): Promise<Problem | undefined> {
  if (!actions.some((a) => a.kind === 'delete' && a.reason === 'Recreate')) return undefined;
  const own = new Set(observation.owned.map((p) => p.name));
  for (const pod of observation.desired) {
    const name = pod.metadata?.name ?? '';
    const problem = own.has(name) ? undefined : await takenName(rest, app, name);
    if (problem) return problem;
  }
  return undefined;
}
