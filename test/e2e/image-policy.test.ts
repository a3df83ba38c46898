import type { V1Pod } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { REGISTRY_DIR } from '../../dev/images/paths.js';
import { ensureImageTools } from '../../dev/images/tools.js';
import { startOperator, type OperatorProcess } from '../../dev/operator-process.js';
import { waitFor } from '../../dev/wait-for.js';
import { createNamespace, getJson, kubectl, kubectlOk, serviceAccountKubeconfig, testKubeconfig } from '../integration/helpers.js';
import { condition, type List, type ServedApp } from '../integration/served.js';

// The image policy on the real node, against images read from the local registry:
// Enforce keeps a main image with a shell from ever running and names what it
// found; Warn runs it and says so once; a distroless image runs under both.

const root = new URL('../../', import.meta.url).pathname;
const INIT_IMAGE = 'localhost:5000/debian-init:12';
const DISTROLESS_IMAGE = 'localhost:5000/examples/go-static:1.0.0';
const SHELL_IMAGE = 'localhost:5000/debian-init:12';
const SLOW_MS = 180_000;

let ns: string;
let operator: OperatorProcess | undefined;

/** An app whose main container runs `image`: go-static's server, or `sleep` in the image with a shell. */
function app(name: string, image: string, imagePolicy: string): object {
  const server = image === DISTROLESS_IMAGE;
  return {
    apiVersion: 'distroless.dev/v1alpha1',
    kind: 'DistrolessApp',
    metadata: { name, namespace: ns },
    spec: {
      imagePolicy,
      init: { image: INIT_IMAGE, command: ['sh', '-c', `printf 'listen: ":8080"\\ngreeting: "hi"\\n' > /config/server.yaml`] },
      app: {
        image,
        command: server ? ['/app/server', '--config', '/config/server.yaml'] : ['/bin/sleep', 'infinity'],
        ...(server ? { readinessProbe: { httpGet: { path: '/readyz', port: 8080 }, periodSeconds: 1 } } : {}),
      },
      shared: { mountPath: '/config', readOnlyInApp: true },
      podTemplate: {
        terminationGracePeriodSeconds: 1,
        nodeSelector: { 'distroless.dev/real-node': 'true' },
        tolerations: [{ key: 'distroless.dev/real-node', operator: 'Exists', effect: 'NoSchedule' }],
      },
    },
  };
}

const apply = (manifest: object): Promise<string> => kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
const served = (name: string): Promise<ServedApp> => getJson<ServedApp>(['get', 'dla', name, '-n', ns, '-o', 'json']);
const podsOf = async (name: string): Promise<V1Pod[]> => (await getJson<List<V1Pod>>(['get', 'pods', '-n', ns, '-l', `distroless.dev/app=${name}`, '-o', 'json'])).items;
const warnings = async (name: string): Promise<{ reason: string; message: string }[]> =>
  (await getJson<List<{ reason: string; message: string; type: string; involvedObject: { name: string } }>>(['get', 'events', '-n', ns, '-o', 'json'])).items.filter(
    (e) => e.type === 'Warning' && e.involvedObject.name === name,
  );

async function until(name: string, type: string, status: string, reason: string): Promise<ServedApp> {
  return waitFor(
    async () => {
      const current = await served(name);
      const found = condition(current, type);
      return found?.status === status && found.reason === reason && current.status?.observedGeneration === current.metadata.generation && current;
    },
    { timeoutMs: SLOW_MS, intervalMs: 500, what: `${name} ${type}=${status}, reason ${reason}` },
  );
}

beforeAll(async () => {
  await kubectlOk(['apply', '--server-side', '-f', join(root, 'crds/distroless.dev_distrolessapps.yaml')]);
  ns = await createNamespace('e2e-images', { 'pod-security.kubernetes.io/enforce': 'restricted' });
  operator = await startOperator({ kubeconfig: await serviceAccountKubeconfig(testKubeconfig()), args: ['--leader-elect=false', '--namespaces', ns] });
});

