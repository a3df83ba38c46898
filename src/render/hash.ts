import { createHash } from 'node:crypto';
import { DEFAULT_UID, type DistrolessApp, type PodTemplate } from '../api/schema.js';
import { nonEmpty } from './objects.js';

/**
 * JSON with object keys sorted and undefined members left out, so that equal
 * values give equal text whatever the key order they were written in.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export const HASH_LENGTH = 10;

export function shortHash(text: string, length = HASH_LENGTH): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/**
 * The template hash: a digest of the validated (defaulted) spec fields that shape a
 * Pod. `replicas` and `updateStrategy` say how many Pods and how to roll them, not
 * what a Pod is, so changing them replaces nothing. sha256 over canonical JSON is
 * the same on every run, process and Node version.
 *
 * Fields added later hash only when they say something (an empty list or a false
 * switch is left out), so an app that does not use them keeps its hash, and its Pods.
 */
export function templateHash(app: DistrolessApp): string {
  const { init, initSteps, initVolumes, app: main, sidecars, shared, podTemplate } = app.spec;
  return shortHash(
    canonicalJson({ init, initSteps, initVolumes: nonEmpty(initVolumes), app: main, sidecars: nonEmpty(sidecars), shared, podTemplate: hashedPodTemplate(podTemplate) }),
  );
}

/**
 * The pod template as it was hashed before fsGroup lost its schema default: the
 * default written in, unless the platform assigns UIDs.
 */
function hashedPodTemplate(pt: PodTemplate): PodTemplate {
  const platform = pt.platformAssignsUids === true;
  return {
    ...pt,
    fsGroup: platform ? undefined : (pt.fsGroup ?? DEFAULT_UID),
    platformAssignsUids: platform || undefined,
    topologySpreadConstraints: nonEmpty(pt.topologySpreadConstraints),
  };
}
