import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { MAX_CONDITION_MESSAGE, type Condition, type DistrolessApp, type DistrolessAppStatus } from '../api/schema.js';
import type { FieldProblem } from '../api/validate.js';
import { canonicalJson } from '../render/hash.js';
import { selectorLabels } from '../render/pod.js';
import { isInitStepContainer } from '../api/steps.js';
import type { DistrolessCondition, ImageCheck } from './images.js';
import type { Observation, ObservedPod } from './observe.js';
import type { OwnedKind } from './owned.js';
import { nameOf } from './pods.js';

/** Something wrong that a human must fix; becomes Stalled=True with this reason. */
export interface Problem {
  reason:
    | 'InvalidSpec'
    | 'PodRejected'
    | 'PodNameTaken'
    | 'InitContainerFailed'
    | 'ImagePullFailed'
    | 'ImageNotDistroless'
    | 'ImageInspectionFailed'
    | `${OwnedKind['kind']}${'Rejected' | 'NameTaken'}`;
  message: string;
}

/** What this round's writes came to. */
export interface Outcome {
  /** Pods created: of the current template, live, not Ready yet. The cache shows them only later. */
  created: number;
  /** A write the API server refused for good, such as a Pod PodSecurity rejects. */
  problem?: Problem | undefined;
  /** A write that failed and will be retried, with what went wrong. */
  retrying?: string | undefined;
  /** What the images are, and whether the image policy held the Pods back. */
  images?: ImageCheck | undefined;
}

/** The one judgement the three conditions express. */
type Verdict =
  | { state: 'stalled'; reason: string; message: string }
  | { state: 'ready'; message: string }
  | { state: 'progressing'; reason: string; message: string };

const IMAGE_PULL_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']);
const CONTAINER_CONFIG_REASONS = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

/** A retried write says so in Reconciling, so kstatus and Argo CD see that progress is being retried. */
export const RETRY_REASON = 'ProgressingWithRetry';

/**
 * The status an app should show, kstatus-style: Ready, Reconciling and Stalled.
 * Pure and stable: computed twice from the same world it is deep-equal, down to
 * lastTransitionTime, which moves only when a condition's status does. That is
 * what lets a converged app cost no writes.
 */
export function computeStatus(observation: Observation, outcome: Outcome, previous: DistrolessAppStatus | undefined, now: Date): DistrolessAppStatus {
  const { app, live, updated } = observation;
  const desired = app.spec.replicas;
  const availableCurrent = updated.filter((p) => p.available && (p.index ?? Infinity) < desired).length;
  const generation = app.metadata.generation ?? 0;
  const counts = {
    templateHash: observation.templateHash,
    replicas: live.length + outcome.created,
    readyReplicas: live.filter((p) => p.ready).length,
    availableReplicas: live.filter((p) => p.available).length,
    updatedReplicas: updated.length + outcome.created,
  };
  const lastProgressTime = progressTime(counts, previous, now);
  const progress = { availableCurrent, lastProgressTime };
  return {
    observedGeneration: generation,
    ...counts,
    selector: selectorOf(app.metadata.name),
    replicaSummary: `${availableCurrent}/${desired}`,
    lastProgressTime,
    conditions: [
      ...conditionsFor(verdictOf(observation, outcome, progress), generation, previous, now),
      ...distrolessCondition(outcome.images?.condition, generation, previous, now),
    ],
    images: outcome.images?.images,
  };
}

/** The Pods' label selector as the scale subresource serves it (labelSelectorPath): the HorizontalPodAutoscaler parses it. */
export const selectorOf = (appName: string): string =>
  Object.entries(selectorLabels(appName))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

type Counts = Pick<DistrolessAppStatus, 'templateHash' | 'replicas' | 'availableReplicas' | 'updatedReplicas'>;

/**
 * When the rollout last moved: now, if the template or the Pods created, updated
 * or available changed since the previous status; else what it said. Ready Pods
 * alone do not count, so a Pod flapping its readiness before minReadySeconds
 * does not keep a stuck rollout from its deadline.
 */
function progressTime(counts: Counts, previous: DistrolessAppStatus | undefined, now: Date): string {
  const keys = ['templateHash', 'replicas', 'availableReplicas', 'updatedReplicas'] as const;
  const moved = !previous?.lastProgressTime || keys.some((k) => previous[k] !== counts[k]);
  return moved ? timestamp(now) : previous.lastProgressTime!;
}

/**
 * Milliseconds until a rollout that makes no progress passes spec.progressDeadlineSeconds,
 * so the reconciler looks again then; undefined without a deadline, or once it has passed
 * (the status says so) or the app is Ready.
 */
export function deadlineInMs(app: DistrolessApp, status: DistrolessAppStatus, now: Date): number | undefined {
  const seconds = app.spec.progressDeadlineSeconds;
  const ready = status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  if (seconds === undefined || ready || !status.lastProgressTime || stalledOf(status)) return undefined;
  return Math.max(0, Date.parse(status.lastProgressTime) + seconds * 1000 - now.getTime()) + 1000;
}

