import type { V1Pod } from '@kubernetes/client-node';
import type { DistrolessApp } from '../../../src/api/schema.js';
import { isOwnedBy } from '../../../src/controller/pods.js';
import { render, renderPod } from '../../../src/render/pod.js';
import { existing, foreignPod, hashOf, makeApp, podsOf, terminating, World, type PodState } from './world.js';
import { random } from '../../fixtures/random.js';

// Multi-step scenarios: the plan applied again and again to a simulated cluster,
// as the level-triggered reconcile loop would, until it has nothing left to do.

const MAX_STEPS = 200;

/** The world holds exactly the desired Pods, all Ready and none terminating. */
function settled(world: World, app: DistrolessApp): boolean {
  const desired = render(app).pods.map((p) => p.metadata?.name).sort();
  const present = world.pods.filter((p) => isOwnedBy(p, app)).map((p) => p.metadata?.name).sort();
  return world.available === desired.length && JSON.stringify(present) === JSON.stringify(desired);
}

/**
 * Runs reconcile steps until the world is settled; checks `invariant` after every
 * step's writes. A step may plan nothing while it waits for Pods to become Ready
 * or to go.
 */
function converge(world: World, app: DistrolessApp, invariant: (world: World) => void = () => {}): number {
  for (let i = 0; i < MAX_STEPS; i++) {
    world.tick();
    const actions = world.plan(app);
    if (actions.length === 0 && settled(world, app)) return world.step;
    world.apply(actions);
    invariant(world);
  }
  throw new Error(`no convergence within ${MAX_STEPS} steps: ${world.pods.map((p) => p.metadata?.name).join(', ')}`);
}

function expectConverged(world: World, app: DistrolessApp): void {
  const { templateHash, pods } = render(app);
  const owned = world.pods.filter((p) => isOwnedBy(p, app));
  expect(owned.map((p) => p.metadata?.name).sort()).toEqual(pods.map((p) => p.metadata?.name).sort());
  expect(owned.every((p) => hashOf(p) === templateHash)).toBe(true);
  // And a converged app stays quiet.
  world.tick();
  expect(world.plan(app)).toEqual([]);
}

const timings = [
  { readyAfter: 1, goneAfter: 1 },
  { readyAfter: 3, goneAfter: 1 },
  { readyAfter: 1, goneAfter: 4 },
  { readyAfter: 2, goneAfter: 3 },
];
const cases = [1, 2, 3, 5, 8].flatMap((replicas) => timings.map((timing) => ({ replicas, ...timing })));

describe('RollingUpdate, simulated to convergence', () => {
  it.each(cases)('replicas $replicas, Ready after $readyAfter steps, gone after $goneAfter: never below $replicas Ready, at most one surge Pod', ({ replicas, ...timing }) => {
    const before = makeApp((m) => (m.spec.replicas = replicas));
    const after = makeApp((m) => ((m.spec.replicas = replicas), (m.spec.app.image = 'gcr.io/distroless/static-debian12:latest')), 2);
    const world = new World(podsOf(before), timing);
    const steps = converge(world, after, (w) => {
      expect(w.available).toBeGreaterThanOrEqual(replicas);
      expect(w.live.length).toBeLessThanOrEqual(replicas + 1);
    });
    expectConverged(world, after);
    // One Pod at a time: each needs its create, its readiness and its old one's delete.
    expect(steps).toBeLessThanOrEqual(replicas * (timing.readyAfter + 1) + timing.goneAfter + 2);
    expect(world.writes).toBe(2 * replicas);
  });

  it('rolls out while scaling up, never losing a Ready Pod', () => {
    const world = new World(podsOf(makeApp((m) => (m.spec.replicas = 2))));
    const after = makeApp((m) => ((m.spec.replicas = 4), (m.spec.app.args = ['--v=2'])), 2);
    converge(world, after, (w) => expect(w.available).toBeGreaterThanOrEqual(2));
    expectConverged(world, after);
  });

  it('rolls out while scaling down, never below the new desired count', () => {
    const world = new World(podsOf(makeApp((m) => (m.spec.replicas = 4))));
    const after = makeApp((m) => ((m.spec.replicas = 2), (m.spec.app.args = ['--v=2'])), 2);
    converge(world, after, (w) => expect(w.available).toBeGreaterThanOrEqual(2));
    expectConverged(world, after);
  });

  it('survives a second spec change in the middle of a rollout', () => {
    const world = new World(podsOf(makeApp((m) => (m.spec.replicas = 3))), { readyAfter: 2, goneAfter: 2 });
    const middle = makeApp((m) => ((m.spec.replicas = 3), (m.spec.app.args = ['--v=2'])), 2);
    for (let i = 0; i < 5; i++) {
      world.tick();
      world.apply(world.plan(middle));
    }
    expect(new Set(world.live.map(hashOf)).size).toBe(2);
    const last = makeApp((m) => ((m.spec.replicas = 3), (m.spec.app.args = ['--v=3'])), 3);
    converge(world, last, (w) => expect(w.available).toBeGreaterThanOrEqual(3));
    expectConverged(world, last);
  });

  it('replaces old Pods that never became Ready without waiting for them', () => {
    const before = makeApp((m) => (m.spec.replicas = 3));
    const world = new World(podsOf(before, 'Running'), { readyAfter: 2, goneAfter: 1 });
    const after = makeApp((m) => ((m.spec.replicas = 3), (m.spec.app.args = ['--v=2'])), 2);
    world.tick();
    world.apply(world.plan(after));
    expect(world.live.every((p) => hashOf(p) === render(after).templateHash)).toBe(true);
    converge(world, after);
    expectConverged(world, after);
  });

  it('holds at one unready new Pod when the new template never becomes Ready, keeping every old Pod', () => {
    const before = makeApp((m) => (m.spec.replicas = 3));
    const world = new World(podsOf(before), { readyAfter: Infinity, goneAfter: 1 });
    const broken = makeApp((m) => ((m.spec.replicas = 3), (m.spec.init.image = 'alpine:does-not-exist')), 2);
    for (let i = 0; i < 10; i++) {
      world.tick();
      world.apply(world.plan(broken));
    }
    expect(world.available).toBe(3);
    expect(world.live.length).toBe(4);
    expect(world.writes).toBe(1);
  });
});

