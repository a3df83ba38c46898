import type { V1Affinity, V1Container, V1EnvVar, V1Pod, V1Probe, V1SecurityContext } from '@kubernetes/client-node';
import { API_VERSION, DEFAULT_UID, KIND, isEmptyProbe, type DistrolessApp, type Probe } from '../api/schema.js';
import { templateHash } from './hash.js';
import { podName } from './names.js';

export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_APP = 'distroless.dev/app';
export const LABEL_TEMPLATE_HASH = 'distroless.dev/template-hash';
export const LABEL_REPLICA_INDEX = 'distroless.dev/replica-index';
export const MANAGER = 'distroless-operator';

export const SHARED_VOLUME = 'shared';
export const INIT_CONTAINER = 'init';
export const APP_CONTAINER = 'app';

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
  const { init, app: main, shared, podTemplate: pt } = app.spec;
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
      // The restricted Pod Security profile, whatever the images' own defaults say.
      securityContext: { runAsNonRoot: true, fsGroup: pt.fsGroup, seccompProfile: { type: 'RuntimeDefault' } },
      initContainers: [
        omitUndefined<V1Container>({
          name: INIT_CONTAINER,
          image: init.image,
          imagePullPolicy: init.imagePullPolicy,
          command: init.command,
          args: init.args,
          workingDir: init.workingDir,
          env: init.env as V1EnvVar[] | undefined,
          envFrom: init.envFrom,
          resources: init.resources as V1Container['resources'],
          securityContext: containerSecurity(init.runAsUser, init.runAsGroup, false),
          volumeMounts: [{ name: SHARED_VOLUME, mountPath: shared.initMountPath ?? shared.mountPath }],
        }),
      ],
      containers: [
        omitUndefined<V1Container>({
          name: APP_CONTAINER,
          image: main.image,
          imagePullPolicy: main.imagePullPolicy,
          command: main.command,
          args: main.args,
          workingDir: main.workingDir,
          // Only the main container's own env: the init container's (and its Secrets) stay there.
          env: main.env as V1EnvVar[] | undefined,
          envFrom: main.envFrom,
          ports: main.ports,
          resources: main.resources as V1Container['resources'],
          livenessProbe: probe(main.livenessProbe),
          readinessProbe: probe(main.readinessProbe),
          startupProbe: probe(main.startupProbe),
          securityContext: containerSecurity(main.runAsUser, main.runAsGroup, true),
          volumeMounts: [
            { name: SHARED_VOLUME, mountPath: shared.appMountPath ?? shared.mountPath, ...(shared.readOnlyInApp ? { readOnly: true } : {}) },
          ],
        }),
      ],
      volumes: [
        {
          name: SHARED_VOLUME,
          emptyDir: omitUndefined({ medium: shared.medium || undefined, sizeLimit: shared.sizeLimit as string | undefined }),
        },
      ],
      restartPolicy: 'Always',
      serviceAccountName: pt.serviceAccountName,
      automountServiceAccountToken: pt.automountServiceAccountToken,
      nodeSelector: pt.nodeSelector,
      tolerations: pt.tolerations,
      affinity: pt.affinity as V1Affinity | undefined,
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

function containerSecurity(runAsUser: number | undefined, runAsGroup: number | undefined, readOnlyRoot: boolean): V1SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: runAsUser ?? DEFAULT_UID,
    runAsGroup: runAsGroup ?? DEFAULT_UID,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    ...(readOnlyRoot ? { readOnlyRootFilesystem: true } : {}),
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

function probe(p: Probe | undefined): V1Probe | undefined {
  if (!p || isEmptyProbe(p)) return undefined;
  return omitUndefined(p) as V1Probe;
}

function omitUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
