import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { DistrolessApp, DistrolessAppStatus } from '../../../src/api/schema.js';
import { validateApp } from '../../../src/api/validate.js';
import { LABEL_APP, LABEL_TEMPLATE_HASH, render } from '../../../src/render/pod.js';
import { observe } from '../../../src/controller/observe.js';
import { plan, type Action } from '../../../src/controller/plan.js';
import { computeStatus, type Problem } from '../../../src/controller/status.js';
import { isFinished, isReady, isTerminating } from '../../../src/controller/pods.js';
import { validApp, type Manifest } from '../../fixtures/invalid-apps.js';

// Factories and a tiny simulated cluster for the pure controller tests.

/** The plan for an app and the Pods the cache holds for it. */
export function planFor({ app, pods, now = new Date() }: { app: DistrolessApp; pods: V1Pod[]; now?: Date }): Action[] {
  return plan(observe(app, pods, now));
}

export interface StatusCase {
  app: DistrolessApp;
  pods: V1Pod[];
  now: Date;
  previous?: DistrolessAppStatus;
  problem?: Problem;
  created?: number;
  retrying?: string;
}

/** The status for an app, its cached Pods and what this round's writes came to (nothing, unless said). */
export function statusFor({ app, pods, now, previous, problem, created = 0, retrying }: StatusCase): DistrolessAppStatus {
  return computeStatus(observe(app, pods, now), { created, problem, retrying }, previous, now);
}

export const APP_UID = 'uid-of-the-app';
export const NAMESPACE = 'shop';

/** A validated app as the cache would give it: with a uid and a generation. */
export function makeApp(mutate: (m: Manifest) => void = () => {}, generation = 1): DistrolessApp {
  const manifest = validApp('web');
  manifest.metadata.namespace = NAMESPACE;
  mutate(manifest);
  const result = validateApp(manifest);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  result.app.metadata.uid = APP_UID;
  result.app.metadata.generation = generation;
  return result.app;
}

export type PodState = 'Pending' | 'Running' | 'Ready' | 'Failed' | 'Succeeded';

let serial = 0;

/** A Pod as the API server would hold it once created from `pod`: a uid and a status. */
export function existing(pod: V1Pod, state: PodState = 'Ready'): V1Pod {
  const copy = structuredClone(pod);
  copy.metadata = { ...copy.metadata, uid: `pod-uid-${++serial}` };
  return withState(copy, state);
}

export function withState(pod: V1Pod, state: PodState): V1Pod {
  const phase = state === 'Ready' ? 'Running' : state;
  const ready = state === 'Ready' ? 'True' : 'False';
  return { ...pod, status: { ...pod.status, phase, conditions: [{ type: 'Ready', status: ready }] } };
}

export function terminating(pod: V1Pod): V1Pod {
  return { ...pod, metadata: { ...pod.metadata, deletionTimestamp: new Date('2030-01-01T00:00:00Z') } };
}

/** The app's desired Pods, all existing in the given state. */
export function podsOf(app: DistrolessApp, state: PodState = 'Ready'): V1Pod[] {
  return render(app).pods.map((p) => existing(p, state));
}

/** A Pod with the app's labels that this app did not create. */
export function foreignPod(app: DistrolessApp, name: string, owner?: { uid: string; controller: boolean }): V1Pod {
  const hash = render(app).templateHash;
  return existing(
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: NAMESPACE,
        labels: { [LABEL_APP]: app.metadata.name, [LABEL_TEMPLATE_HASH]: hash },
        ...(owner ? { ownerReferences: [{ apiVersion: 'distroless.dev/v1alpha1', kind: 'DistrolessApp', name: 'other', ...owner }] } : {}),
      },
      spec: { containers: [{ name: 'app', image: 'nginx' }] },
    },
    'Failed',
  );
}

