import type { V1Pod } from '@kubernetes/client-node';
import type { DistrolessApp } from '../api/schema.js';
import { podName } from '../render/names.js';
import { render } from '../render/pod.js';
import { hashOf, indexOf, isFinished, isOwnedBy, isTerminating, nameOf, readySince } from './pods.js';

/** One Pod the app controls, classified once. */
export interface ObservedPod {
  pod: V1Pod;
  name: string;
  uid: string;
  /** The replica index from its label; undefined when missing or not a number. */
  index: number | undefined;
  ready: boolean;
  /** Ready for spec.minReadySeconds at least: what the rollout, availableReplicas and the Ready condition count. */
  available: boolean;
  /** Its template-hash label is the app's current one. */
  ofCurrentTemplate: boolean;
}

/**
 * What the app's Pods are, in words plan and status share. Every owned Pod is in
 * `owned`, and in exactly one of terminating, malformed, finished, current or old;
 * `live` is all of them but the terminating ones.
 */
export interface Observation {
  app: DistrolessApp;
  templateHash: string;
  /** The Pods the app should have, as the renderer makes them. */
  desired: V1Pod[];
  /** Every Pod this app controls (by uid), lowest index first, then by name. */
  owned: ObservedPod[];
  /** Owned and being deleted: on their way out, and still holding their names. */
  terminating: ObservedPod[];
  /** Owned and not terminating: the Pods that stay unless deleted. */
  live: ObservedPod[];
  /** Live, but not named or labelled as the renderer would: never the app's to keep. */
  malformed: ObservedPod[];
  /** Live, well-formed, Failed or Succeeded: they will not run again under restartPolicy Always. */
  finished: ObservedPod[];
  /** Live, well-formed, running or starting, of the current template. */
  current: ObservedPod[];
  /** Live, well-formed, running or starting, of an older template. */
  old: ObservedPod[];
  /** Live Pods of the current template, finished or not: what status calls updated. */
  updated: ObservedPod[];
  /** Names any cached Pod holds, the app's or not: they cannot be created now. */
  takenNames: ReadonlySet<string>;
  /** When the observation was made: availability and the progress deadline are measured against it. */
  now: Date;
  /** Milliseconds until the next Ready Pod becomes available; undefined when none is waiting for it. */
  nextAvailableInMs: number | undefined;
}

/**
 * Classifies the Pods the cache holds for an app (those whose controller
 * reference names it). Pure. Pods controlled by another uid (an earlier app of
 * the same name) are not the app's: only their names count.
 */
export function observe(app: DistrolessApp, pods: readonly V1Pod[], now: Date): Observation {
  const { templateHash, pods: desired } = render(app);
  const minReadyMs = app.spec.minReadySeconds * 1000;
  const owned = pods
    .filter((p) => isOwnedBy(p, app))
    .sort(byIndexThenName)
    .map((pod) => classify(pod, templateHash, availableInMs(pod, minReadyMs, now)));
  const observation: Observation = {
    app,
    templateHash,
    desired,
    owned,
    terminating: [],
    live: [],
    malformed: [],
    finished: [],
    current: [],
    old: [],
    updated: [],
    takenNames: new Set(pods.map(nameOf)),
    now,
    nextAvailableInMs: undefined,
  };
  for (const observed of owned) {
    if (isTerminating(observed.pod)) {
      observation.terminating.push(observed);
      continue;
    }
    observation.live.push(observed);
    if (observed.ready && !observed.available) observation.nextAvailableInMs = Math.min(observation.nextAvailableInMs ?? Infinity, observed.availableInMs);
    if (observed.ofCurrentTemplate) observation.updated.push(observed);
    groupOfLive(observed, app.metadata.name).push(observed);
  }
  return observation;

  function groupOfLive(observed: ObservedPod, appName: string): ObservedPod[] {
    if (!isWellFormed(observed, appName)) return observation.malformed;
    if (isFinished(observed.pod)) return observation.finished;
    return observed.ofCurrentTemplate ? observation.current : observation.old;
  }
}

function classify(pod: V1Pod, templateHash: string, availableInMs: number | undefined): ObservedPod & { availableInMs: number } {
  return {
    pod,
    name: nameOf(pod),
    uid: pod.metadata?.uid ?? '',
    index: indexOf(pod),
    ready: availableInMs !== undefined,
    available: availableInMs === 0,
    availableInMs: availableInMs ?? Infinity,
    ofCurrentTemplate: hashOf(pod) === templateHash,
  };
}

/**
 * Milliseconds until a Ready Pod has been Ready for minReadySeconds (0: it has);
 * undefined when it is not Ready. A Ready condition without a time counts as
 * Ready long enough: there is nothing to wait from.
 */
function availableInMs(pod: V1Pod, minReadyMs: number, now: Date): number | undefined {
  const since = readySince(pod);
  if (since === undefined) return undefined;
  if (minReadyMs === 0 || Number.isNaN(since)) return 0;
  return Math.max(0, since + minReadyMs - now.getTime());
}

/** Has a template hash and a replica index, and the very name the renderer gives them. */
function isWellFormed(observed: ObservedPod, appName: string): boolean {
  const hash = hashOf(observed.pod);
  return hash !== undefined && observed.index !== undefined && observed.name === podName(appName, hash, observed.index);
}

/** Cache order is arbitrary; this makes plan and status independent of it. */
function byIndexThenName(a: V1Pod, b: V1Pod): number {
  const byIndex = (indexOf(a) ?? -1) - (indexOf(b) ?? -1);
  if (byIndex !== 0) return byIndex;
  return nameOf(a) < nameOf(b) ? -1 : nameOf(a) > nameOf(b) ? 1 : 0;
}
