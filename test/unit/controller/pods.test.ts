import type { V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import { indexOf, isFinished, isOwnedBy, isReady, trimPod } from '../../../src/controller/pods.js';
import { LABEL_REPLICA_INDEX } from '../../../src/render/pod.js';
import { APP_UID, makeApp, podsOf, terminating, withState } from './world.js';

const app = makeApp();
const pod = podsOf(app)[0]!;
const owned = (refs: V1OwnerReference[] | undefined): V1Pod => ({ ...pod, metadata: { ...pod.metadata, ownerReferences: refs } });
const ref = (over: Partial<V1OwnerReference>): V1OwnerReference => ({ apiVersion: 'distroless.dev/v1alpha1', kind: 'DistrolessApp', name: 'web', uid: APP_UID, controller: true, ...over });

describe('isOwnedBy', () => {
  it('holds for a controller reference to the app uid, as the renderer writes it', () => expect(isOwnedBy(pod, app)).toBe(true));
  it('holds among other, non-controller references', () => expect(isOwnedBy(owned([ref({ uid: 'x', controller: false }), ref({})]), app)).toBe(true));
  it('fails without ownerReferences', () => expect(isOwnedBy(owned(undefined), app)).toBe(false));
  it('fails for another uid, even with the same name: an app deleted and created again is another app', () =>
    expect(isOwnedBy(owned([ref({ uid: 'previous-incarnation' })]), app)).toBe(false));
  it('fails for a reference that is not the controller', () => expect(isOwnedBy(owned([ref({ controller: false })]), app)).toBe(false));
  it('fails for a reference without the controller flag', () => expect(isOwnedBy(owned([ref({ controller: undefined })]), app)).toBe(false));
  it('fails for an app without a uid', () => {
    const fileApp = makeApp();
    delete fileApp.metadata.uid;
    expect(isOwnedBy(owned([ref({ uid: undefined as unknown as string })]), fileApp)).toBe(false);
  });
});

describe('isReady', () => {
  it('holds for condition Ready=True', () => expect(isReady(withState(pod, 'Ready'))).toBe(true));
  it('fails for a running Pod that is not Ready', () => expect(isReady(withState(pod, 'Running'))).toBe(false));
  it('fails for a Ready Pod that is terminating: it is leaving the endpoints', () => expect(isReady(terminating(withState(pod, 'Ready')))).toBe(false));
  it('fails without a status', () => expect(isReady({ ...pod, status: undefined })).toBe(false));
});

describe('isFinished', () => {
  it.each([
    ['Failed', true],
    ['Succeeded', true],
    ['Running', false],
    ['Pending', false],
  ] as const)('%s: %s', (state, expected) => expect(isFinished(withState(pod, state))).toBe(expected));
});

describe('indexOf', () => {
  const labelled = (value: string): V1Pod => ({ ...pod, metadata: { ...pod.metadata, labels: { [LABEL_REPLICA_INDEX]: value } } });
  it.each([
    ['0', 0],
    ['7', 7],
    ['999', 999],
  ])('reads %s as %i', (value, index) => expect(indexOf(labelled(value))).toBe(index));
  it.each(['', '-1', '01', '1.5', '1e3', ' 1', 'one', '9999999'])('refuses %j', (value) => expect(indexOf(labelled(value))).toBeUndefined());
  it('is undefined without the label', () => expect(indexOf({ ...pod, metadata: { ...pod.metadata, labels: {} } })).toBeUndefined());
});

describe('trimPod', () => {
  const full = (controlled: boolean): V1Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web-abc-0',
      namespace: 'shop',
      uid: 'u1',
      resourceVersion: '7',
      labels: { a: 'b' },
      annotations: { big: 'x'.repeat(10_000) },
      ownerReferences: controlled ? [{ apiVersion: 'distroless.dev/v1alpha1', kind: 'DistrolessApp', name: 'web', uid: 'app', controller: true }] : [],
    },
    spec: { containers: [{ name: 'app', image: 'x', env: [{ name: 'A', value: 'y'.repeat(10_000) }] }] },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }, { type: 'PodScheduled', status: 'True' }], containerStatuses: [] },
  });
  const controlled = (p: V1Pod) => (p.metadata?.ownerReferences ?? []).length > 0;

  it('keeps what observe, plan and status read, and drops the rest', () => {
    const trimmed = trimPod(full(true), controlled)!;
    expect(trimmed.spec).toBeUndefined();
    expect(trimmed.metadata?.annotations).toBeUndefined();
    expect(trimmed.status?.conditions).toEqual([{ type: 'Ready', status: 'True' }]);
    expect(trimmed.metadata).toMatchObject({ name: 'web-abc-0', uid: 'u1', resourceVersion: '7', labels: { a: 'b' } });
    expect(JSON.stringify(trimmed).length).toBeLessThan(600);
  });

  it('keeps nothing of a Pod no DistrolessApp controls', () => expect(trimPod(full(false), controlled)).toBeUndefined());
});
