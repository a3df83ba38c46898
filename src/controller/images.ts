import type { DistrolessApp, DistrolessAppStatus, InspectedImageStatus } from '../api/schema.js';
import { initStepsOf } from '../api/steps.js';
import type { Lookup } from '../image/inspector.js';
import type { ImageVerdict } from '../image/types.js';
import type { Action } from './plan.js';

/** The Distroless condition: what the inspection of the main image found. */
export interface DistrolessCondition {
  status: 'True' | 'False' | 'Unknown';
  reason: 'Inspected' | 'ShellInImage' | 'PackageManagerInImage' | 'Inspecting' | 'InspectionFailed';
  message: string;
}

/** Under Enforce, why no Pod may be created yet. */
export interface ImageHold {
  /** True when a human must act (the image is not distroless, or cannot be inspected); false while the operator waits. */
  stalled: boolean;
  reason: 'ImageNotDistroless' | 'ImageInspectionFailed' | 'InspectingImage';
  message: string;
}

/** What the app's images are, as status shows it and the policy acts on it; empty under imagePolicy Off. */
export interface ImageCheck {
  images?: InspectedImageStatus[];
  condition?: DistrolessCondition;
  hold?: ImageHold;
}

/**
 * Looks up the app's images (the main one, then each init step's and sidecar's) and judges the main one by its policy. The
 * lookup answers from memory (inspection runs in the background), so this never
 * waits on a registry: under Warn a registry outage only leaves the condition
 * Unknown; under Enforce the app waits, and says why.
 */
export function checkImages(app: DistrolessApp, lookup: (reference: string) => Lookup, previous?: DistrolessAppStatus): ImageCheck {
  const policy = app.spec.imagePolicy;
  if (policy === 'Off') return {};
  const { image } = app.spec.app;
  const main = lookup(image);
  // A restarted operator knows no verdict yet: what the status says of the same image stands until it does,
  // so a restart costs no write and holds nothing back that was running.
  const before = main.state === 'pending' ? remembered(previous, image) : undefined;
  const condition = before?.condition ?? distroless(image, main);
  return {
    images: [
      imageStatus('app', image, main, previous),
      ...initStepsOf(app.spec).map(({ container, step }) => imageStatus(container, step.image, lookup(step.image), previous)),
      ...(app.spec.sidecars ?? []).map((sidecar) => imageStatus(sidecar.name, sidecar.image, lookup(sidecar.image), previous)),
    ],
    condition,
    hold: policy !== 'Enforce' ? undefined : before ? rememberedHold(before) : holdFor(main, condition),
  };
}

interface Remembered {
  condition: DistrolessCondition;
  /** The previous status was Stalled for it (a failure the registry will not fix by itself). */
  stalled: boolean;
}

/** What the previous status said of the same main image, when it had an answer: a verdict or a failure. */
function remembered(previous: DistrolessAppStatus | undefined, image: string): Remembered | undefined {
  if (!previousEntry(previous, 'app', image)) return undefined;
  const before = previous?.conditions?.find((c) => c.type === 'Distroless');
  if (!before || before.reason === 'Inspecting') return undefined;
  const stalled = previous?.conditions?.some((c) => c.type === 'Stalled' && c.status === 'True' && c.reason.startsWith('ImageInspection')) ?? false;
  return { condition: { status: before.status, reason: before.reason as DistrolessCondition['reason'], message: before.message }, stalled };
}

const previousEntry = (previous: DistrolessAppStatus | undefined, container: string, image: string): InspectedImageStatus | undefined =>
  previous?.images?.find((i) => i.container === container && i.image === image && (i.digest || i.error));

/** The actions a hold still allows: removing Pods that would be removed whatever the image (never one a replacement waits for). */
export function allowedUnderHold(actions: Action[]): Action[] {
  return actions.filter((a) => a.kind === 'delete' && (a.reason === 'Malformed' || a.reason === 'Finished' || a.reason === 'ScaleDown'));
}

