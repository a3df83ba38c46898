import type { V1Container, V1EnvVar, V1Probe, V1SecurityContext } from '@kubernetes/client-node';
import { DEFAULT_UID, isEmptyProbe, type AppContainer, type InitContainer, type Probe, type Sidecar, type Spec } from '../api/schema.js';
import { initStepsOf } from '../api/steps.js';
import { omitUndefined } from './objects.js';
import { initStepMounts, servingMounts } from './volumes.js';

// The Pod's containers. Init steps: full-distro, each with only its own env and the
// init volumes it names. The distroless container and the sidecars: hardened alike
// (read-only root), their own env, the shared volume only.

export const APP_CONTAINER = 'app';

/** The init steps in order, then the sidecars (restartPolicy Always), which start once the steps are done. */
export function initContainers(spec: Spec): V1Container[] {
  const platform = platformAssignsUids(spec);
  return [
    ...initStepsOf(spec).map(({ container, step }) => initStep(container, step, spec, platform)),
    ...(spec.sidecars ?? []).map((s) => serving(s.name, s, spec, platform, true)),
  ];
}

export function appContainer(spec: Spec): V1Container {
  return serving(APP_CONTAINER, spec.app, spec, platformAssignsUids(spec), false);
}

const platformAssignsUids = (spec: Spec): boolean => spec.podTemplate.platformAssignsUids === true;

function initStep(name: string, step: InitContainer, spec: Spec, platform: boolean): V1Container {
  return omitUndefined<V1Container>({
    name,
    image: step.image,
    imagePullPolicy: step.imagePullPolicy,
    command: step.command,
    args: step.args,
    workingDir: step.workingDir,
    env: step.env as V1EnvVar[] | undefined,
    envFrom: step.envFrom,
    resources: step.resources as V1Container['resources'],
    securityContext: containerSecurity(step, false, platform),
    volumeMounts: initStepMounts(spec.shared, step.volumeMounts),
  });
}

/** The distroless container, or a sidecar: an init container that restarts, so runs beside it. */
function serving(name: string, c: AppContainer | Sidecar, spec: Spec, platform: boolean, sidecar: boolean): V1Container {
  return omitUndefined<V1Container>({
    name,
    image: c.image,
    imagePullPolicy: c.imagePullPolicy,
    ...(sidecar ? { restartPolicy: 'Always' } : {}),
    command: c.command,
    args: c.args,
    workingDir: c.workingDir,
    // Only the container's own env: the init steps' (and their Secrets) stay there.
    env: c.env as V1EnvVar[] | undefined,
    envFrom: c.envFrom,
    ports: c.ports,
    resources: c.resources as V1Container['resources'],
    livenessProbe: probe(c.livenessProbe),
    readinessProbe: probe(c.readinessProbe),
    startupProbe: probe(c.startupProbe),
    securityContext: containerSecurity(c, true, platform),
    volumeMounts: servingMounts(spec.shared),
  });
}

/**
 * The restricted Pod Security profile for one container. UIDs default to the
 * distroless nonroot user, unless the platform assigns them: then none is set, and
 * runAsNonRoot still holds the platform to a non-root one.
 */
function containerSecurity(ids: { runAsUser?: number | undefined; runAsGroup?: number | undefined }, readOnlyRoot: boolean, platform: boolean): V1SecurityContext {
  return {
    runAsNonRoot: true,
    ...(platform ? {} : { runAsUser: ids.runAsUser ?? DEFAULT_UID, runAsGroup: ids.runAsGroup ?? DEFAULT_UID }),
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
