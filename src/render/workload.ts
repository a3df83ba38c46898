import type { V1ObjectMeta, V1PodDisruptionBudget, V1Service, V1ServicePort } from '@kubernetes/client-node';
import { API_VERSION, KIND, type DistrolessApp } from '../api/schema.js';
import { LABEL_NAME, selectorLabels } from './pod.js';

// The objects an app owns beside its Pods, each named after the app: a pure
// function of the validated app, like the Pods, shared by the operator and the
// offline `render` command.

/**
 * The app's PodDisruptionBudget, or undefined when it should have none: turned
 * off, or at most 1 replica, where a budget allowing no disruption would block
 * every node drain (and Argo CD shows such a budget Degraded).
 */
export function renderDisruptionBudget(app: DistrolessApp): V1PodDisruptionBudget | undefined {
  const budget = app.spec.disruptionBudget ?? {};
  if (budget.enabled === false || (budget.enabled === undefined && app.spec.replicas <= 1)) return undefined;
  const limit = budget.maxUnavailable !== undefined ? { maxUnavailable: budget.maxUnavailable } : { minAvailable: budget.minAvailable ?? 1 };
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: ownedMetadata(app),
    spec: { selector: { matchLabels: selectorLabels(app.metadata.name) }, ...limit },
  };
}

/** The app's Service when spec.service asks for one: it selects exactly the app's Pods. */
export function renderService(app: DistrolessApp): V1Service | undefined {
  const service = app.spec.service;
  if (!service) return undefined;
  const ports: V1ServicePort[] = service.ports
    ? service.ports.map((p) => ({ ...p, targetPort: p.targetPort ?? p.port }) as V1ServicePort)
    : portsOfApp(app);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { ...ownedMetadata(app), ...(service.annotations ? { annotations: { ...service.annotations } } : {}) },
    spec: { type: service.type, selector: selectorLabels(app.metadata.name), ports },
  };
}

/**
 * One Service port per container port, same number, aimed at the port by name
 * when it has one. A Service with several ports needs each named: an unnamed
 * one is called after its protocol and number, such as tcp-8080.
 */
function portsOfApp(app: DistrolessApp): V1ServicePort[] {
  const ports = app.spec.app.ports ?? [];
  return ports.map((p) => {
    const name = p.name ?? (ports.length > 1 ? `${p.protocol.toLowerCase()}-${p.containerPort}` : undefined);
    return { ...(name ? { name } : {}), port: p.containerPort, targetPort: p.name ?? p.containerPort, protocol: p.protocol } as V1ServicePort;
  });
}

/** Named after the app, labelled so the operator's caches see it, controlled by the app when it has a uid. */
function ownedMetadata(app: DistrolessApp): V1ObjectMeta {
  const { name, namespace, uid } = app.metadata;
  return {
    name,
    ...(namespace ? { namespace } : {}),
    labels: { ...selectorLabels(name), [LABEL_NAME]: name },
    ...(uid ? { ownerReferences: [{ apiVersion: API_VERSION, kind: KIND, name, uid, controller: true, blockOwnerDeletion: true }] } : {}),
  };
}
