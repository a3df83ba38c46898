import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { validateApp } from '../../src/api/validate.js';
import type { DistrolessApp } from '../../src/api/schema.js';
import { render, LABEL_APP, LABEL_TEMPLATE_HASH } from '../../src/render/pod.js';
import { templateHash } from '../../src/render/hash.js';
import { podName } from '../../src/render/names.js';
import { initStepsOf } from '../../src/api/steps.js';
import { validApp, type Manifest } from '../fixtures/invalid-apps.js';
import { restrictedViolations } from '../fixtures/restricted.js';

const examplesDir = new URL('../../examples/', import.meta.url).pathname;
const goldenDir = new URL('./golden/', import.meta.url).pathname;
const examples = readdirSync(examplesDir).sort();

function parse(manifest: unknown): DistrolessApp {
  const result = validateApp(manifest);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.app;
}

const loadExample = (name: string) => parse(yaml.load(readFileSync(join(examplesDir, name, 'app.yaml'), 'utf8')));
const allContainers = (pod: V1Pod): V1Container[] => [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
const mainContainerOf = (pod: V1Pod) => pod.spec?.containers[0];
const envNamesOf = (container: V1Container | undefined) => new Set((container?.env ?? []).map((e) => e.name));

/** The env of every init step. */
const initEnv = (app: DistrolessApp) => initStepsOf(app.spec).flatMap(({ step }) => step.env ?? []);

/** Init env variables the app's own env does not set too. */
const initOnlyEnv = (app: DistrolessApp) => initEnv(app).filter((e) => !(app.spec.app.env ?? []).some((m) => m.name === e.name));

/** Where the first init env variable that reads a Secret gets its value. */
const initSecretSource = (app: DistrolessApp) => initEnv(app).find((e) => e.valueFrom?.secretKeyRef)?.valueFrom;

describe('render', () => {
  it('ships the four examples of the design', () => expect(examples).toEqual(['go-static', 'migrate', 'nginx-template', 'postgres']));

  // Set UPDATE_GOLDEN=1 to rewrite the golden files after a deliberate change.
  it.each(examples)('renders the %s example as its golden file', (name) => {
    const rendered = render(loadExample(name)).pods.map((p) => yaml.dump(p, { lineWidth: -1, noRefs: true })).join('---\n');
    const golden = join(goldenDir, `${name}.yaml`);
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(golden)) writeFileSync(golden, rendered);
    expect(rendered).toBe(readFileSync(golden, 'utf8'));
  });

  it.each(examples)('puts the restricted profile on every container of %s', (name) => {
    for (const pod of render(loadExample(name)).pods) {
      expect(restrictedViolations(pod)).toEqual([]);
      expect(pod.spec?.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.spec?.securityContext?.fsGroup).toEqual(expect.any(Number));
      for (const c of allContainers(pod)) {
        expect(c.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
        expect(c.securityContext?.runAsUser).toBeGreaterThan(0);
      }
      expect(pod.spec?.containers[0]?.securityContext?.readOnlyRootFilesystem).toBe(true);
    }
  });

  it.each(examples)('keeps the init env of %s out of the main container', (name) => {
    const app = loadExample(name);
    for (const pod of render(app).pods) {
      const main = mainContainerOf(pod);
      for (const { container, step } of initStepsOf(app.spec)) expect(pod.spec?.initContainers?.find((c) => c.name === container)?.env).toEqual(step.env);
      const mainNames = envNamesOf(main);
      for (const e of initOnlyEnv(app)) expect(mainNames.has(e.name)).toBe(false);
      expect(JSON.stringify(main)).not.toContain(JSON.stringify(initSecretSource(app) ?? '\u0000'));
      expect(main?.envFrom).toEqual(app.spec.app.envFrom);
    }
  });

  it('never copies an init Secret reference into the main container', () => {
    const m = validApp();
    m.spec.init.env = [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db-admin', key: 'password' } } }];
    m.spec.init.envFrom = [{ secretRef: { name: 'init-only' } }];
    const pod = render(parse(m)).pods[0]!;
    expect(JSON.stringify(pod.spec?.containers)).not.toMatch(/db-admin|init-only|DB_PASSWORD/);
    expect(JSON.stringify(pod.spec?.initContainers)).toMatch(/db-admin/);
  });

  it('mounts one shared emptyDir in both containers, read-only in the main one when asked', () => {
    const m = validApp();
    m.spec.shared = { mountPath: '/data', appMountPath: '/config', medium: 'Memory', sizeLimit: '64Mi', readOnlyInApp: true };
    const pod = render(parse(m)).pods[0]!;
    expect(pod.spec?.volumes).toEqual([{ name: 'shared', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } }]);
    expect(pod.spec?.initContainers?.[0]?.volumeMounts).toEqual([{ name: 'shared', mountPath: '/data' }]);
    expect(pod.spec?.containers[0]?.volumeMounts).toEqual([{ name: 'shared', mountPath: '/config', readOnly: true }]);
  });

  it('labels pods for selection, keeps the user labels, and owns them when the app has a uid', () => {
    const m = validApp('web');
    m.metadata.uid = '1234';
    m.metadata.namespace = 'shop';
    m.spec.replicas = 3;
    m.spec.podTemplate = { labels: { team: 'shop' } };
    const { pods, templateHash: hash } = render(parse(m));
    expect(pods.map((p) => p.metadata?.name)).toEqual([0, 1, 2].map((i) => `web-${hash}-${i}`));
    for (const pod of pods) {
      expect(pod.metadata?.namespace).toBe('shop');
      expect(pod.metadata?.labels).toMatchObject({
        team: 'shop',
        [LABEL_APP]: 'web',
        [LABEL_TEMPLATE_HASH]: hash,
        'app.kubernetes.io/name': 'web',
        'app.kubernetes.io/managed-by': 'distroless-operator',
      });
      expect(pod.metadata?.ownerReferences).toEqual([
        { apiVersion: 'distroless.dev/v1alpha1', kind: 'DistrolessApp', name: 'web', uid: '1234', controller: true, blockOwnerDeletion: true },
      ]);
    }
  });

  it('renders no pods for zero replicas', () => {
    const m = validApp();
    m.spec.replicas = 0;
    expect(render(parse(m)).pods).toEqual([]);
  });

  it('leaves the service account token unmounted by default', () => {
    expect(render(parse(validApp())).pods[0]?.spec?.automountServiceAccountToken).toBe(false);
  });
});

describe('template hash', () => {
  const reordered = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(reordered)
      : value && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reordered(v)]))
        : value;

  it('is the same for the same spec in any key order and on every run', () => {
    const app = loadExample('migrate');
    const manifest = yaml.load(readFileSync(join(examplesDir, 'migrate', 'app.yaml'), 'utf8'));
    expect(templateHash(parse(reordered(manifest)))).toBe(templateHash(app));
    // Pinned: a change here rolls every Pod of every user on upgrade.
    expect(templateHash(app)).toBe(readFileSync(join(goldenDir, 'migrate.yaml'), 'utf8').match(/template-hash: (\w+)/)?.[1]);
    expect(templateHash(parse(validApp()))).toMatch(/^[0-9a-f]{10}$/);
  });

  it('does not change with replicas or updateStrategy', () => {
    const base = templateHash(parse(validApp()));
    const m = validApp();
    m.spec.replicas = 7;
    m.spec.updateStrategy = 'Recreate';
    expect(templateHash(parse(m))).toBe(base);
  });

  it('is the same whether defaults were written out or not', () => {
    const m = validApp();
    m.spec.shared = { mountPath: '/shared', medium: '', readOnlyInApp: false };
    m.spec.podTemplate = { fsGroup: 65532, automountServiceAccountToken: false, terminationGracePeriodSeconds: 30 };
    expect(templateHash(parse(m))).toBe(templateHash(parse(validApp())));
  });

  const changes: [string, (m: Manifest) => void][] = [
    ['init image', (m) => (m.spec.init.image = 'alpine:3.21')],
    ['init command', (m) => (m.spec.init.command = ['true'])],
    ['init env', (m) => (m.spec.init.env = [{ name: 'A', value: '1' }])],
    ['init runAsUser', (m) => (m.spec.init.runAsUser = 1000)],
    ['app image', (m) => (m.spec.app.image = 'gcr.io/distroless/base:nonroot')],
    ['app args', (m) => (m.spec.app.args = ['--verbose'])],
    ['app env value', (m) => (m.spec.app.env = [{ name: 'A', value: '2' }])],
    ['app ports', (m) => (m.spec.app.ports = [{ name: 'http', containerPort: 9090 }])],
    ['app probe', (m) => (m.spec.app.readinessProbe = { tcpSocket: { port: 8080 } })],
    ['app resources', (m) => (m.spec.app.resources = { limits: { memory: '64Mi' } })],
    ['shared mountPath', (m) => (m.spec.shared = { mountPath: '/data' })],
    ['shared medium', (m) => (m.spec.shared = { medium: 'Memory' })],
    ['shared readOnlyInApp', (m) => (m.spec.shared = { readOnlyInApp: true })],
    ['pod labels', (m) => (m.spec.podTemplate = { labels: { team: 'a' } })],
    ['pod annotations', (m) => (m.spec.podTemplate = { annotations: { a: 'b' } })],
    ['fsGroup', (m) => (m.spec.podTemplate = { fsGroup: 1000 })],
    ['serviceAccountName', (m) => (m.spec.podTemplate = { serviceAccountName: 'runner' })],
    ['nodeSelector', (m) => (m.spec.podTemplate = { nodeSelector: { disk: 'ssd' } })],
  ];
  const base = templateHash(parse(validApp()));
  it.each(changes)('changes with %s', (_, change) => {
    const m = validApp();
    change(m);
    expect(templateHash(parse(m))).not.toBe(base);
  });
});

