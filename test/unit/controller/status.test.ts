import type { Condition, DistrolessAppStatus } from '../../../src/api/schema.js';
import { invalidSpecStatus, newStall, problemsMessage, statusEqual } from '../../../src/controller/status.js';
import { render } from '../../../src/render/pod.js';
import { foreignPod, makeApp, podsOf, statusFor, terminating, withAppStatus, withInitStatus, withState } from './world.js';

const T0 = new Date('2030-05-01T10:00:00.123Z');
const T1 = new Date('2030-05-01T10:05:00.000Z');

const app3 = makeApp((m) => (m.spec.replicas = 3), 4);
const hash3 = render(app3).templateHash;

const conditionOf = (status: DistrolessAppStatus, type: string): Condition => {
  const found = status.conditions?.find((c) => c.type === type);
  if (!found) throw new Error(`no ${type} condition`);
  return found;
};
const summary = (status: DistrolessAppStatus) =>
  Object.fromEntries((status.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]));

describe('computeStatus', () => {
  it('reports a converged app as Ready, not Reconciling, not Stalled, with every count', () => {
    const status = statusFor({ app: app3, pods: podsOf(app3), now: T0 });
    expect(status).toMatchObject({
      observedGeneration: 4,
      replicas: 3,
      readyReplicas: 3,
      updatedReplicas: 3,
      templateHash: hash3,
      replicaSummary: '3/3',
    });
    expect(summary(status)).toEqual({ Ready: 'True/Ready', Reconciling: 'False/Ready', Stalled: 'False/AsExpected' });
    for (const c of status.conditions ?? []) {
      expect(c.observedGeneration).toBe(4);
      expect(c.lastTransitionTime).toBe('2030-05-01T10:00:00Z');
      expect(c.message).not.toBe('');
    }
  });

  it('reports an app scaled to zero with no Pods as Ready', () => {
    const app0 = makeApp((m) => (m.spec.replicas = 0));
    const status = statusFor({ app: app0, pods: [], now: T0 });
    expect(status.replicaSummary).toBe('0/0');
    expect(conditionOf(status, 'Ready').status).toBe('True');
  });

  it('ignores foreign Pods in every count', () => {
    const pods = [...podsOf(app3), withState(foreignPod(app3, 'web-by-hand'), 'Ready'), withState(foreignPod(app3, 'web-x', { uid: 'other', controller: true }), 'Ready')];
    expect(statusFor({ app: app3, pods, now: T0 })).toEqual(statusFor({ app: app3, pods: podsOf(app3), now: T0 }));
  });

  it.each([
    ['Creating', 'no Pods yet', () => [], '0/3'],
    ['Creating', 'a missing Pod', () => podsOf(app3).slice(0, 2), '2/3'],
    ['Initialising', 'Pods that are not Ready yet', () => podsOf(app3, 'Pending'), '0/3'],
    ['Creating', 'a terminating Pod', () => podsOf(app3).map((p, i) => (i === 0 ? terminating(p) : p)), '2/3'],
    ['Replacing', 'a Failed Pod', () => podsOf(app3).map((p, i) => (i === 0 ? withState(p, 'Failed') : p)), '2/3'],
    ['ScalingDown', 'surplus Pods', () => podsOf(makeApp((m) => (m.spec.replicas = 5))), '3/3'],
    ['Updating', 'Pods of an old template', () => podsOf(makeApp((m) => ((m.spec.replicas = 3), (m.spec.app.args = ['--old'])))), '0/3'],
  ])('reports Reconciling=True reason %s for %s', (reason, _, pods, replicaSummary) => {
    const status = statusFor({ app: app3, pods: pods(), now: T0 });
    expect(summary(status)).toEqual({ Ready: `False/${reason}`, Reconciling: `True/${reason}`, Stalled: 'False/AsExpected' });
    expect(status.replicaSummary).toBe(replicaSummary);
  });

  it('counts Pods of every template in replicas and readyReplicas, the current ones in updatedReplicas', () => {
    const old = podsOf(makeApp((m) => ((m.spec.replicas = 3), (m.spec.app.args = ['--old']))));
    const status = statusFor({ app: app3, pods: [...old, ...podsOf(app3, 'Running').slice(0, 1)], now: T0 });
    expect(status).toMatchObject({ replicas: 4, readyReplicas: 3, updatedReplicas: 1, replicaSummary: '0/3' });
  });

  describe('Stalled', () => {
    const expectStalled = (status: DistrolessAppStatus, reason: string) => {
      expect(summary(status)).toEqual({ Ready: `False/${reason}`, Reconciling: `False/${reason}`, Stalled: `True/${reason}` });
      expect(conditionOf(status, 'Ready').message).toBe(conditionOf(status, 'Stalled').message);
      return conditionOf(status, 'Stalled').message;
    };

    it('InitContainerFailed when the init container exited non-zero, naming the Pod and the exit code', () => {
      const pods = podsOf(app3, 'Pending');
      pods[1] = withInitStatus(pods[1]!, { state: { terminated: { exitCode: 3, reason: 'Error', message: 'initdb: permission denied' } } });
      const message = expectStalled(statusFor({ app: app3, pods, now: T0 }), 'InitContainerFailed');
      expect(message).toContain(pods[1]!.metadata!.name);
      expect(message).toContain('code 3');
      expect(message).toContain('initdb: permission denied');
    });

    it('InitContainerFailed when the init container is in CrashLoopBackOff after a failed run', () => {
      const pods = podsOf(app3, 'Pending');
      pods[0] = withInitStatus(pods[0]!, {
        state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container' } },
        lastState: { terminated: { exitCode: 127, reason: 'Error' } },
      });
      const message = expectStalled(statusFor({ app: app3, pods, now: T0 }), 'InitContainerFailed');
      expect(message).toContain(pods[0]!.metadata!.name);
      expect(message).toContain('127');
      expect(message).toContain('CrashLoopBackOff');
    });

    it('InitContainerFailed naming the failing step of spec.initSteps, and not for a crashing sidecar', () => {
      const pods = podsOf(app3, 'Pending');
      pods[0] = withInitStatus(pods[0]!, { name: 'init-migrate', state: { terminated: { exitCode: 2, reason: 'Error' } } });
      expect(expectStalled(statusFor({ app: app3, pods, now: T0 }), 'InitContainerFailed')).toContain('init container "init-migrate" exited with code 2');
      const sidecar = podsOf(app3, 'Pending');
      sidecar[0] = withInitStatus(sidecar[0]!, { name: 'proxy', state: { terminated: { exitCode: 2, reason: 'Error' } } });
      expect(conditionOf(statusFor({ app: app3, pods: sidecar, now: T0 }), 'Stalled').status).toBe('False');
    });

    it('not stalled by an init container that finished well or is still running', () => {
      const pods = podsOf(app3, 'Pending');
      pods[0] = withInitStatus(pods[0]!, { state: { terminated: { exitCode: 0, reason: 'Completed' } } });
      pods[1] = withInitStatus(pods[1]!, { state: { running: {} } });
      expect(conditionOf(statusFor({ app: app3, pods, now: T0 }), 'Stalled').status).toBe('False');
    });

    it.each(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName'])('ImagePullFailed when the init container waits with %s', (reason) => {
      const pods = podsOf(app3, 'Pending');
      pods[2] = withInitStatus(pods[2]!, { image: 'alpine:nope', state: { waiting: { reason, message: 'manifest unknown' } } });
      const message = expectStalled(statusFor({ app: app3, pods, now: T0 }), 'ImagePullFailed');
      expect(message).toContain(pods[2]!.metadata!.name);
      expect(message).toContain(reason);
      expect(message).toContain('alpine:nope');
    });

    it('ImagePullFailed when the distroless container cannot be pulled', () => {
      const pods = podsOf(app3, 'Pending');
      pods[0] = withAppStatus(pods[0]!, { state: { waiting: { reason: 'ImagePullBackOff' } } });
      const message = expectStalled(statusFor({ app: app3, pods, now: T0 }), 'ImagePullFailed');
      expect(message).toContain('"app"');
    });

    it('ignores the troubles of a Pod of an old template, which is on its way out', () => {
      const old = podsOf(makeApp((m) => ((m.spec.replicas = 3), (m.spec.app.args = ['--old']))), 'Pending');
      old[0] = withInitStatus(old[0]!, { state: { terminated: { exitCode: 1 } } });
      expect(conditionOf(statusFor({ app: app3, pods: old, now: T0 }), 'Stalled').status).toBe('False');
    });

    it.each([
      ['InvalidSpec', 'spec.podTemplate.labels[distroless.dev/x]: label distroless.dev/x is reserved'],
      ['PodRejected', 'pod web-abc-0: violates PodSecurity "restricted:latest"'],
    ] as const)('%s from the given problem, with its message', (reason, message) => {
      const status = statusFor({ app: app3, pods: podsOf(app3), problem: { reason, message }, now: T0 });
      expect(expectStalled(status, reason)).toBe(message);
    });

    it('invalidSpecStatus keeps the counts the app had and marks it stalled', () => {
      const previous = statusFor({ app: app3, pods: podsOf(app3), now: T0 });
      const status = invalidSpecStatus({ metadata: { generation: 5 }, status: previous }, 'spec.replicas: must be at most 1000', T1);
      expect(status).toMatchObject({ observedGeneration: 5, replicas: 3, readyReplicas: 3, replicaSummary: '3/3' });
      expect(expectStalled(status, 'InvalidSpec')).toBe('spec.replicas: must be at most 1000');
    });
  });

  describe('stability, which lets a converged app cost no status writes', () => {
    it('gives a deep-equal status when computed again later from the same world', () => {
      const first = statusFor({ app: app3, pods: podsOf(app3), now: T0 });
      const again = statusFor({ app: app3, pods: podsOf(app3), previous: first, now: T1 });
      expect(again).toEqual(first);
      expect(statusEqual(first, again)).toBe(true);
    });

    it('keeps lastTransitionTime of a condition whose status stays, even when its reason changes', () => {
      const creating = statusFor({ app: app3, pods: [], now: T0 });
      const initialising = statusFor({ app: app3, pods: podsOf(app3, 'Pending'), previous: creating, now: T1 });
      expect(conditionOf(initialising, 'Reconciling')).toMatchObject({ status: 'True', reason: 'Initialising', lastTransitionTime: '2030-05-01T10:00:00Z' });
    });

    it('moves lastTransitionTime of the conditions whose status flips, and only those', () => {
      const progressing = statusFor({ app: app3, pods: podsOf(app3, 'Pending'), now: T0 });
      const ready = statusFor({ app: app3, pods: podsOf(app3), previous: progressing, now: T1 });
      expect(conditionOf(ready, 'Ready').lastTransitionTime).toBe('2030-05-01T10:05:00Z');
      expect(conditionOf(ready, 'Reconciling').lastTransitionTime).toBe('2030-05-01T10:05:00Z');
      expect(conditionOf(ready, 'Stalled').lastTransitionTime).toBe('2030-05-01T10:00:00Z');
    });

    it('follows a new generation in observedGeneration without moving lastTransitionTime', () => {
      const first = statusFor({ app: app3, pods: podsOf(app3), now: T0 });
      const next = statusFor({ app: makeApp((m) => (m.spec.replicas = 3), 5), pods: podsOf(app3), previous: first, now: T1 });
      expect(next.observedGeneration).toBe(5);
      expect(next.conditions?.map((c) => [c.observedGeneration, c.lastTransitionTime])).toEqual([
        [5, '2030-05-01T10:00:00Z'],
        [5, '2030-05-01T10:00:00Z'],
        [5, '2030-05-01T10:00:00Z'],
      ]);
      expect(statusEqual(first, next)).toBe(false);
    });
  });
});

