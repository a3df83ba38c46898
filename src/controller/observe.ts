import type { V1Pod } from '@kubernetes/client-node';
import type { DistrolessApp } from '../api/schema.js';
import { podName } from '../render/names.js';
import { render } from '../render/pod.js';
import { hashOf, indexOf, isFinished, isOwnedBy, isReady, isTerminating, nameOf } from './pods.js';

/** One Pod the app controls, classified once. */
export interface ObservedPod {
  pod: V1Pod;
  name: string;
  uid: string;
  /** The replica index from its label; undefined when missing or not a number. */
  index: number | undefined;
  ready: boolean;
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
}

/**
 * Classifies the Pods the cache holds for an app (those whose controller
 * reference names it). Pure. Pods controlled by another uid (an earlier app of
 * the same name) are not the app's: only their names count.
 */
export function observe(app: DistrolessApp, pods: readonly V1Pod[]): Observation {
  const { templateHash, pods: desired } = render(app);
  const owned = pods
    .filter((p) => isOwnedBy(p, app))
    .sort(byIndexThenName)
    .map((pod) => classify(pod, templateHash));
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
  };
  for (const observed of owned) {
    if (isTerminating(observed.pod)) {
      observation.terminating.push(observed);
      continue;
    }
    observation.live.push(observed);
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

function classify(pod: V1Pod, templateHash: string): ObservedPod {
  return {
    pod,
    name: nameOf(pod),
    uid: pod.metadata?.uid ?? '',
    index: indexOf(pod),
    ready: isReady(pod),
    ofCurrentTemplate: hashOf(pod) === templateHash,
  };
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
