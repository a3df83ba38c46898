import type { V1Pod, V1Service } from '@kubernetes/client-node';
import type { DistrolessApp } from '../../../src/api/schema.js';
import { observe } from '../../../src/controller/observe.js';
import { DISRUPTION_BUDGET_KIND, SERVICE_KIND, planOwned, trimOwned, type OwnedObject } from '../../../src/controller/owned.js';
import { countOf, rolloutLimits } from '../../../src/controller/plan.js';
import { deadlineInMs, DEADLINE_EXCEEDED, selectorOf } from '../../../src/controller/status.js';
import { render } from '../../../src/render/pod.js';
import { renderDisruptionBudget, renderService } from '../../../src/render/workload.js';
import { APP_UID, makeApp, podsOf, statusFor, World } from './world.js';

// The workload features: rollout pace, minReadySeconds, the progress deadline,
// and the objects an app owns beside its Pods.

const T0 = new Date('2030-05-01T10:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

/** Pods Ready since the given time, as a kubelet reports them. */
const readySince = (pods: V1Pod[], since: Date): V1Pod[] =>
  pods.map((p) => ({ ...p, status: { ...p.status, conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: since }] } }));

const conditionOf = (app: DistrolessApp, pods: V1Pod[], now: Date, previous?: ReturnType<typeof statusFor>) => {
  const status = statusFor({ app, pods, now, previous });
  return { status, stalled: status.conditions!.find((c) => c.type === 'Stalled')!, ready: status.conditions!.find((c) => c.type === 'Ready')! };
};

describe('rolloutLimits', () => {
  it.each([
    [{ maxSurge: 1, maxUnavailable: 0 }, 3, { maxSurge: 1, maxUnavailable: 0 }],
    [{ maxSurge: '25%', maxUnavailable: '25%' }, 10, { maxSurge: 3, maxUnavailable: 2 }],
    [{ maxSurge: '25%', maxUnavailable: '25%' }, 1, { maxSurge: 1, maxUnavailable: 0 }],
    [{ maxSurge: 0, maxUnavailable: '10%' }, 5, { maxSurge: 0, maxUnavailable: 1 }],
    [{ maxSurge: 0, maxUnavailable: 7 }, 3, { maxSurge: 0, maxUnavailable: 3 }],
    [{ maxSurge: '100%', maxUnavailable: 0 }, 4, { maxSurge: 4, maxUnavailable: 0 }],
  ])('resolves %j at %i replicas to %j, as a Deployment does', (limits, replicas, expected) => {
    expect(rolloutLimits(limits, replicas)).toEqual(expected);
  });

  it('counts a percentage rounded as told, and a number as it is', () => {
    expect(countOf('33%', 10, Math.ceil)).toBe(4);
    expect(countOf('33%', 10, Math.floor)).toBe(3);
    expect(countOf(2, 10, Math.floor)).toBe(2);
  });
});

describe('RollingUpdate at a chosen pace, simulated to convergence', () => {
  const cases = [
    { replicas: 3, maxSurge: 0, maxUnavailable: 1 },
    { replicas: 4, maxSurge: 2, maxUnavailable: 0 },
    { replicas: 5, maxSurge: '40%', maxUnavailable: '20%' },
    { replicas: 8, maxSurge: '25%', maxUnavailable: '25%' },
    { replicas: 2, maxSurge: 0, maxUnavailable: '100%' },
  ];
  it.each(cases)('replicas $replicas, maxSurge $maxSurge, maxUnavailable $maxUnavailable: within both limits at every step', ({ replicas, ...pace }) => {
    const withPace = (args?: string[]) =>
      makeApp((m) => {
        m.spec.replicas = replicas;
        m.spec.rollingUpdate = pace;
        if (args) m.spec.app.args = args;
      }, args ? 2 : 1);
    const after = withPace(['--v=2']);
    const limits = rolloutLimits(after.spec.rollingUpdate, replicas);
    const world = new World(podsOf(withPace()), { readyAfter: 2, goneAfter: 2 });
    let fewest = Infinity;
    for (let i = 0; i < 100; i++) {
      world.tick();
      const actions = world.plan(after);
      const settled = world.pods.every((p) => p.metadata?.labels?.['distroless.dev/template-hash'] === render(after).templateHash) && world.available === replicas;
      if (actions.length === 0 && settled) break;
      world.apply(actions);
      fewest = Math.min(fewest, world.available);
      expect(world.available).toBeGreaterThanOrEqual(replicas - limits.maxUnavailable);
      expect(world.live.length).toBeLessThanOrEqual(replicas + limits.maxSurge);
    }
    expect(world.pods.map((p) => p.metadata?.name).sort()).toEqual(render(after).pods.map((p) => p.metadata?.name).sort());
    // The pace is used, not only respected: the rollout does go below spec.replicas when allowed to.
    if (limits.maxUnavailable > 0) expect(fewest).toBeLessThan(replicas);
  });
});