/** The Distroless condition, when the image policy inspects images. */
function distrolessCondition(found: DistrolessCondition | undefined, generation: number, previous: DistrolessAppStatus | undefined, now: Date): Condition[] {
  return found ? [condition(DISTROLESS, found, generation, previous, now)] : [];
}

export const DISTROLESS = 'Distroless';

/**
 * The Distroless condition of `next` when it newly says the main image is not
 * distroless: announced once with a Warning Event, as a stall is. Under Enforce the
 * stall's own Event says it already; an image that could not be inspected is said
 * by the condition only (under Warn it holds nothing back, under Enforce it stalls).
 */
export function newImageFinding(previous: DistrolessAppStatus | undefined, next: DistrolessAppStatus): Condition | undefined {
  const found = next.conditions?.find((c) => c.type === DISTROLESS && c.status === 'False');
  const before = previous?.conditions?.find((c) => c.type === DISTROLESS);
  const news = found && !(before?.reason === found.reason && before.message === found.message);
  return news && stalledOf(next)?.reason !== 'ImageNotDistroless' ? found : undefined;
}

function verdictOf(observation: Observation, outcome: Outcome, { availableCurrent, lastProgressTime }: { availableCurrent: number; lastProgressTime: string }): Verdict {
  const { app, now } = observation;
  const desired = app.spec.replicas;
  const hold = outcome.images?.hold;
  const problem = stallOf(observation, outcome);
  if (problem) return { state: 'stalled', reason: problem.reason, message: problem.message };
  if (outcome.retrying) return { state: 'progressing', reason: RETRY_REASON, message: outcome.retrying };
  if (hold) return { state: 'progressing', reason: hold.reason, message: hold.message };
  const live = observation.live.length + outcome.created;
  const counted = `${availableCurrent} of ${desired} pods ${app.spec.minReadySeconds > 0 ? 'available' : 'ready'}`;
  if (availableCurrent === desired && live === desired) return { state: 'ready', message: counted };
  const deadline = app.spec.progressDeadlineSeconds;
  if (deadline !== undefined && now.getTime() - Date.parse(lastProgressTime) >= deadline * 1000) {
    return { state: 'stalled', reason: DEADLINE_EXCEEDED, message: `the rollout made no progress for ${deadline}s (progressDeadlineSeconds), since ${lastProgressTime}: ${counted}` };
  }
  const updated = observation.updated.length + outcome.created;
  const reason = progressReason({ live, updated, finished: observation.finished.length, desired });
  return { state: 'progressing', reason, message: counted };
}

export const DEADLINE_EXCEEDED = 'ProgressDeadlineExceeded';

/** What needs a human, most pressing first: a refused write, an image the policy refuses, a failing Pod. */
function stallOf(observation: Observation, outcome: Outcome): { reason: string; message: string } | undefined {
  const hold = outcome.images?.hold;
  return outcome.problem ?? (hold?.stalled ? hold : undefined) ?? podProblem(observation.updated);
}

/** What the operator is busy with, most telling first; a reason is a CamelCase word, as kstatus tools show it. */
function progressReason(count: { live: number; updated: number; finished: number; desired: number }): string {
  if (count.updated < count.live) return 'Updating';
  if (count.finished > 0) return 'Replacing';
  if (count.live > count.desired) return 'ScalingDown';
  if (count.updated < count.desired) return 'Creating';
  return 'Initialising';
}

/** The status of an app whose spec the operator refuses: Stalled, with the Pod counts left as they were. */
export function invalidSpecStatus(
  app: { metadata: { generation?: number | undefined }; status?: DistrolessAppStatus | undefined },
  message: string,
  now: Date,
): DistrolessAppStatus {
  const generation = app.metadata.generation ?? 0;
  const verdict: Verdict = { state: 'stalled', reason: 'InvalidSpec', message };
  return { ...app.status, observedGeneration: generation, conditions: conditionsFor(verdict, generation, app.status, now) };
}

/** Ready, Reconciling and Stalled for a verdict: the one place conditions are made. */
function conditionsFor(verdict: Verdict, generation: number, previous: DistrolessAppStatus | undefined, now: Date): Condition[] {
  const make = (type: string, status: Condition['status'], reason: string, message: string) => condition(type, { status, reason, message }, generation, previous, now);
  switch (verdict.state) {
    case 'stalled':
      return [
        make('Ready', 'False', verdict.reason, verdict.message),
        make('Reconciling', 'False', verdict.reason, 'progress needs a human; see the Stalled condition'),
        make('Stalled', 'True', verdict.reason, verdict.message),
      ];
    case 'ready':
      return [make('Ready', 'True', 'Ready', verdict.message), make('Reconciling', 'False', 'Ready', verdict.message), notStalled()];
    case 'progressing':
      return [make('Ready', 'False', verdict.reason, verdict.message), make('Reconciling', 'True', verdict.reason, verdict.message), notStalled()];
  }
  function notStalled(): Condition {
    return make('Stalled', 'False', 'AsExpected', 'no problem needs a human');
  }
}