describe('statusEqual', () => {
  const status = statusFor({ app: app3, pods: podsOf(app3), now: T0 });

  it('ignores key order, as a status read back from the API server has its own', () => {
    const shuffled: DistrolessAppStatus = {
      ...Object.fromEntries(Object.entries(status).reverse()),
      conditions: status.conditions?.map((c) => Object.fromEntries(Object.entries(c).reverse()) as Condition),
    };
    expect(Object.keys(shuffled)[0]).not.toBe(Object.keys(status)[0]);
    expect(statusEqual(status, shuffled)).toBe(true);
  });

  it('sees any change of value', () => {
    expect(statusEqual(status, { ...status, readyReplicas: 2 })).toBe(false);
    expect(statusEqual(status, { ...status, conditions: status.conditions?.map((c) => ({ ...c, message: `${c.message}.` })) })).toBe(false);
    expect(statusEqual(status, { ...status, conditions: [...(status.conditions ?? [])].reverse() })).toBe(false);
    expect(statusEqual(undefined, status)).toBe(false);
  });

  it('treats no status as an empty one', () => {
    expect(statusEqual(undefined, {})).toBe(true);
  });
});

describe('newStall', () => {
  const ready = statusFor({ app: app3, pods: podsOf(app3), now: T0 });
  const stalled = (message: string) => invalidSpecStatus({ metadata: { generation: 4 }, status: ready }, message, T1);

  it('is the Stalled condition when an app stalls', () => {
    expect(newStall(ready, stalled('spec.app.image: bad'))).toMatchObject({ type: 'Stalled', status: 'True', reason: 'InvalidSpec', message: 'spec.app.image: bad' });
    expect(newStall(undefined, stalled('spec.app.image: bad'))).toMatchObject({ reason: 'InvalidSpec' });
  });

  it('is nothing when the status already said the same, as after an operator restart', () => {
    const before = stalled('spec.app.image: bad');
    expect(newStall(before, stalled('spec.app.image: bad'))).toBeUndefined();
  });

  it('is news again when the stall says something else', () => {
    expect(newStall(stalled('spec.app.image: bad'), stalled('spec.init.image: bad'))).toMatchObject({ message: 'spec.init.image: bad' });
  });

  it('is nothing for an app that is not stalled', () => {
    expect(newStall(stalled('x'), ready)).toBeUndefined();
    expect(newStall(undefined, ready)).toBeUndefined();
  });
});

describe('problemsMessage', () => {
  const problems = (n: number) => Array.from({ length: n }, (_, i) => ({ path: `spec.f${i}`, message: 'is wrong' }));

  it('joins problems that fit, and says how many more there were when they do not', () => {
    expect(problemsMessage(problems(2))).toBe('spec.f0: is wrong; spec.f1: is wrong');
    expect(problemsMessage(problems(5), 60)).toBe('spec.f0: is wrong; spec.f1: is wrong; … and 3 more');
    expect(problemsMessage(problems(5), 60).length).toBeLessThanOrEqual(60);
  });

  it('cuts a single problem longer than the limit', () => {
    const message = problemsMessage([{ path: 'spec', message: 'x'.repeat(100) }], 20);
    expect(message).toHaveLength(20);
    expect(message.endsWith('…')).toBe(true);
  });
});
