import { trimApp } from '../../../src/controller/stored-app.js';
import type { StoredApp } from '../../../src/controller/reconciler.js';
import { validApp } from '../../fixtures/invalid-apps.js';

describe('the app cache keeps what the reconciler reads', () => {
  const sample = validApp('web');
  const served = {
    ...sample,
    metadata: {
      name: 'web',
      namespace: 'shop',
      uid: 'u-1',
      generation: 3,
      resourceVersion: '42',
      creationTimestamp: '2026-12-03T00:00:00Z',
      labels: { 'sharding.distroless.dev/key': 'a' },
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(sample) },
      managedFields: [{ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': {} } }],
    },
    status: { observedGeneration: 3, conditions: [] },
  } as unknown as StoredApp;

  it('drops managedFields and annotations, keeps identity, generation, labels, spec and status', () => {
    const trimmed = trimApp(served);
    expect(trimmed).toEqual({
      apiVersion: sample.apiVersion,
      kind: sample.kind,
      metadata: { name: 'web', namespace: 'shop', uid: 'u-1', generation: 3, resourceVersion: '42', labels: { 'sharding.distroless.dev/key': 'a' } },
      spec: sample.spec,
      status: { observedGeneration: 3, conditions: [] },
    });
    expect(JSON.stringify(trimmed).length).toBeLessThan(JSON.stringify(served).length / 2);
  });

  it('adds no status or labels an app does not have', () => {
    const bare = trimApp({ ...served, status: undefined, metadata: { name: 'web', namespace: 'shop', uid: 'u-1' } });
    expect(bare).not.toHaveProperty('status');
    expect(bare.metadata).not.toHaveProperty('labels');
  });
});
