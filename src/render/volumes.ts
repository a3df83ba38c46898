import type { V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { Spec } from '../api/schema.js';
import { SHARED_VOLUME_NAME, type InitVolume, type VolumeMount } from '../api/volumes.js';
import { omitUndefined } from './objects.js';

// The Pod's volumes and who mounts what: the shared emptyDir in every container,
// init volumes in the init steps that name them and nowhere else.

export const SHARED_VOLUME = SHARED_VOLUME_NAME;

type Shared = Spec['shared'];

/** The shared emptyDir, then the init volumes in the order the spec lists them. */
export function podVolumes(spec: Pick<Spec, 'shared' | 'initVolumes'>): V1Volume[] {
  const { shared } = spec;
  return [
    { name: SHARED_VOLUME, emptyDir: omitUndefined({ medium: shared.medium || undefined, sizeLimit: shared.sizeLimit as string | undefined }) },
    ...(spec.initVolumes ?? []).map(initVolume),
  ];
}

function initVolume(v: InitVolume): V1Volume {
  return omitUndefined({ name: v.name, configMap: v.configMap, secret: v.secret, projected: v.projected }) as V1Volume;
}

/** Where an init step mounts the shared volume, then the init volumes it names. */
export function initStepMounts(shared: Shared, mounts: VolumeMount[] | undefined): V1VolumeMount[] {
  return [
    { name: SHARED_VOLUME, mountPath: shared.initMountPath ?? shared.mountPath },
    ...(mounts ?? []).map((m) => omitUndefined({ name: m.name, mountPath: m.mountPath, subPath: m.subPath, readOnly: m.readOnly || undefined })),
  ];
}

/** Where the distroless container and every sidecar mount the shared volume: never an init volume. */
export function servingMounts(shared: Shared): V1VolumeMount[] {
  return [{ name: SHARED_VOLUME, mountPath: shared.appMountPath ?? shared.mountPath, ...(shared.readOnlyInApp ? { readOnly: true } : {}) }];
}