afterAll(async () => {
  await operator?.stop();
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('the image policy on the real node', () => {
  it('Enforce: a main image with a shell never runs; Stalled names the shell, one Warning Event; a distroless image then runs', async () => {
    await apply(app('enforced', SHELL_IMAGE, 'Enforce'));
    const stalled = await until('enforced', 'Stalled', 'True', 'ImageNotDistroless');
    expect(condition(stalled, 'Stalled')!.message).toMatch(/is not distroless: shell \/bin\/sh.*package manager .*apt/);
    expect(condition(stalled, 'Distroless')).toMatchObject({ status: 'False', reason: 'ShellInImage' });
    const main = stalled.status?.images?.find((i) => i.container === 'app');
    expect(main).toMatchObject({ image: SHELL_IMAGE, distroless: false, scannerVisibility: 'Visible' });
    expect(main!.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(main!.packageMetadata).toEqual([expect.stringMatching(/^dpkg \/var\/lib\/dpkg\/status: \d+ packages$/)]);
    expect(await podsOf('enforced')).toEqual([]);
    expect((await warnings('enforced')).map((e) => e.reason)).toEqual(['ImageNotDistroless']);

    await apply(app('enforced', DISTROLESS_IMAGE, 'Enforce'));
    const ready = await until('enforced', 'Ready', 'True', 'Ready');
    expect(condition(ready, 'Distroless')).toMatchObject({ status: 'True', reason: 'Inspected' });
    expect(ready.status?.images?.find((i) => i.container === 'app')).toMatchObject({ distroless: true, shells: [], packageManagers: [] });
    // The init image is reported, never judged: it is meant to carry a shell.
    expect(ready.status?.images?.find((i) => i.container === 'init')).toMatchObject({ image: INIT_IMAGE, distroless: false });
  }, SLOW_MS * 2);

  it('Warn: a main image with a shell runs, Ready, with Distroless=False and one Warning Event', async () => {
    await apply(app('warned', SHELL_IMAGE, 'Warn'));
    const ready = await until('warned', 'Ready', 'True', 'Ready');
    expect(condition(ready, 'Distroless')).toMatchObject({ status: 'False', reason: 'ShellInImage' });
    expect(condition(ready, 'Stalled')!.status).toBe('False');
    const found = await waitFor(async () => {
      const events = await warnings('warned');
      return events.length > 0 && events;
    }, { timeoutMs: 30_000, what: 'the Warning Event of warned' });
    expect(found.map((e) => e.reason)).toEqual(['ImageNotDistroless']);
    expect(found[0]!.message).toContain('/bin/sh');
  }, SLOW_MS);
});

/** The registry's requests whose URI path starts with `prefix`, read from its log: method and path. */
function registryRequests(prefix: string): { method: string; uri: string }[] {
  const log = readFileSync(join(REGISTRY_DIR, 'registry.log'), 'utf8');
  const requests: { method: string; uri: string }[] = [];
  for (const line of log.split('\n')) {
    if (!line.includes('msg="response completed"')) continue;
    const method = /http\.request\.method=(\S+)/.exec(line)?.[1];
    const uri = /http\.request\.uri="?([^"\s]+)/.exec(line)?.[1];
    if (method && uri?.startsWith(prefix)) requests.push({ method, uri });
  }
  return requests;
}

describe('inspection at scale', () => {
  it('500 apps sharing one image: one manifest request, one read of each blob', async () => {
    // A repository no other test reads, so the registry log counts this test's requests only.
    const repository = `test/shared-${Date.now().toString(36)}`;
    const image = `localhost:5000/${repository}:1`;
    // A label of its own gives it a digest of its own, so no verdict of an earlier test answers for it.
    execFileSync((await ensureImageTools()).crane, ['mutate', DISTROLESS_IMAGE, '--label', `test=${repository}`, '-t', image], { stdio: 'pipe' });
    const copied = registryRequests(`/v2/${repository}/`).length;
    const apps = Array.from({ length: 500 }, (_, i) => {
      const manifest = app(`shared-${i}`, DISTROLESS_IMAGE, 'Warn') as { spec: { replicas: number; init: { image: string }; app: { image: string } } };
      manifest.spec.replicas = 0;
      manifest.spec.init.image = image;
      manifest.spec.app.image = image;
      return manifest;
    });
    await kubectlOk(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: apps }) });
    await waitFor(
      async () => {
        const list = await getJson<List<ServedApp>>(['get', 'dla', '-n', ns, '-o', 'json']);
        const done = list.items.filter((a) => a.metadata.name.startsWith('shared-') && a.status?.images?.every((i) => i.digest));
        return done.length === 500;
      },
      { timeoutMs: SLOW_MS, intervalMs: 1000, what: '500 apps with their image inspected' },
    );
    const requests = registryRequests(`/v2/${repository}/`).slice(copied);
    const manifests = requests.filter((r) => r.uri.includes('/manifests/'));
    const blobs = requests.filter((r) => r.uri.includes('/blobs/'));
    expect(manifests).toHaveLength(1);
    // Each blob (the config and every layer) read once.
    expect(blobs.length).toBeGreaterThan(1);
    expect(new Set(blobs.map((b) => b.uri)).size).toBe(blobs.length);
  }, SLOW_MS * 2);
});