describe('minReadySeconds', () => {
  const app = makeApp((m) => ((m.spec.replicas = 2), (m.spec.minReadySeconds = 10)));

  it('counts a Pod available only once it has been Ready that long, and says when the next one will be', () => {
    const pods = readySince(podsOf(app), T0);
    const early = observe(app, pods, at(4));
    expect(early.live.map((p) => [p.ready, p.available])).toEqual([
      [true, false],
      [true, false],
    ]);
    expect(early.nextAvailableInMs).toBe(6000);
    const later = observe(app, pods, at(10));
    expect(later.live.every((p) => p.available)).toBe(true);
    expect(later.nextAvailableInMs).toBeUndefined();
  });

  it('keeps the app Reconciling with Ready Pods until they are available, and counts both in status', () => {
    const pods = readySince(podsOf(app), T0);
    const early = conditionOf(app, pods, at(4));
    expect(early.status).toMatchObject({ readyReplicas: 2, availableReplicas: 0, replicaSummary: '0/2' });
    expect(early.ready).toMatchObject({ status: 'False', message: '0 of 2 pods available' });
    const later = conditionOf(app, pods, at(11), early.status);
    expect(later.status).toMatchObject({ readyReplicas: 2, availableReplicas: 2, replicaSummary: '2/2' });
    expect(later.ready).toMatchObject({ status: 'True', message: '2 of 2 pods available' });
  });
});

describe('progressDeadlineSeconds', () => {
  const app = makeApp((m) => ((m.spec.replicas = 2), (m.spec.progressDeadlineSeconds = 10)));
  const stuck = podsOf(app, 'Pending');

  it('moves lastProgressTime only when the Pods created, updated or available change', () => {
    const first = conditionOf(app, stuck, T0).status;
    expect(first.lastProgressTime).toBe('2030-05-01T10:00:00Z');
    expect(conditionOf(app, stuck, at(5), first).status.lastProgressTime).toBe(first.lastProgressTime);
    const oneReady = [readySince(stuck.slice(0, 1), at(5))[0]!, stuck[1]!];
    expect(conditionOf(app, oneReady, at(6), first).status.lastProgressTime).toBe('2030-05-01T10:00:06Z');
  });

  it('stalls a rollout without progress for the deadline as ProgressDeadlineExceeded, and progress clears it', () => {
    const first = conditionOf(app, stuck, T0).status;
    const before = conditionOf(app, stuck, at(9), first);
    expect(before.stalled.status).toBe('False');
    expect(deadlineInMs(app, before.status, at(9))).toBe(2000);
    const past = conditionOf(app, stuck, at(10), before.status);
    expect(past.stalled).toMatchObject({ status: 'True', reason: DEADLINE_EXCEEDED, message: expect.stringContaining('no progress for 10s') });
    expect(past.ready).toMatchObject({ status: 'False', reason: DEADLINE_EXCEEDED });
    expect(deadlineInMs(app, past.status, at(10))).toBeUndefined();
    const recovered = conditionOf(app, readySince(stuck, at(20)), at(21), past.status);
    expect(recovered.stalled.status).toBe('False');
    expect(recovered.ready.status).toBe('True');
  });

  it('has no deadline when unset, or once the app is Ready', () => {
    const noDeadline = makeApp((m) => (m.spec.replicas = 2));
    const first = conditionOf(noDeadline, podsOf(noDeadline, 'Pending'), T0).status;
    expect(conditionOf(noDeadline, podsOf(noDeadline, 'Pending'), at(3600), first).stalled.status).toBe('False');
    expect(deadlineInMs(noDeadline, first, T0)).toBeUndefined();
    expect(deadlineInMs(app, conditionOf(app, podsOf(app), T0).status, T0)).toBeUndefined();
  });
});

describe('status for the scale subresource', () => {
  it('serves the Pods selector, in the form the HorizontalPodAutoscaler parses', () => {
    const app = makeApp();
    expect(statusFor({ app, pods: podsOf(app), now: T0 }).selector).toBe(selectorOf('web'));
    expect(selectorOf('web')).toBe('app.kubernetes.io/managed-by=distroless-operator,distroless.dev/app=web');
  });
});