/**
 * The Stalled condition of `next` when it is news: True, and not what `previous`
 * already said. The operator announces a stall with a Warning Event only then, so
 * a stuck app costs no writes per resync, nor a repeat after an operator restart
 * (its memory is the status it wrote, not the process).
 */
export function newStall(previous: DistrolessAppStatus | undefined, next: DistrolessAppStatus): Condition | undefined {
  const stalled = stalledOf(next);
  if (!stalled) return undefined;
  const before = stalledOf(previous);
  return before?.reason === stalled.reason && before.message === stalled.message ? undefined : stalled;
}

/** What the apps-by-state metric counts an app as. */
export type AppState = 'ready' | 'reconciling' | 'stalled';

export function stateOf(status: DistrolessAppStatus): AppState {
  if (stalledOf(status)) return 'stalled';
  return status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? 'ready' : 'reconciling';
}

export function stalledOf(status: DistrolessAppStatus | undefined): Condition | undefined {
  return status?.conditions?.find((c) => c.type === 'Stalled' && c.status === 'True');
}

export function statusEqual(a: DistrolessAppStatus | undefined, b: DistrolessAppStatus | undefined): boolean {
  return canonicalJson(a ?? {}) === canonicalJson(b ?? {});
}

/**
 * Problems as one message that fits a condition: as many as fit, then how many were
 * left out. A status the API server refuses for its size would leave the app with no
 * word of the problem at all.
 */
export function problemsMessage(problems: FieldProblem[], limit = MAX_CONDITION_MESSAGE): string {
  const parts = problems.map((p) => `${p.path}: ${p.message}`);
  let text = '';
  for (const [i, part] of parts.entries()) {
    const next = text ? `${text}; ${part}` : part;
    const more = `; … and ${parts.length - i} more`;
    if (next.length + (i < parts.length - 1 ? more.length : 0) > limit) return text ? `${text}${more}` : fitted(part, limit);
    text = next;
  }
  return text;
}

/** RFC 3339 to the second, as the API server writes times. */
const timestamp = (now: Date): string => now.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The text, cut to the limit with an ellipsis when it is longer. */
const fitted = (text: string, limit = MAX_CONDITION_MESSAGE): string => (text.length <= limit ? text : `${text.slice(0, limit - 1)}…`);

function condition(
  type: string,
  { status, reason, message }: Pick<Condition, 'status' | 'reason' | 'message'>,
  observedGeneration: number,
  previous: DistrolessAppStatus | undefined,
  now: Date,
): Condition {
  const before = previous?.conditions?.find((c) => c.type === type);
  const lastTransitionTime = before && before.status === status ? before.lastTransitionTime : timestamp(now);
  return { type, status, observedGeneration, lastTransitionTime, reason, message: fitted(message) };
}

/** A failing init container or an image that cannot be pulled, in the Pods of the current template. */
function podProblem(updated: ObservedPod[]): Problem | undefined {
  const byName = updated.map((p) => p.pod).sort((a, b) => nameOf(a).localeCompare(nameOf(b)));
  for (const pod of byName) {
    const problem = initProblem(pod) ?? pullProblem(pod);
    if (problem) return problem;
  }
  return undefined;
}

function initProblem(pod: V1Pod): Problem | undefined {
  for (const status of pod.status?.initContainerStatuses ?? []) {
    // Init steps only: a sidecar is an init container too, and restarts as the main container does.
    const failure = isInitStepContainer(status.name) ? initFailure(status) : undefined;
    if (failure) return { reason: 'InitContainerFailed', message: `pod ${nameOf(pod)}: init container "${status.name}" ${failure}` };
  }
  return undefined;
}

function pullProblem(pod: V1Pod): Problem | undefined {
  for (const status of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const waiting = status.state?.waiting;
    if (waiting?.reason && IMAGE_PULL_REASONS.has(waiting.reason)) {
      return { reason: 'ImagePullFailed', message: `pod ${nameOf(pod)}: container "${status.name}" image ${status.image}: ${said(waiting.reason, waiting.message)}` };
    }
  }
  return undefined;
}

/** How the init container failed: it exited non-zero (now or before a CrashLoopBackOff), or could not start. */
function initFailure({ state = {}, lastState = {} }: V1ContainerStatus): string | undefined {
  if (failed(state.terminated)) return exitText(state.terminated);
  const reason = state.waiting?.reason ?? '';
  if (reason === 'CrashLoopBackOff' && failed(lastState.terminated)) return `${exitText(lastState.terminated)}, now in CrashLoopBackOff`;
  if (CONTAINER_CONFIG_REASONS.has(reason)) return `cannot start: ${said(reason, state.waiting?.message)}`;
  return undefined;
}

type Exit = { exitCode: number; reason?: string; message?: string };
const failed = (exit: Exit | undefined): exit is Exit => exit !== undefined && exit.exitCode !== 0;

function exitText(t: Exit): string {
  return `exited with code ${t.exitCode}${t.reason ? ` (${t.reason})` : ''}${t.message ? `: ${t.message}` : ''}`;
}

/** `Reason` or `Reason: message`. */
const said = (reason: string, message: string | undefined): string => (message ? `${reason}: ${message}` : reason);