describe('Recreate, simulated to convergence', () => {
  it.each(cases)('replicas $replicas, Ready after $readyAfter steps, gone after $goneAfter: no new Pod while any old one exists', ({ replicas, ...timing }) => {
    const before = makeApp((m) => ((m.spec.replicas = replicas), (m.spec.updateStrategy = 'Recreate')));
    const after = makeApp((m) => ((m.spec.replicas = replicas), (m.spec.updateStrategy = 'Recreate'), (m.spec.app.args = ['--v=2'])), 2);
    const oldHash = render(before).templateHash;
    const newHash = render(after).templateHash;
    const world = new World(podsOf(before), timing);
    converge(world, after, (w) => {
      const hashes = new Set(w.pods.map(hashOf));
      expect(hashes.has(oldHash) && hashes.has(newHash)).toBe(false);
    });
    expectConverged(world, after);
    expect(world.writes).toBe(2 * replicas);
  });
});

describe('healing, simulated', () => {
  it('replaces a Failed Pod under the same name and settles', () => {
    const app = makeApp((m) => (m.spec.replicas = 3));
    const pods = podsOf(app);
    const failedName = pods[1]!.metadata!.name;
    pods[1] = { ...pods[1]!, status: { phase: 'Failed' } };
    const world = new World(pods, { readyAfter: 1, goneAfter: 3 });
    converge(world, app);
    expectConverged(world, app);
    expect(world.pods.find((p) => p.metadata?.name === failedName)?.metadata?.uid).not.toBe(pods[1]!.metadata?.uid);
    expect(world.writes).toBe(2);
  });
});

describe('any mess of Pods, simulated', () => {
  const STATES: PodState[] = ['Pending', 'Running', 'Ready', 'Ready', 'Ready', 'Failed', 'Succeeded'];
  const seeds = Array.from({ length: 150 }, (_, i) => i + 1);

  it.each(seeds)('seed %i: converges without ever touching a foreign Pod or writing in vain', (seed) => {
    const rand = random(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
    const strategy = pick(['RollingUpdate', 'Recreate'] as const);
    const replicas = pick([0, 1, 2, 3, 5]);
    const templates = ['--a', '--b', '--c'].map((arg) => makeApp((m) => ((m.spec.replicas = 7), (m.spec.app.args = [arg]))));
    const app = makeApp((m) => ((m.spec.replicas = replicas), (m.spec.updateStrategy = strategy), (m.spec.app.args = [pick(['--a', '--b', '--c'])])), 2);

    const pods: V1Pod[] = [];
    for (const template of templates) {
      const hash = render(template).templateHash;
      for (let index = 0; index < 7; index++) {
        if (rand() < 0.6) continue;
        const pod = existing(renderPod(template, hash, index), pick(STATES));
        pods.push(rand() < 0.15 ? terminating(pod) : pod);
      }
    }
    const foreigners = [foreignPod(app, 'web-by-hand'), foreignPod(app, 'web-adopted-elsewhere', { uid: 'another-app', controller: true })];
    pods.push(...foreigners.filter(() => rand() < 0.5));
    const timing = { readyAfter: pick([1, 2, 3]), goneAfter: pick([1, 2, 4]) };
    const world = new World(pods, timing);
    const foreignNames = new Set(foreigners.map((p) => p.metadata?.name));

    // World.apply throws on a create of an existing name, a stale uid or a delete of a terminating Pod.
    for (let i = 0; i < MAX_STEPS; i++) {
      world.tick();
      const actions = world.plan(app);
      if (actions.length === 0 && settled(world, app)) break;
      expect(actions.filter((a) => foreignNames.has(a.kind === 'delete' ? a.name : a.pod.metadata?.name))).toEqual([]);
      world.apply(actions);
    }
    expectConverged(world, app);
    for (const foreign of foreigners) {
      if (pods.includes(foreign)) expect(world.pods).toContainEqual(foreign);
    }
  });
});
