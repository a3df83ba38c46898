import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { DistrolessApp } from '../../src/api/schema.js';
import { initStepsOf, isInitStepContainer } from '../../src/api/steps.js';
import { APP_SELECTOR_KEYS } from '../../src/api/topology.js';
import { validateApp } from '../../src/api/validate.js';
import { checkImages } from '../../src/controller/images.js';
import { templateHash } from '../../src/render/hash.js';
import { render, selectorLabels } from '../../src/render/pod.js';
import { validApp, withInitSteps, type JsonObject, type Manifest } from '../fixtures/invalid-apps.js';
import { containersOf, restrictedViolations } from '../fixtures/restricted.js';

// The Pod's shape beyond one init container: init volumes, ordered init steps,
// native sidecars, topology spread, UIDs the platform assigns, ephemeral storage.

function parse(manifest: unknown): DistrolessApp {
  const result = validateApp(manifest);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.app;
}

const podOf = (m: Manifest): V1Pod => render(parse(m)).pods[0]!;
const container = (pod: V1Pod, name: string): V1Container => {
  const found = containersOf(pod).find((c) => c.name === name);
  if (!found) throw new Error(`no container ${name} in ${containersOf(pod).map((c) => c.name).join(', ')}`);
  return found;
};

/** Two init steps with init volumes of each kind, a sidecar, and spread constraints. */
function fullApp(): Manifest {
  const m = validApp('shop');
  withInitSteps(
    m,
    {
      name: 'render',
      command: ['sh', '-c', 'envsubst < /templates/app.conf.tmpl > /shared/app.conf'],
      env: [{ name: 'GREETING', value: 'hello' }],
      volumeMounts: [{ name: 'templates', mountPath: '/templates' }],
    },
    {
      name: 'keys',
      image: 'debian:12',
      command: ['/bin/bash', '-c', 'cp /keys/tls.key /shared/ && chmod 0400 /shared/tls.key'],
      env: [{ name: 'KEY_PASSWORD', valueFrom: { secretKeyRef: { name: 'shop-key-password', key: 'password' } } }],
      runAsUser: 1000,
      resources: { requests: { 'ephemeral-storage': '10Mi' } },
      volumeMounts: [
        { name: 'tls', mountPath: '/keys' },
        { name: 'token', mountPath: '/var/run/vault', readOnly: false },
        { name: 'templates', mountPath: '/templates/extra.conf', subPath: 'extra.conf' },
      ],
    },
  );
  m.spec.initVolumes = [
    { name: 'templates', configMap: { name: 'shop-templates', items: [{ key: 'app.conf.tmpl', path: 'app.conf.tmpl', mode: 0o444 }], optional: false } },
    { name: 'tls', secret: { secretName: 'shop-tls', defaultMode: 0o400 } },
    {
      name: 'token',
      projected: {
        sources: [
          { serviceAccountToken: { path: 'token', audience: 'vault', expirationSeconds: 600 } },
          { downwardAPI: { items: [{ path: 'pod', fieldRef: { fieldPath: 'metadata.name' } }] } },
          { configMap: { name: 'vault-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        ],
        defaultMode: 0o440,
      },
    },
  ];
  m.spec.sidecars = [
    {
      name: 'log',
      image: 'registry.example/log-shipper:1',
      command: ['/ship', '--from=/config/log'],
      env: [{ name: 'SINK', value: 'stdout' }],
      envFrom: [{ configMapRef: { name: 'shipper' } }],
      ports: [{ name: 'metrics', containerPort: 9100 }],
      readinessProbe: { httpGet: { path: '/ready', port: 'metrics' } },
      livenessProbe: { exec: { command: ['/ship', '--check'] } },
      resources: { limits: { memory: '32Mi', 'ephemeral-storage': '64Mi' } },
    },
  ];
  m.spec.app.resources = { requests: { 'ephemeral-storage': '100Mi' }, limits: { 'ephemeral-storage': '1Gi' } };
  m.spec.shared = { appMountPath: '/config', readOnlyInApp: true, sizeLimit: '256Mi' };
  m.spec.podTemplate = {
    topologySpreadConstraints: [
      { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway' },
      {
        maxSkew: 2,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'DoNotSchedule',
        labelSelector: { matchLabels: { team: 'shop' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['web'] }] },
        matchLabelKeys: ['distroless.dev/template-hash'],
        minDomains: 2,
        nodeAffinityPolicy: 'Ignore',
        nodeTaintsPolicy: 'Honor',
      },
    ],
  };
  return m;
}

describe('init steps', () => {
  it('run in the order given, as init-<name>, before the sidecars; the distroless container is the only main one', () => {
    const pod = podOf(fullApp());
    expect(pod.spec?.initContainers?.map((c) => c.name)).toEqual(['init-render', 'init-keys', 'log']);
    expect(pod.spec?.containers.map((c) => c.name)).toEqual(['app']);
    expect(pod.spec?.initContainers?.map((c) => isInitStepContainer(c.name))).toEqual([true, true, false]);
  });

  it('each have their own image, command, env, UIDs and resources, hardened but with a writable root', () => {
    const pod = podOf(fullApp());
    const keys = container(pod, 'init-keys');
    expect(keys).toMatchObject({ image: 'debian:12', command: ['/bin/bash', '-c', 'cp /keys/tls.key /shared/ && chmod 0400 /shared/tls.key'], resources: { requests: { 'ephemeral-storage': '10Mi' } } });
    expect(keys.env).toEqual([{ name: 'KEY_PASSWORD', valueFrom: { secretKeyRef: { name: 'shop-key-password', key: 'password' } } }]);
    expect(keys.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 65532,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const render_ = container(pod, 'init-render');
    expect(render_).toMatchObject({ image: 'alpine:3.20', env: [{ name: 'GREETING', value: 'hello' }], securityContext: { runAsUser: 65532 } });
    expect(render_.restartPolicy).toBeUndefined();
  });

  it("keep each step's env out of the other steps, the sidecars and the distroless container", () => {
    const pod = podOf(fullApp());
    expect(JSON.stringify(container(pod, 'init-render'))).not.toMatch(/KEY_PASSWORD|shop-key-password/);
    for (const name of ['app', 'log']) expect(JSON.stringify(container(pod, name))).not.toMatch(/KEY_PASSWORD|shop-key-password|GREETING/);
  });

  it('keep spec.init rendering as the one init container "init", with the init volumes it mounts', () => {
    const m = validApp();
    m.spec.initVolumes = [{ name: 'templates', configMap: { name: 'templates' } }];
    m.spec.init.volumeMounts = [{ name: 'templates', mountPath: '/templates', subPath: 'v2', readOnly: false }];
    const pod = podOf(m);
    expect(pod.spec?.initContainers?.map((c) => c.name)).toEqual(['init']);
    expect(pod.spec?.initContainers?.[0]?.volumeMounts).toEqual([
      { name: 'shared', mountPath: '/shared' },
      { name: 'templates', mountPath: '/templates', subPath: 'v2' },
    ]);
    expect(initStepsOf(parse(m).spec)).toEqual([expect.objectContaining({ container: 'init', path: 'spec.init' })]);
  });

  it('are listed with their container names and field paths', () => {
    expect(initStepsOf(parse(fullApp()).spec).map(({ container: c, path }) => [c, path])).toEqual([
      ['init-render', 'spec.initSteps[0]'],
      ['init-keys', 'spec.initSteps[1]'],
    ]);
  });

  it("each have their image in status.images, after the main one's and before the sidecars'", () => {
    const { images } = checkImages(parse(fullApp()), () => ({ state: 'pending' }));
    expect(images).toEqual([
      { container: 'app', image: 'gcr.io/distroless/static-debian12:nonroot' },
      { container: 'init-render', image: 'alpine:3.20' },
      { container: 'init-keys', image: 'debian:12' },
      { container: 'log', image: 'registry.example/log-shipper:1' },
    ]);
  });
});

describe('init volumes', () => {
  it('follow the shared volume in the Pod, as given', () => {
    const pod = podOf(fullApp());
    expect(pod.spec?.volumes).toEqual([
      { name: 'shared', emptyDir: { sizeLimit: '256Mi' } },
      { name: 'templates', configMap: { name: 'shop-templates', items: [{ key: 'app.conf.tmpl', path: 'app.conf.tmpl', mode: 0o444 }], optional: false } },
      { name: 'tls', secret: { secretName: 'shop-tls', defaultMode: 0o400 } },
      {
        name: 'token',
        projected: {
          sources: [
            { serviceAccountToken: { path: 'token', audience: 'vault', expirationSeconds: 600 } },
            { downwardAPI: { items: [{ path: 'pod', fieldRef: { fieldPath: 'metadata.name' } }] } },
            { configMap: { name: 'vault-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          ],
          defaultMode: 0o440,
        },
      },
    ]);
  });

  it('are mounted read-only (unless told otherwise) in the init steps that name them, beside the shared volume', () => {
    const pod = podOf(fullApp());
    expect(container(pod, 'init-render').volumeMounts).toEqual([
      { name: 'shared', mountPath: '/shared' },
      { name: 'templates', mountPath: '/templates', readOnly: true },
    ]);
    expect(container(pod, 'init-keys').volumeMounts).toEqual([
      { name: 'shared', mountPath: '/shared' },
      { name: 'tls', mountPath: '/keys', readOnly: true },
      { name: 'token', mountPath: '/var/run/vault' },
      { name: 'templates', mountPath: '/templates/extra.conf', subPath: 'extra.conf', readOnly: true },
    ]);
  });

  it('never reach the distroless container or a sidecar, which mount the shared volume only', () => {
    const pod = podOf(fullApp());
    for (const name of ['app', 'log']) {
      expect(container(pod, name).volumeMounts).toEqual([{ name: 'shared', mountPath: '/config', readOnly: true }]);
      expect(JSON.stringify(container(pod, name))).not.toMatch(/shop-tls|shop-templates|vault/);
    }
  });

  it('may name the shared volume\'s neighbours, only not its own directory or those above and below it', () => {
    const m = validApp();
    m.spec.shared = { mountPath: '/srv/shared', initMountPath: '/work' };
    m.spec.initVolumes = [{ name: 'conf', configMap: { name: 'c' } }];
    m.spec.init.volumeMounts = [{ name: 'conf', mountPath: '/srv/shared' }];
    expect(validateApp(m).ok).toBe(true); // the app's path: the step mounts the shared volume at /work
    m.spec.init.volumeMounts = [{ name: 'conf', mountPath: '/workspace' }];
    expect(validateApp(m).ok).toBe(true); // a prefix in letters, not a parent directory
    m.spec.init.volumeMounts = [{ name: 'conf', mountPath: '/work/conf' }];
    expect(validateApp(m).ok).toBe(false);
  });

  it('take modes written in octal, as kubectl reads YAML', () => {
    const m = validApp();
    m.spec.initVolumes = [{ name: 'conf', secret: { secretName: 's', defaultMode: 0o777 } }];
    m.spec.init.volumeMounts = [{ name: 'conf', mountPath: '/conf' }];
    expect(validateApp(m).ok).toBe(true);
  });
});

describe('sidecars', () => {
  it('are init containers that restart, so they start after the init steps and run beside the distroless container', () => {
    const log = container(podOf(fullApp()), 'log');
    expect(log.restartPolicy).toBe('Always');
    expect(log).toMatchObject({
      image: 'registry.example/log-shipper:1',
      command: ['/ship', '--from=/config/log'],
      env: [{ name: 'SINK', value: 'stdout' }],
      envFrom: [{ configMapRef: { name: 'shipper' } }],
      ports: [{ name: 'metrics', containerPort: 9100, protocol: 'TCP' }],
      readinessProbe: { httpGet: { path: '/ready', port: 'metrics' } },
      livenessProbe: { exec: { command: ['/ship', '--check'] } },
      resources: { limits: { memory: '32Mi', 'ephemeral-storage': '64Mi' } },
    });
  });

  it('are hardened as the distroless container: the same securityContext and shared mount', () => {
    const pod = podOf(fullApp());
    const app = container(pod, 'app');
    const log = container(pod, 'log');
    expect(log.securityContext).toEqual(app.securityContext);
    expect(log.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(log.volumeMounts).toEqual(app.volumeMounts);
  });

  it('run as their own UIDs when given', () => {
    const m = fullApp();
    (m.spec.sidecars as JsonObject[]).forEach((s) => ((s.runAsUser = 2000), (s.runAsGroup = 2001)));
    expect(container(podOf(m), 'log').securityContext).toMatchObject({ runAsUser: 2000, runAsGroup: 2001 });
  });

  it('come after spec.init too', () => {
    const m = validApp();
    m.spec.sidecars = [{ name: 'proxy', image: 'envoyproxy/envoy-distroless:v1.31', args: ['-c', '/shared/envoy.yaml'] }];
    expect(podOf(m).spec?.initContainers?.map((c) => [c.name, c.restartPolicy])).toEqual([
      ['init', undefined],
      ['proxy', 'Always'],
    ]);
  });
});

describe('topologySpreadConstraints', () => {
  it("fill a left-out labelSelector with the app's own selector and pass the rest through", () => {
    expect(podOf(fullApp()).spec?.topologySpreadConstraints).toEqual([
      { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selectorLabels('shop') } },
      {
        maxSkew: 2,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'DoNotSchedule',
        labelSelector: { matchLabels: { team: 'shop' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['web'] }] },
        matchLabelKeys: ['distroless.dev/template-hash'],
        minDomains: 2,
        nodeAffinityPolicy: 'Ignore',
        nodeTaintsPolicy: 'Honor',
      },
    ]);
  });

  it("know the keys of the app's own selector", () => expect([...APP_SELECTOR_KEYS].sort()).toEqual(Object.keys(selectorLabels('x')).sort()));

  it('render nothing for an empty list', () => {
    const m = validApp();
    m.spec.podTemplate = { topologySpreadConstraints: [] };
    expect(podOf(m).spec).not.toHaveProperty('topologySpreadConstraints');
  });
});

describe('UIDs the platform assigns', () => {
  const platformApp = (): Manifest => {
    const m = fullApp();
    delete (m.spec.initSteps as JsonObject[])[1]!.runAsUser;
    m.spec.podTemplate = { ...m.spec.podTemplate, platformAssignsUids: true };
    return m;
  };

  it('leave runAsUser, runAsGroup and fsGroup unset everywhere, and keep runAsNonRoot', () => {
    const pod = podOf(platformApp());
    expect(pod.spec?.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    for (const c of containersOf(pod)) {
      expect(c.securityContext?.runAsNonRoot).toBe(true);
      expect(c.securityContext).not.toHaveProperty('runAsUser');
      expect(c.securityContext).not.toHaveProperty('runAsGroup');
    }
  });

  it('still meet the restricted Pod Security level', () => expect(restrictedViolations(podOf(platformApp()))).toEqual([]));

  it('are off by default: 65532 everywhere, fsGroup included', () => {
    const pod = podOf(validApp());
    expect(pod.spec?.securityContext?.fsGroup).toBe(65532);
    for (const c of containersOf(pod)) expect(c.securityContext).toMatchObject({ runAsUser: 65532, runAsGroup: 65532 });
  });
});

describe('the restricted Pod Security level', () => {
  it('holds for every container of an app that uses every new field', () => {
    const pod = podOf(fullApp());
    expect(containersOf(pod)).toHaveLength(4);
    expect(restrictedViolations(pod)).toEqual([]);
  });

  it('is what the check reports a breach of', () => {
    const pod = podOf(fullApp());
    pod.spec!.volumes!.push({ name: 'host', hostPath: { path: '/' } });
    container(pod, 'log').securityContext!.allowPrivilegeEscalation = true;
    expect(restrictedViolations(pod)).toEqual([expect.stringContaining('a volume type other than'), 'container log: allowPrivilegeEscalation != false']);
  });
});

describe('template hash of apps written before the Pod shape grew', () => {
  // Computed by the operator before init volumes, init steps, sidecars, topology
  // spread and platform UIDs existed: a change here replaces every running Pod.
  const before: [string, string, (m: Manifest) => void][] = [
    ['the sample app', 'b45f22f60c', () => undefined],
    [
      'every podTemplate field, fsGroup set',
      'f010816038',
      (m) =>
        (m.spec.podTemplate = {
          labels: { team: 'a' },
          annotations: { a: 'b' },
          serviceAccountName: 'runner',
          nodeSelector: { disk: 'ssd' },
          tolerations: [{ key: 'k', operator: 'Exists' }],
          affinity: { nodeAffinity: {} },
          imagePullSecrets: [{ name: 'pull' }],
          priorityClassName: 'high',
          terminationGracePeriodSeconds: 5,
          fsGroup: 1000,
        }),
    ],
    [
      'the shared volume and UIDs',
      '1cef2ab411',
      (m) => ((m.spec.shared = { mountPath: '/data', appMountPath: '/config', medium: 'Memory', sizeLimit: '64Mi', readOnlyInApp: true }), (m.spec.init.runAsUser = 70), (m.spec.app.runAsGroup = 1000)),
    ],
    [
      'ephemeral-storage resources',
      '6006e8ea1c',
      (m) => ((m.spec.app.resources = { limits: { memory: '64Mi', 'ephemeral-storage': '1Gi' } }), (m.spec.init.resources = { requests: { 'ephemeral-storage': '100Mi' } })),
    ],
  ];

  it.each(before)('is unchanged for %s', (_, hash, change) => {
    const m = validApp();
    change(m);
    expect(templateHash(parse(m))).toBe(hash);
  });

  const base = templateHash(parse(validApp()));

  it.each<[string, (m: Manifest) => void]>([
    ['an explicit fsGroup 65532', (m) => (m.spec.podTemplate = { fsGroup: 65532 })],
    ['platformAssignsUids false', (m) => (m.spec.podTemplate = { platformAssignsUids: false })],
    ['empty topologySpreadConstraints', (m) => (m.spec.podTemplate = { topologySpreadConstraints: [] })],
    ['empty sidecars', (m) => (m.spec.sidecars = [])],
    ['empty initVolumes', (m) => (m.spec.initVolumes = [])],
  ])('is unchanged by %s', (_, change) => {
    const m = validApp();
    change(m);
    expect(templateHash(parse(m))).toBe(base);
  });

  it.each<[string, (m: Manifest) => void]>([
    ['initSteps instead of init', (m) => withInitSteps(m, { name: 'init' })],
    ['an init volume', (m) => ((m.spec.initVolumes = [{ name: 'conf', configMap: { name: 'c' } }]), (m.spec.init.volumeMounts = [{ name: 'conf', mountPath: '/conf' }]))],
    ['a sidecar', (m) => (m.spec.sidecars = [{ name: 'log', image: 'log:1' }])],
    ['a topology spread constraint', (m) => (m.spec.podTemplate = { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway' }] })],
    ['platformAssignsUids', (m) => (m.spec.podTemplate = { platformAssignsUids: true })],
  ])('changes with %s', (_, change) => {
    const m = validApp();
    change(m);
    expect(templateHash(parse(m))).not.toBe(base);
  });
});

describe('ephemeral storage', () => {
  it('is a resource every kind of container may request and limit', () => {
    const pod = podOf(fullApp());
    expect(container(pod, 'init-keys').resources).toEqual({ requests: { 'ephemeral-storage': '10Mi' } });
    expect(container(pod, 'log').resources?.limits).toMatchObject({ 'ephemeral-storage': '64Mi' });
    expect(container(pod, 'app').resources).toEqual({ requests: { 'ephemeral-storage': '100Mi' }, limits: { 'ephemeral-storage': '1Gi' } });
  });
});