describe('pod names', () => {
  it('are APP-HASH-INDEX when they fit', () => expect(podName('web', 'abcdef0123', 4)).toBe('web-abcdef0123-4'));

  it('stay DNS-1123 labels of at most 63 characters for the longest app names', () => {
    for (const name of ['a'.repeat(63), `${'a'.repeat(40)}-${'b'.repeat(22)}`, 'x'.repeat(50)]) {
      for (const index of [0, 9, 999]) {
        const pod = podName(name, 'abcdef0123', index);
        expect(pod.length).toBeLessThanOrEqual(63);
        expect(pod).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
        expect(pod.endsWith(`-abcdef0123-${index}`)).toBe(true);
      }
    }
  });

  it('stay unique when long names that share a prefix are shortened', () => {
    const prefix = 'payments-reconciliation-worker-eu-west-1-';
    const names = Array.from({ length: 200 }, (_, i) => `${prefix}${String(i).padStart(21, '0')}`.slice(0, 63));
    const pods = new Set(names.map((n) => podName(n, 'abcdef0123', 0)));
    expect(pods.size).toBe(names.length);
  });

  it('are the same on every call', () => expect(podName('z'.repeat(60), '0123456789', 1)).toBe(podName('z'.repeat(60), '0123456789', 1)));
});
