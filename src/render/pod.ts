import type { V1Affinity, V1Pod, V1PodSecurityContext, V1TopologySpreadConstraint } from '@kubernetes/client-node';
import { API_VERSION, DEFAULT_UID, KIND, type DistrolessApp, type PodTemplate } from '../api/schema.js';
import { appContainer, initContainers } from './containers.js';
import { templateHash } from './hash.js';
import { podName } from './names.js';
import { nonEmpty, omitUndefined } from './objects.js';
import { podVolumes } from './volumes.js';

export { INIT_CONTAINER, isInitStepContainer } from '../api/steps.js';
export { APP_CONTAINER } from './containers.js';
export { SHARED_VOLUME } from './volumes.js';

export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_APP = 'distroless.dev/app';
export const LABEL_TEMPLATE_HASH = 'distroless.dev/template-hash';
export const LABEL_REPLICA_INDEX = 'distroless.dev/replica-index';
export const MANAGER = 'distroless-operator';

export interface RenderedApp {
  templateHash: string;
  pods: V1Pod[];
}

/**
 * The Pods of an app: a pure function of the validated app. The operator, the
 * offline `render` command and the tests all use it. An app read from the cluster
 * has a uid, and its Pods then carry the controller ownerReference; an app read
 * from a file has none, and its Pods stand alone.
 */
export function render(app: DistrolessApp): RenderedApp {
  const hash = templateHash(app);
  const pods = Array.from({ length: app.spec.replicas }, (_, index) => renderPod(app, hash, index));
  return { templateHash: hash, pods };
}

export function renderPod(app: DistrolessApp, hash: string, index: number): V1Pod {
  const { name, namespace, uid } = app.metadata;
  const pt = app.spec.podTemplate;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName(name, hash, index),
      ...(namespace ? { namespace } : {}),
      labels: { ...pt.labels, ...selectorLabels(name), [LABEL_NAME]: name, [LABEL_TEMPLATE_HASH]: hash, [LABEL_REPLICA_INDEX]: String(index) },
      ...(pt.annotations ? { annotations: { ...pt.annotations } } : {}),
      ...(uid ? { ownerReferences: [{ apiVersion: API_VERSION, kind: KIND, name, uid, controller: true, blockOwnerDeletion: true }] } : {}),
    },
    spec: omitUndefined({
      securityContext: podSecurity(pt),
      initContainers: initContainers(app.spec),
      containers: [appContainer(app.spec)],
      volumes: podVolumes(app.spec),
      restartPolicy: 'Always',
      serviceAccountName: pt.serviceAccountName,
      automountServiceAccountToken: pt.automountServiceAccountToken,
      nodeSelector: pt.nodeSelector,
      tolerations: pt.tolerations,
      affinity: pt.affinity as V1Affinity | undefined,
      topologySpreadConstraints: topologySpread(name, pt),
      imagePullSecrets: pt.imagePullSecrets,
      priorityClassName: pt.priorityClassName,
      terminationGracePeriodSeconds: pt.terminationGracePeriodSeconds,
    }),
  };
}

/** The labels that select an app's Pods. */
export function selectorLabels(appName: string): Record<string, string> {
  return { [LABEL_APP]: appName, [LABEL_MANAGED_BY]: MANAGER };
}

/** The restricted Pod Security profile, whatever the images' own defaults say; fsGroup left to the platform when it assigns UIDs. */
function podSecurity(pt: PodTemplate): V1PodSecurityContext {
  return {
    runAsNonRoot: true,
    ...(pt.platformAssignsUids ? {} : { fsGroup: pt.fsGroup ?? DEFAULT_UID }),
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** The constraints as given, a left-out labelSelector filled in with the app's own selector. */
function topologySpread(appName: string, pt: PodTemplate): V1TopologySpreadConstraint[] | undefined {
  return nonEmpty(pt.topologySpreadConstraints)?.map((c) => ({ ...c, labelSelector: c.labelSelector ?? { matchLabels: selectorLabels(appName) } }));
}