describe('renderDisruptionBudget', () => {
  it('is absent at 1 replica or when turned off, and minAvailable 1 from 2 replicas', () => {
    expect(renderDisruptionBudget(makeApp())).toBeUndefined();
    expect(renderDisruptionBudget(makeApp((m) => ((m.spec.replicas = 3), (m.spec.disruptionBudget = { enabled: false }))))).toBeUndefined();
    const budget = renderDisruptionBudget(makeApp((m) => (m.spec.replicas = 2)))!;
    expect(budget.spec).toEqual({ selector: { matchLabels: { 'app.kubernetes.io/managed-by': 'distroless-operator', 'distroless.dev/app': 'web' } }, minAvailable: 1 });
    expect(budget.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: 'DistrolessApp', name: 'web', uid: APP_UID, controller: true })]);
  });

  it("takes the user's limit, and exists at 1 replica when asked for", () => {
    expect(renderDisruptionBudget(makeApp((m) => ((m.spec.replicas = 4), (m.spec.disruptionBudget = { maxUnavailable: '50%' }))))!.spec).toMatchObject({ maxUnavailable: '50%' });
    expect(renderDisruptionBudget(makeApp((m) => (m.spec.disruptionBudget = { enabled: true, minAvailable: 1 })))!.spec).toMatchObject({ minAvailable: 1 });
  });
});

describe('renderService', () => {
  it('is absent unless asked for', () => expect(renderService(makeApp())).toBeUndefined());

  it("takes its ports from the app's, aimed at the port by name, and selects exactly the app's Pods", () => {
    const service = renderService(makeApp((m) => (m.spec.service = {})))!;
    expect(service.spec).toEqual({
      type: 'ClusterIP',
      selector: { 'app.kubernetes.io/managed-by': 'distroless-operator', 'distroless.dev/app': 'web' },
      ports: [{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }],
    });
  });

  it('names unnamed ports after protocol and number when there are several, and keeps given ports and annotations', () => {
    const several = renderService(
      makeApp((m) => {
        m.spec.app.ports = [{ containerPort: 8080 }, { containerPort: 9090, protocol: 'UDP' }];
        m.spec.service = {};
      }),
    )!;
    expect(several.spec!.ports!.map((p) => p.name)).toEqual(['tcp-8080', 'udp-9090']);
    const given = renderService(makeApp((m) => (m.spec.service = { type: 'NodePort', ports: [{ port: 80, targetPort: 'http' }], annotations: { team: 'shop' } })))!;
    expect(given.spec!.ports).toEqual([{ port: 80, targetPort: 'http', protocol: 'TCP' }]);
    expect(given.metadata!.annotations).toEqual({ team: 'shop' });
  });
});

describe('planOwned', () => {
  const app = makeApp((m) => ((m.spec.replicas = 2), (m.spec.service = { type: 'NodePort' })));
  const asServed = (object: OwnedObject, extra: object = {}): OwnedObject => ({ ...structuredClone(object), ...extra, metadata: { ...object.metadata, uid: 'owned-uid', resourceVersion: '7' } });
  const service = SERVICE_KIND.desired(app)!;

  it('applies what is absent, as an object it does not know yet', () => {
    expect(planOwned(app, SERVICE_KIND, [])).toEqual([{ kind: 'apply', of: SERVICE_KIND, object: service, known: false }]);
  });

  it('writes nothing when the cluster holds what the spec says, whatever the server added', () => {
    const spec = (service as V1Service).spec!;
    const served = asServed(service, {
      spec: { ...spec, clusterIP: '10.0.0.7', sessionAffinity: 'None', ports: spec.ports!.map((p) => ({ ...p, nodePort: 31234 })) },
    });
    served.metadata!.labels = { ...served.metadata!.labels, 'someone.else/label': 'x' };
    expect(planOwned(app, SERVICE_KIND, [trimOwned(served)])).toEqual([]);
    expect(planOwned(app, DISRUPTION_BUDGET_KIND, [asServed(DISRUPTION_BUDGET_KIND.desired(app)!)])).toEqual([]);
  });

  it('applies again, in place, what differs', () => {
    const changed = makeApp((m) => ((m.spec.replicas = 2), (m.spec.service = { type: 'ClusterIP' })));
    expect(planOwned(changed, SERVICE_KIND, [asServed(service)])).toEqual([{ kind: 'apply', of: SERVICE_KIND, object: SERVICE_KIND.desired(changed), known: true }]);
  });

  it('deletes what the spec no longer wants, by uid, and never an object another controls', () => {
    const one = makeApp();
    const budget = asServed(DISRUPTION_BUDGET_KIND.desired(app)!);
    expect(planOwned(one, DISRUPTION_BUDGET_KIND, [budget])).toEqual([{ kind: 'delete', of: DISRUPTION_BUDGET_KIND, name: 'web', uid: 'owned-uid' }]);
    const foreign = { ...budget, metadata: { ...budget.metadata, ownerReferences: [] } };
    expect(planOwned(one, DISRUPTION_BUDGET_KIND, [foreign])).toEqual([]);
    // Wanted, and the name held by a foreign object: applied as unknown, so the writer checks the name first.
    expect(planOwned(app, DISRUPTION_BUDGET_KIND, [foreign])).toEqual([expect.objectContaining({ kind: 'apply', known: false })]);
  });
});