export function withInitStatus(pod: V1Pod, status: Partial<V1ContainerStatus>): V1Pod {
  const full = { name: 'init', image: 'alpine:3.20', imageID: '', ready: false, restartCount: 1, ...status } as V1ContainerStatus;
  return { ...pod, status: { ...pod.status, phase: 'Pending', initContainerStatuses: [full] } };
}

export function withAppStatus(pod: V1Pod, status: Partial<V1ContainerStatus>): V1Pod {
  const full = { name: 'app', image: 'gcr.io/distroless/static-debian12:nonroot', imageID: '', ready: false, restartCount: 0, ...status } as V1ContainerStatus;
  return { ...pod, status: { ...pod.status, containerStatuses: [full] } };
}

export const names = (pods: V1Pod[]): string[] => pods.map((p) => p.metadata?.name ?? '').sort();
export const createdNames = (actions: Action[]): string[] => names(actions.flatMap((a) => (a.kind === 'create' ? [a.pod] : [])));
export const deletedNames = (actions: Action[]): string[] => actions.flatMap((a) => (a.kind === 'delete' ? [a.name] : [])).sort();
export const hashOf = (pod: V1Pod): string | undefined => pod.metadata?.labels?.[LABEL_TEMPLATE_HASH];

/**
 * A simulated cluster for multi-step scenarios. Each step: the world moves on
 * (Pods created `readyAfter` steps ago become Ready, Pods deleted `goneAfter`
 * steps ago vanish), then the plan runs and its actions are applied as the API
 * server would, refusing what a real one would refuse.
 */
export class World {
  pods: V1Pod[];
  step = 0;
  writes = 0;
  private readonly born = new Map<string, number>();
  private readonly doomed = new Map<string, number>();

  constructor(
    pods: V1Pod[],
    private readonly timing: { readyAfter: number; goneAfter: number } = { readyAfter: 1, goneAfter: 1 },
  ) {
    this.pods = [...pods];
    // Pods that exist at the start are as far along as Pods just created or deleted.
    for (const pod of pods) (isTerminating(pod) ? this.doomed : this.born).set(pod.metadata!.uid!, 0);
  }

  /** Lets time pass: Pods become Ready and terminating Pods go. */
  tick(): void {
    this.step++;
    this.pods = this.pods.filter((p) => !(isTerminating(p) && this.step - this.doomed.get(p.metadata!.uid!)! >= this.timing.goneAfter));
    this.pods = this.pods.map((p) => {
      const born = this.born.get(p.metadata!.uid!);
      const starting = !isTerminating(p) && !isReady(p) && !isFinished(p);
      return born !== undefined && starting && this.step - born >= this.timing.readyAfter ? withState(p, 'Ready') : p;
    });
  }

  plan(app: DistrolessApp): Action[] {
    return planFor({ app, pods: this.pods });
  }

  apply(actions: Action[]): void {
    for (const action of actions) {
      this.writes++;
      if (action.kind === 'create') {
        const name = action.pod.metadata?.name;
        if (this.pods.some((p) => p.metadata?.name === name)) throw new Error(`create of ${name}: AlreadyExists`);
        const pod = existing(action.pod, 'Pending');
        this.born.set(pod.metadata!.uid!, this.step);
        this.pods.push(pod);
      } else {
        const at = this.pods.findIndex((p) => p.metadata?.name === action.name);
        const pod = this.pods[at];
        if (!pod) throw new Error(`delete of ${action.name}: NotFound`);
        if (pod.metadata?.uid !== action.uid) throw new Error(`delete of ${action.name}: uid precondition failed`);
        if (isTerminating(pod)) throw new Error(`delete of ${action.name}: already terminating (a wasted write)`);
        this.doomed.set(action.uid, this.step);
        this.pods[at] = terminating(pod);
      }
    }
  }

  /** Ready Pods that serve: not terminating. */
  get available(): number {
    return this.pods.filter(isReady).length;
  }

  /** Pods that run or will run: not terminating. */
  get live(): V1Pod[] {
    return this.pods.filter((p) => !isTerminating(p));
  }
}
