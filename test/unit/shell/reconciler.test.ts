import type { V1Pod } from '@kubernetes/client-node';
import { MAX_CONDITION_MESSAGE, statusSchema, type Condition, type DistrolessAppStatus } from '../../../src/api/schema.js';
import { createReconciler, type StoredApp } from '../../../src/controller/reconciler.js';
import type { Lookup } from '../../../src/image/inspector.js';
import { ImageError, type ImageErrorCode, type ImageVerdict } from '../../../src/image/types.js';
import { EventRecorder } from '../../../src/kube/events.js';
import type { OwnedObject } from '../../../src/controller/owned.js';
import { render } from '../../../src/render/pod.js';
import { renderDisruptionBudget } from '../../../src/render/workload.js';
import { validApp } from '../../fixtures/invalid-apps.js';
import { APP_UID, existing, makeApp } from '../controller/world.js';
import { FakeRest, capturingLogger, serverError, type Answer } from './fake-rest.js';

// The reconciler's error policy, run against a scripted API server: which write
// failures stall the app, which are ignored, and which are retried with a status
// that says so.

function storedApp(replicas: number): StoredApp {
  const manifest = validApp('web');
  manifest.spec.replicas = replicas;
  return { ...manifest, metadata: { name: 'web', namespace: 'shop', uid: APP_UID, generation: 1 } } as StoredApp;
}

async function reconcileOnce(
  app: StoredApp,
  pods: V1Pod[],
  answer: Answer,
  lookupImage: (reference: string) => Lookup = () => ({ state: 'pending' }),
  owned: (OwnedObject & { kind?: string })[] = [],
): Promise<{ rest: FakeRest; result: Promise<unknown>; lines: Record<string, unknown>[] }> {
  const rest = new FakeRest(answer);
  const { log, lines } = capturingLogger();
  const reconcile = createReconciler({
    getApp: () => app,
    podsOf: () => pods,
    ownedOf: (kind) => owned.filter((o) => o.kind === kind.kind),
    rest,
    events: new EventRecorder(rest, 'distroless-operator', 'test', log),
    lookupImage,
    now: () => new Date('2030-01-01T00:00:00Z'),
  });
  const result = reconcile('shop/web', { log, reconcileId: 'r1' });
  await result.catch(() => undefined);
  return { rest, result, lines };
}

const statusWritten = (rest: FakeRest): DistrolessAppStatus => {
  const patches = rest.sentTo('PATCH', 'distrolessapps/status');
  expect(patches).toHaveLength(1);
  return (patches[0]!.options.body as { status: DistrolessAppStatus }).status;
};
const conditionOf = (status: DistrolessAppStatus, type: string): Condition => status.conditions!.find((c) => c.type === type)!;
const eventReasons = (rest: FakeRest): string[] => rest.sentTo('POST', 'events').map((r) => (r.options.body as { reason: string }).reason);
/** Answers every request with an empty body, except those `fail` picks. */
const failing = (fail: Answer): Answer => (request) => fail(request) ?? {};