/** What was found, in one line: the shells first, as they are the reason distroless exists. */
export function findings(verdict: ImageVerdict): string {
  const found = [
    verdict.shells.length ? `shell ${verdict.shells.join(', ')}` : '',
    verdict.busybox ? `BusyBox ${verdict.busybox.version} at /${verdict.busybox.path} (${verdict.busybox.applets} applets)` : '',
    verdict.packageManagers.length ? `package manager ${verdict.packageManagers.join(', ')}` : '',
  ].filter(Boolean);
  return found.join('; ');
}

function distroless(image: string, lookup: Lookup): DistrolessCondition {
  switch (lookup.state) {
    case 'pending':
      return { status: 'Unknown', reason: 'Inspecting', message: `inspecting ${image}` };
    case 'failed':
      return { status: 'Unknown', reason: 'InspectionFailed', message: `could not inspect: ${lookup.error.message}` };
    case 'inspected': {
      const { verdict } = lookup;
      if (verdict.distroless) return { status: 'True', reason: 'Inspected', message: `${image} (${verdict.digest}): no shell, no package manager` };
      const reason = verdict.shells.length || verdict.busybox ? 'ShellInImage' : 'PackageManagerInImage';
      return { status: 'False', reason, message: `${image} (${verdict.digest}) is not distroless: ${findings(verdict)}` };
    }
  }
}

const KEPT = 'no Pod is created until it is (spec.imagePolicy: Enforce; Pods already running are left alone)';

function holdFor(main: Lookup, condition: DistrolessCondition): ImageHold | undefined {
  switch (main.state) {
    case 'pending':
      return { stalled: false, reason: 'InspectingImage', message: `${condition.message}: ${KEPT}` };
    case 'failed':
      return failedHold(!main.error.transient, condition);
    case 'inspected':
      return main.verdict.distroless ? undefined : notDistrolessHold(condition);
  }
}

/** The hold the previous status showed, made again in the same words, so it is no change. */
function rememberedHold({ condition, stalled }: Remembered): ImageHold | undefined {
  if (condition.reason === 'InspectionFailed') return failedHold(stalled, condition);
  return condition.status === 'True' ? undefined : notDistrolessHold(condition);
}

const failedHold = (stalled: boolean, condition: DistrolessCondition): ImageHold => ({
  stalled,
  reason: 'ImageInspectionFailed',
  message: `main image not inspected, ${condition.message}; ${KEPT}`,
});

const notDistrolessHold = (condition: DistrolessCondition): ImageHold => ({ stalled: true, reason: 'ImageNotDistroless', message: `${condition.message}; ${KEPT}` });

function imageStatus(container: string, image: string, lookup: Lookup, previous?: DistrolessAppStatus): InspectedImageStatus {
  if (lookup.state === 'pending') return previousEntry(previous, container, image) ?? { container, image };
  if (lookup.state === 'failed') return { container, image, error: lookup.error.message.slice(0, 4096) };
  const v = lookup.verdict;
  return {
    container,
    image,
    digest: v.digest,
    distroless: v.distroless,
    shells: v.shells.slice(0, 16),
    packageManagers: v.packageManagers.slice(0, 16),
    packageMetadata: v.packageMetadata.slice(0, 8).map((m) => `${m.format} /${m.path}: ${m.packages ?? 'uncounted'} packages`),
    scannerVisibility: v.scannerVisibility,
    user: userText(v.user),
  };
}

function userText(user: ImageVerdict['user']): string {
  const who = user.uid !== undefined && String(user.uid) !== user.configured ? `${user.configured || 'unset'} (uid ${user.uid})` : user.configured || 'unset (root)';
  if (user.nonRoot === undefined) return `${who}, root or not unknown`;
  return `${who}, ${user.nonRoot ? 'non-root' : 'root'}`;
}
