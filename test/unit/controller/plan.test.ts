import type { V1Pod } from '@kubernetes/client-node';
import { LABEL_REPLICA_INDEX, render, renderPod } from '../../../src/render/pod.js';
import { podName } from '../../../src/render/names.js';
import type { Action } from '../../../src/controller/plan.js';
import {
  APP_UID,
  createdNames,
  deletedNames,
  existing,
  foreignPod,
  makeApp,
  planFor,
  podsOf,
  statusFor,
  terminating,
  withState,
} from './world.js';

const app3 = makeApp((m) => (m.spec.replicas = 3));
const { templateHash: hash3 } = render(app3);
const nameAt = (index: number, hash = hash3) => podName('web', hash, index);

describe('planActions', () => {
  it('creates every desired Pod of an app that has none, in index order', () => {
    const actions = planFor({ app: app3, pods: [] });
    expect(actions.map((a) => a.kind)).toEqual(['create', 'create', 'create']);
    expect(actions.map((a) => (a.kind === 'create' ? a.pod.metadata?.name : ''))).toEqual([nameAt(0), nameAt(1), nameAt(2)]);
    for (const action of actions) {
      if (action.kind !== 'create') continue;
      expect(action.pod).toEqual(render(app3).pods[Number(action.pod.metadata?.labels?.[LABEL_REPLICA_INDEX])]);
      expect(action.pod.metadata?.ownerReferences).toEqual([expect.objectContaining({ uid: APP_UID, controller: true })]);
    }
  });

  it('plans nothing at all for a converged app', () => {
    expect(planFor({ app: app3, pods: podsOf(app3) })).toEqual([]);
  });

  it('plans nothing for an app whose Pods exist but are still starting: waiting costs no writes', () => {
    expect(planFor({ app: app3, pods: podsOf(app3, 'Pending') })).toEqual([]);
    expect(planFor({ app: app3, pods: podsOf(app3, 'Running') })).toEqual([]);
  });

  it('plans nothing for an app scaled to zero with no Pods', () => {
    expect(planFor({ app: makeApp((m) => (m.spec.replicas = 0)), pods: [] })).toEqual([]);
  });

  it('gives the same actions whatever order the cache lists the Pods in', () => {
    const app5 = makeApp((m) => (m.spec.replicas = 1));
    const pods = podsOf(makeApp((m) => (m.spec.replicas = 5)));
    expect(planFor({ app: app5, pods: [...pods].reverse() })).toEqual(planFor({ app: app5, pods }));
  });

  it('scales up by creating only the missing indexes', () => {
    const app5 = makeApp((m) => (m.spec.replicas = 5));
    const actions = planFor({ app: app5, pods: podsOf(app3) });
    expect(deletedNames(actions)).toEqual([]);
    expect(createdNames(actions)).toEqual([nameAt(3), nameAt(4)]);
  });

  it('scales down by deleting the highest indexes, with their uids as preconditions', () => {
    const pods = podsOf(app3);
    const app1 = makeApp((m) => (m.spec.replicas = 1));
    const actions = planFor({ app: app1, pods });
    expect(actions).toEqual([
      { kind: 'delete', name: nameAt(1), uid: pods[1]!.metadata!.uid, reason: 'ScaleDown' },
      { kind: 'delete', name: nameAt(2), uid: pods[2]!.metadata!.uid, reason: 'ScaleDown' },
    ]);
  });

  it('scales to zero by deleting every Pod', () => {
    const actions = planFor({ app: makeApp((m) => (m.spec.replicas = 0)), pods: podsOf(app3) });
    expect(deletedNames(actions)).toEqual([nameAt(0), nameAt(1), nameAt(2)]);
    expect(createdNames(actions)).toEqual([]);
  });

  describe('foreign Pods, which merely share the labels, are never touched', () => {
    const foreigners: Array<[string, V1Pod]> = [
      ['no ownerReference', foreignPod(app3, 'web-by-hand')],
      ['an ownerReference to another uid', foreignPod(app3, 'web-other-owner', { uid: 'someone-else', controller: true })],
      ['a non-controller ownerReference to this app', foreignPod(app3, 'web-not-controller', { uid: APP_UID, controller: false })],
    ];
    const touches = (pod: V1Pod, actions: Action[]) =>
      actions.some((a) => (a.kind === 'delete' ? a.name : a.pod.metadata?.name) === pod.metadata?.name);

    it.each(foreigners)('with %s, on a converged app: still zero actions', (_, pod) => {
      expect(planFor({ app: app3, pods: [...podsOf(app3), pod] })).toEqual([]);
    });

    it.each(foreigners)('with %s, through scale down, scale to zero and a rollout', (_, pod) => {
      const scenarios = [
        { app: makeApp((m) => (m.spec.replicas = 1)), pods: [...podsOf(app3), pod] },
        { app: makeApp((m) => (m.spec.replicas = 0)), pods: [pod, ...podsOf(app3)] },
        { app: makeApp((m) => ((m.spec.replicas = 3), (m.spec.app.args = ['--v=2']))), pods: [...podsOf(app3), pod] },
        { app: makeApp((m) => ((m.spec.replicas = 3), (m.spec.updateStrategy = 'Recreate'), (m.spec.app.args = ['--v=2']))), pods: [...podsOf(app3), pod] },
      ];
      for (const scenario of scenarios) {
        const actions = planFor(scenario);
        expect(actions.length).toBeGreaterThan(0);
        expect(touches(pod, actions)).toBe(false);
      }
    });

    it('a foreign Pod holding a desired name is not deleted, and no doomed create of that name is planned', () => {
      const squatter = existing({ ...renderPod(app3, hash3, 1), metadata: { ...renderPod(app3, hash3, 1).metadata, ownerReferences: [] } });
      const actions = planFor({ app: app3, pods: [squatter] });
      expect(deletedNames(actions)).toEqual([]);
      expect(createdNames(actions)).toEqual([nameAt(0), nameAt(2)]);
    });
  });

  it('deletes a Failed Pod of the current template, and creates its replacement only once it is gone', () => {
    const pods = podsOf(app3);
    pods[1] = withState(pods[1]!, 'Failed');
    expect(planFor({ app: app3, pods })).toEqual([{ kind: 'delete', name: nameAt(1), uid: pods[1]!.metadata!.uid, reason: 'Finished' }]);
    // The delete is under way: nothing to do, and no second delete.
    expect(planFor({ app: app3, pods: pods.map((p, i) => (i === 1 ? terminating(p) : p)) })).toEqual([]);
    // Gone: the same name is created afresh.
    expect(createdNames(planFor({ app: app3, pods: pods.filter((_, i) => i !== 1) }))).toEqual([nameAt(1)]);
  });

  it('deletes a Succeeded Pod likewise', () => {
    const pods = podsOf(app3);
    pods[0] = withState(pods[0]!, 'Succeeded');
    expect(planFor({ app: app3, pods })).toEqual([{ kind: 'delete', name: nameAt(0), uid: pods[0]!.metadata!.uid, reason: 'Finished' }]);
  });

  it('never creates a Pod whose name a terminating Pod still holds', () => {
    const pods = podsOf(app3).map((p, i) => (i === 2 ? terminating(p) : p));
    expect(planFor({ app: app3, pods })).toEqual([]);
  });

  it('does not delete a terminating surplus Pod twice', () => {
    const pods = podsOf(app3).map((p, i) => (i === 2 ? terminating(p) : p));
    expect(planFor({ app: makeApp((m) => (m.spec.replicas = 2)), pods })).toEqual([]);
  });

  describe('owned junk', () => {
    const withLabel = (pod: V1Pod, value: string | undefined): V1Pod => {
      const labels = { ...pod.metadata?.labels };
      if (value === undefined) delete labels[LABEL_REPLICA_INDEX];
      else labels[LABEL_REPLICA_INDEX] = value;
      return { ...pod, metadata: { ...pod.metadata, labels } };
    };

    it.each([
      ['a missing replica index', undefined],
      ['a replica index that is not a number', 'one'],
      ['a negative replica index', '-1'],
      ['a replica index with a leading zero', '01'],
      ['a replica index that disagrees with the name', '2'],
    ])('deletes an owned Pod with %s', (_, value) => {
      const pods = podsOf(app3);
      pods[1] = withLabel(pods[1]!, value);
      const actions = planFor({ app: app3, pods });
      expect(actions).toEqual([{ kind: 'delete', name: nameAt(1), uid: pods[1]!.metadata!.uid, reason: 'Malformed' }]);
    });

    it('deletes an owned Pod whose name is not the one its labels give', () => {
      const stray = existing({ ...renderPod(app3, hash3, 1), metadata: { ...renderPod(app3, hash3, 1).metadata, name: 'web-renamed' } });
      const actions = planFor({ app: app3, pods: [...podsOf(app3), stray] });
      expect(actions).toEqual([{ kind: 'delete', name: 'web-renamed', uid: stray.metadata!.uid, reason: 'Malformed' }]);
    });
  });

  describe('RollingUpdate', () => {
    const next = makeApp((m) => ((m.spec.replicas = 3), (m.spec.app.args = ['--v=2'])));
    const nextHash = render(next).templateHash;

    it('first surges by one new Pod and deletes nothing while the old Pods are all needed', () => {
      const actions = planFor({ app: next, pods: podsOf(app3) });
      expect(deletedNames(actions)).toEqual([]);
      expect(createdNames(actions)).toEqual([nameAt(0, nextHash)]);
    });

    it('waits, with no writes, while the surge Pod is not Ready', () => {
      const pods = [...podsOf(app3), existing(renderPod(next, nextHash, 0), 'Running')];
      expect(planFor({ app: next, pods })).toEqual([]);
    });

    it('once a new Pod is Ready, deletes one old Ready Pod (the highest index) and surges the next', () => {
      const pods = [...podsOf(app3), existing(renderPod(next, nextHash, 0), 'Ready')];
      const actions = planFor({ app: next, pods });
      expect(actions).toEqual([
        { kind: 'delete', name: nameAt(2), uid: pods[2]!.metadata!.uid, reason: 'RollingUpdate' },
        { kind: 'create', pod: renderPod(next, nextHash, 1) },
      ]);
    });

    it('deletes old Pods that are not Ready at once: they serve nothing', () => {
      const pods = podsOf(app3, 'Running');
      const actions = planFor({ app: next, pods });
      expect(deletedNames(actions)).toEqual(names3(hash3));
      expect(createdNames(actions)).toEqual(names3(nextHash));
    });

    it('keeps surging past old Pods that are terminating', () => {
      const pods = podsOf(app3).map((p) => terminating(p));
      expect(createdNames(planFor({ app: next, pods }))).toEqual(names3(nextHash));
    });

    it('deletes an old Pod that Failed at once', () => {
      const pods = podsOf(app3);
      pods[0] = withState(pods[0]!, 'Failed');
      const actions = planFor({ app: next, pods });
      expect(actions).toContainEqual({ kind: 'delete', name: nameAt(0), uid: pods[0]!.metadata!.uid, reason: 'Finished' });
    });

    it('finishes with nothing to do once every new Pod is Ready and the old are gone', () => {
      expect(planFor({ app: next, pods: podsOf(next) })).toEqual([]);
    });
  });

  describe('Recreate', () => {
    const next = makeApp((m) => ((m.spec.replicas = 3), (m.spec.updateStrategy = 'Recreate'), (m.spec.app.args = ['--v=2'])));
    const nextHash = render(next).templateHash;

    it('deletes every old Pod first and creates nothing yet', () => {
      const actions = planFor({ app: next, pods: podsOf(app3) });
      expect(createdNames(actions)).toEqual([]);
      expect(deletedNames(actions)).toEqual(names3(hash3));
      expect(actions.every((a) => a.kind === 'delete' && a.reason === 'Recreate')).toBe(true);
    });

    it('creates nothing while an old Pod is still terminating', () => {
      const pods = podsOf(app3).map((p, i) => (i === 0 ? terminating(p) : p)).slice(0, 1);
      expect(planFor({ app: next, pods })).toEqual([]);
    });

    it('creates every new Pod once the old are gone', () => {
      expect(createdNames(planFor({ app: next, pods: [] }))).toEqual(names3(nextHash));
    });

    it('is not held up by a foreign Pod of an old template', () => {
      const foreign = foreignPod(app3, 'web-by-hand');
      expect(createdNames(planFor({ app: next, pods: [foreign] }))).toEqual(names3(nextHash));
    });
  });
});

function names3(hash: string): string[] {
  return [0, 1, 2].map((i) => podName('web', hash, i)).sort();
}

describe('the status of a round that created Pods', () => {
  const T0 = new Date('2030-01-01T00:00:00Z');
  const reasonOf = (pods: V1Pod[], created: number) => statusFor({ app: app3, pods, created, now: T0 }).conditions?.find((c) => c.type === 'Reconciling')?.reason;

  it('counts the Pods just created at once: Initialising, not Creating', () => {
    expect(reasonOf([], 0)).toBe('Creating');
    expect(reasonOf([], 3)).toBe('Initialising');
    expect(statusFor({ app: app3, pods: [], created: 3, now: T0 })).toMatchObject({ replicas: 3, readyReplicas: 0, updatedReplicas: 3, replicaSummary: '0/3' });
  });

  it('adds them to the cached Pods: one created beside two Ready', () => {
    const [first, second] = podsOf(app3, 'Ready');
    expect(statusFor({ app: app3, pods: [first!, second!], created: 1, now: T0 })).toMatchObject({ replicas: 3, readyReplicas: 2, replicaSummary: '2/3' });
  });
});