describe('reconcile: the error policy of writes', () => {
  it.each([
    [403, 'Forbidden', 'pods "web-x-0" is forbidden: violates PodSecurity "restricted:latest"'],
    [422, 'Invalid', 'Pod "web-x-0" is invalid: spec.containers[0].image: Required value'],
  ])('a Pod create refused with %i stalls the app with the server message, announces it, and is not retried', async (code, reason, message) => {
    const { rest, result } = await reconcileOnce(storedApp(2), [], failing((r) => {
      if (r.method === 'POST' && r.target.type.plural === 'pods') throw serverError(code, reason, message);
    }));
    await expect(result).resolves.toEqual({ requeueAfterMs: 60_000 });
    // The round stops at the first refusal: the second Pod is not tried.
    expect(rest.sentTo('POST', 'pods')).toHaveLength(1);
    const stalled = conditionOf(statusWritten(rest), 'Stalled');
    expect(stalled).toMatchObject({ status: 'True', reason: 'PodRejected' });
    expect(stalled.message).toContain(message);
    expect(eventReasons(rest)).toEqual(['PodRejected']);
  });

  it.each([
    [404, 'NotFound'],
    [409, 'Conflict'],
  ])('a Pod delete answered %i (gone already, or replaced) is done: no retry, no stall', async (code, reason) => {
    const app = storedApp(0);
    const pods = render(makeApp((m) => (m.spec.replicas = 2))).pods.map((p) => existing(p));
    const { rest, result } = await reconcileOnce(app, pods, failing((r) => {
      if (r.method === 'DELETE') throw serverError(code, reason);
    }));
    await expect(result).resolves.toEqual({});
    expect(rest.sentTo('DELETE', 'pods')).toHaveLength(2);
    const status = statusWritten(rest);
    expect(conditionOf(status, 'Stalled').status).toBe('False');
    expect(conditionOf(status, 'Reconciling')).toMatchObject({ status: 'True', reason: 'ScalingDown' });
  });

  it('a create answered AlreadyExists is done when the Pod there is the app\'s: an earlier create landed before the cache saw it', async () => {
    const ours = render(makeApp()).pods[0]!;
    const { rest, result } = await reconcileOnce(storedApp(1), [], failing((r) => {
      if (r.method === 'POST' && r.target.type.plural === 'pods') throw serverError(409, 'AlreadyExists');
      if (r.method === 'GET' && r.target.type.plural === 'pods') return ours;
    }));
    await expect(result).resolves.toEqual({});
    expect(conditionOf(statusWritten(rest), 'Stalled').status).toBe('False');
  });

  it.each([
    ['a Pod made by hand', undefined, 'it has no controller'],
    ['another app\'s Pod', { apiVersion: 'distroless.dev/v1alpha1', kind: 'DistrolessApp', name: 'other', uid: 'uid-of-other', controller: true }, 'it is controlled by DistrolessApp other'],
  ])('a name held by %s stalls the app with PodNameTaken naming the Pod and its holder, with a Warning Event', async (_, owner, holder) => {
    const theirs = { metadata: { name: 'x', ...(owner ? { ownerReferences: [owner] } : {}) } };
    const { rest, result } = await reconcileOnce(storedApp(1), [], failing((r) => {
      if (r.method === 'POST' && r.target.type.plural === 'pods') throw serverError(409, 'AlreadyExists');
      if (r.method === 'GET' && r.target.type.plural === 'pods') return theirs;
    }));
    await expect(result).resolves.toEqual({ requeueAfterMs: 60_000 });
    const stalled = conditionOf(statusWritten(rest), 'Stalled');
    expect(stalled).toMatchObject({ status: 'True', reason: 'PodNameTaken' });
    expect(stalled.message).toMatch(new RegExp(`^pod web-[0-9a-f]{10}-0 exists and is not this app's \\(${holder}`));
    expect(eventReasons(rest)).toEqual(['PodNameTaken']);
  });

  it('Recreate removes no old Pod while a name its replacements need is held by another', async () => {
    const app = storedApp(2);
    (app.spec as { updateStrategy: string }).updateStrategy = 'Recreate';
    const old = render(makeApp((m) => (m.spec.app.image = 'registry.example/app:0'))).pods.map((p) => existing(p));
    const { rest } = await reconcileOnce(app, old, failing((r) => {
      if (r.method === 'GET' && r.target.type.plural === 'pods') return { metadata: { name: r.target.name } };
    }));
    expect(rest.sentTo('DELETE', 'pods')).toHaveLength(0);
    expect(conditionOf(statusWritten(rest), 'Stalled')).toMatchObject({ status: 'True', reason: 'PodNameTaken' });
  });

  it('Recreate removes the old Pods when the new names are free', async () => {
    const app = storedApp(2);
    (app.spec as { updateStrategy: string }).updateStrategy = 'Recreate';
    const old = render(
      makeApp((m) => {
        m.spec.app.image = 'registry.example/app:0';
        m.spec.replicas = 2;
      }),
    ).pods.map((p) => existing(p));
    const { rest } = await reconcileOnce(app, old, failing((r) => {
      if (r.method === 'GET' && r.target.type.plural === 'pods') throw serverError(404, 'NotFound');
    }));
    expect(rest.sentTo('GET', 'pods')).toHaveLength(2);
    expect(rest.sentTo('DELETE', 'pods')).toHaveLength(2);
  });

  it.each([
    [500, 'InternalError'],
    [503, 'ServiceUnavailable'],
    [429, 'TooManyRequests'],
    [0, 'ConnectionFailed'],
  ])('a write failing with %i %s is retried, and the status says so first', async (code, reason) => {
    const error = serverError(code, reason, `the server said ${reason}`);
    const { rest, result, lines } = await reconcileOnce(storedApp(1), [], failing((r) => {
      if (r.method === 'POST' && r.target.type.plural === 'pods') throw error;
    }));
    await expect(result).rejects.toBe(error);
    const status = statusWritten(rest);
    expect(conditionOf(status, 'Reconciling')).toMatchObject({ status: 'True', reason: 'ProgressingWithRetry' });
    expect(conditionOf(status, 'Reconciling').message).toContain(`the server said ${reason}`);
    expect(conditionOf(status, 'Ready').status).toBe('False');
    expect(conditionOf(status, 'Stalled').status).toBe('False');
    expect(eventReasons(rest)).toEqual([]);
    expect(lines.some((l) => l.msg === 'created pod')).toBe(false);
  });

  it('a status patch answered NotFound (the app was deleted meanwhile) ends the round quietly', async () => {
    const { result } = await reconcileOnce(storedApp(1), [], failing((r) => {
      if (r.method === 'PATCH') throw serverError(404, 'NotFound');
    }));
    await expect(result).resolves.toEqual({});
  });

  it('a status patch failing with 500 is retried', async () => {
    const error = serverError(500, 'InternalError');
    const { result } = await reconcileOnce(storedApp(1), [], failing((r) => {
      if (r.method === 'PATCH') throw error;
    }));
    await expect(result).rejects.toBe(error);
  });

  it('an invalid spec with hundreds of problems still gets a status the API server accepts, naming how many were left out', async () => {
    const app = storedApp(1) as StoredApp & { spec: { podTemplate?: { labels: Record<string, string> } } };
    app.spec.podTemplate = { labels: Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`distroless.dev/k${i}-${'x'.repeat(40)}`, 'v'])) };
    const { rest, result } = await reconcileOnce(app, [], () => ({}));
    await expect(result).resolves.toEqual({ requeueAfterMs: 60_000 });
    const status = statusWritten(rest);
    expect(statusSchema.safeParse(status).success).toBe(true);
    const stalled = conditionOf(status, 'Stalled');
    expect(stalled).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
    expect(stalled.message.length).toBeLessThanOrEqual(MAX_CONDITION_MESSAGE);
    expect(stalled.message).toMatch(/^spec\.podTemplate\.labels\[distroless\.dev\/k0-x+\]: label .* is reserved/);
    const [, more] = /; … and (\d+) more$/.exec(stalled.message) ?? [];
    const shown = stalled.message.split('; ').length - 1;
    expect(shown + Number(more)).toBe(600);
    expect(eventReasons(rest)).toEqual(['InvalidSpec']);
  });

  it('a converged app costs no write at all', async () => {
    const app = storedApp(2);
    const pods = render(makeApp((m) => (m.spec.replicas = 2))).pods.map((p) => existing(p));
    // Two replicas: the app has its PodDisruptionBudget too.
    const budget = renderDisruptionBudget(makeApp((m) => (m.spec.replicas = 2))) as OwnedObject;
    const first = await reconcileOnce(app, pods, () => ({}), undefined, [budget]);
    const converged = { ...app, status: statusWritten(first.rest) };
    const { rest, result } = await reconcileOnce(converged, pods, () => ({}), undefined, [budget]);
    await expect(result).resolves.toEqual({});
    expect(rest.sent).toEqual([]);
  });
});

describe('reconcile: the image policy', () => {
  const verdict = (distroless: boolean): ImageVerdict => ({
    digest: 'sha256:0123',
    shells: distroless ? [] : ['/bin/sh', '/bin/bash'],
    packageManagers: distroless ? [] : ['apt', 'dpkg'],
    packageMetadata: [{ format: 'dpkg', path: 'var/lib/dpkg/status', packages: 90 }],
    user: { configured: '65532', uid: 65532, nonRoot: true },
    scannerVisibility: 'Visible',
    unaccounted: [],
    distroless,
  });
  const inspected = (distroless: boolean) => (): Lookup => ({ state: 'inspected', verdict: verdict(distroless) });
  const failed = (code: ImageErrorCode) => (): Lookup => ({ state: 'failed', error: new ImageError(code, 'registry.example/app:1', 'the registry answered 503') });
  const withPolicy = (policy: string): StoredApp => {
    const app = storedApp(1);
    (app.spec as { imagePolicy: string }).imagePolicy = policy;
    return app;
  };

  it('Enforce, main image with a shell: no Pod, Stalled naming what was found, one Warning Event', async () => {
    const { rest, result } = await reconcileOnce(withPolicy('Enforce'), [], () => ({}), inspected(false));
    await expect(result).resolves.toEqual({ requeueAfterMs: 60_000 });
    expect(rest.sentTo('POST', 'pods')).toHaveLength(0);
    const status = statusWritten(rest);
    expect(conditionOf(status, 'Stalled')).toMatchObject({ status: 'True', reason: 'ImageNotDistroless' });
    expect(conditionOf(status, 'Stalled').message).toContain('shell /bin/sh, /bin/bash; package manager apt, dpkg');
    expect(conditionOf(status, 'Distroless')).toMatchObject({ status: 'False', reason: 'ShellInImage' });
    expect(status.images?.[0]).toMatchObject({ container: 'app', digest: 'sha256:0123', distroless: false, shells: ['/bin/sh', '/bin/bash'] });
    expect(eventReasons(rest)).toEqual(['ImageNotDistroless']);
  });

  it('Enforce keeps running Pods of an old template rather than leave the app with none', async () => {
    const app = withPolicy('Enforce');
    const old = render(makeApp((m) => (m.spec.app.image = 'registry.example/app:0'))).pods.map((p) => existing(p));
    const { rest } = await reconcileOnce(app, old, () => ({}), inspected(false));
    expect(rest.sentTo('DELETE', 'pods')).toHaveLength(0);
    expect(rest.sentTo('POST', 'pods')).toHaveLength(0);
  });

  it('Enforce waits, Reconciling, while the image is being inspected or the registry is down, and says why', async () => {
    for (const lookup of [() => ({ state: 'pending' }) as Lookup, failed('Unreachable')]) {
      const { rest, result } = await reconcileOnce(withPolicy('Enforce'), [], () => ({}), lookup);
      await expect(result).resolves.toEqual({ requeueAfterMs: 15_000 });
      expect(rest.sentTo('POST', 'pods')).toHaveLength(0);
      const status = statusWritten(rest);
      expect(conditionOf(status, 'Reconciling')).toMatchObject({ status: 'True' });
      expect(conditionOf(status, 'Reconciling').message).toMatch(/no Pod is created until it is/);
      expect(conditionOf(status, 'Stalled')).toMatchObject({ status: 'False' });
    }
  });

  it('Enforce with an image the registry does not have: Stalled, ImageInspectionFailed, with the registry answer', async () => {
    const { rest } = await reconcileOnce(withPolicy('Enforce'), [], () => ({}), failed('NotFound'));
    const stalled = conditionOf(statusWritten(rest), 'Stalled');
    expect(stalled).toMatchObject({ status: 'True', reason: 'ImageInspectionFailed' });
    expect(stalled.message).toContain('the registry answered 503');
    expect(eventReasons(rest)).toEqual(['ImageInspectionFailed']);
  });

  it('Enforce with a distroless main image creates the Pods; Distroless=True', async () => {
    const { rest } = await reconcileOnce(withPolicy('Enforce'), [], () => ({}), inspected(true));
    expect(rest.sentTo('POST', 'pods')).toHaveLength(1);
    expect(conditionOf(statusWritten(rest), 'Distroless')).toMatchObject({ status: 'True', reason: 'Inspected' });
    expect(eventReasons(rest)).toEqual([]);
  });

  it('Warn runs a main image with a shell, says so in one Warning Event and the Distroless condition, not again next round', async () => {
    const first = await reconcileOnce(withPolicy('Warn'), [], () => ({}), inspected(false));
    expect(first.rest.sentTo('POST', 'pods')).toHaveLength(1);
    const status = statusWritten(first.rest);
    expect(conditionOf(status, 'Distroless')).toMatchObject({ status: 'False', reason: 'ShellInImage' });
    expect(conditionOf(status, 'Stalled')).toMatchObject({ status: 'False' });
    expect(eventReasons(first.rest)).toEqual(['ImageNotDistroless']);
    const again = await reconcileOnce({ ...withPolicy('Warn'), status }, [], () => ({}), inspected(false));
    expect(eventReasons(again.rest)).toEqual([]);
  });

  it('Warn never holds a Pod back on a registry outage', async () => {
    const { rest } = await reconcileOnce(withPolicy('Warn'), [], () => ({}), failed('Unreachable'));
    expect(rest.sentTo('POST', 'pods')).toHaveLength(1);
    expect(conditionOf(statusWritten(rest), 'Distroless')).toMatchObject({ status: 'Unknown', reason: 'InspectionFailed' });
  });

  it.each([
    ['a distroless image', inspected(true), true],
    ['an image with a shell', inspected(false), false],
    ['an image the registry does not have', failed('NotFound'), false],
    ['an image behind a registry that is down', failed('Unreachable'), false],
  ] as const)('a restarted operator, with no verdict yet, writes nothing for a converged app whose status says: %s', async (_, lookup, running) => {
    for (const policy of ['Enforce', 'Warn']) {
      const app = withPolicy(policy);
      const pods = running || policy === 'Warn' ? render(makeApp()).pods.map((p) => existing(p)) : [];
      const first = await reconcileOnce(app, pods, () => ({}), lookup);
      const converged = { ...app, status: statusWritten(first.rest) };
      const { rest } = await reconcileOnce(converged, pods, () => ({}), () => ({ state: 'pending' }));
      expect(rest.sent).toEqual([]);
    }
  });

  it('Off looks at no image and writes no Distroless condition', async () => {
    const asked: string[] = [];
    const { rest } = await reconcileOnce(withPolicy('Off'), [], () => ({}), (reference) => {
      asked.push(reference);
      return { state: 'pending' };
    });
    expect(asked).toEqual([]);
    const status = statusWritten(rest);
    expect(status.conditions?.map((c) => c.type)).toEqual(['Ready', 'Reconciling', 'Stalled']);
    expect(status.images).toBeUndefined();
  });
});
