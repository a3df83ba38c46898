import { parse } from 'yaml';
import type { DistrolessApp } from '../../src/api/schema.js';
import { validateApp } from '../../src/api/validate.js';
import { renderCompose, type ComposeService, type RenderedCompose } from '../../src/render/compose.js';
import { composeYaml, wrap } from '../../src/render/compose-yaml.js';
import { dockerBytes, dockerCpus, quantityValue } from '../../src/render/quantity.js';
import { validApp, withInitSteps, type Manifest } from '../fixtures/invalid-apps.js';

// The Compose export: DistrolessApps as one Docker Compose file. The Compose
// specification's own loader checks the examples' files in test/integration/compose.test.ts.

function app(m: Manifest): DistrolessApp {
  const result = validateApp(m);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.app;
}

const composeOf = (...manifests: Manifest[]): RenderedCompose => renderCompose(manifests.map(app));
const service = (r: RenderedCompose, name: string): ComposeService => {
  const found = r.file.services[name];
  if (!found) throw new Error(`no service ${name} in ${Object.keys(r.file.services).join(', ')}`);
  return found;
};
const notesOf = (r: RenderedCompose, section: 'services' | 'volumes', name: string): string =>
  r.notes.filter((n) => n.path[0] === section && n.path[1] === name).flatMap((n) => n.lines).join('\n');

/** Three init steps, a sidecar, split mount paths and init volumes of each kind. */
function stepsApp(): Manifest {
  const m = validApp('shop');
  withInitSteps(
    m,
    { name: 'fetch', env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'shop-token', key: 'token' } } }], volumeMounts: [{ name: 'templates', mountPath: '/templates' }] },
    { name: 'render', image: 'debian:12', runAsUser: 1000, volumeMounts: [{ name: 'tls', mountPath: '/keys' }, { name: 'templates', mountPath: '/t/app.conf', subPath: 'app.conf' }] },
    { name: 'check', envFrom: [{ configMapRef: { name: 'checks' } }, { secretRef: { name: 'check-creds', optional: true }, prefix: 'CHECK_' }], volumeMounts: [{ name: 'token', mountPath: '/var/run/vault' }] },
  );
  m.spec.initVolumes = [
    { name: 'templates', configMap: { name: 'shop-templates' } },
    { name: 'tls', secret: { secretName: 'shop-tls', defaultMode: 0o400 } },
    {
      name: 'token',
      projected: { sources: [{ serviceAccountToken: { path: 'token' } }, { configMap: { name: 'vault-ca' } }, { downwardAPI: { items: [{ path: 'pod', fieldRef: { fieldPath: 'metadata.name' } }] } }] },
    },
  ];
  m.spec.sidecars = [
    {
      name: 'log',
      image: 'registry.example/log-shipper:1',
      command: ['/ship'],
      env: [{ name: 'SINK', value: 'stdout' }],
      ports: [{ name: 'metrics', containerPort: 9100 }],
      livenessProbe: { exec: { command: ['/ship', '--check'] }, periodSeconds: 5, failureThreshold: 2, initialDelaySeconds: 3 },
    },
  ];
  m.spec.app.env = [{ name: 'MODE', value: 'serve' }];
  m.spec.shared = { mountPath: '/shared', initMountPath: '/work', appMountPath: '/config', readOnlyInApp: true };
  return m;
}

describe('compose: services and their order', () => {
  it('runs the permission step, then each init step after the one before has completed, then the sidecars, then the app', () => {
    const r = composeOf(stepsApp());
    expect(Object.keys(r.file.services)).toEqual(['shop-shared-permissions', 'shop-init-fetch', 'shop-init-render', 'shop-init-check', 'shop-log', 'shop']);
    const completed = { condition: 'service_completed_successfully' };
    expect(service(r, 'shop-shared-permissions').depends_on).toBeUndefined();
    expect(service(r, 'shop-init-fetch').depends_on).toEqual({ 'shop-shared-permissions': completed });
    expect(service(r, 'shop-init-render').depends_on).toEqual({ 'shop-init-fetch': completed });
    expect(service(r, 'shop-init-check').depends_on).toEqual({ 'shop-init-render': completed });
    expect(service(r, 'shop-log').depends_on).toEqual({ 'shop-init-check': completed });
    expect(service(r, 'shop').depends_on).toEqual({ 'shop-init-check': completed, 'shop-log': { condition: 'service_started' } });
  });

  it('names the one init step of spec.init APP-init, and the main service the app', () => {
    const r = composeOf(validApp('web'));
    expect(Object.keys(r.file.services)).toEqual(['web-shared-permissions', 'web-init', 'web']);
    expect(service(r, 'web').depends_on).toEqual({ 'web-init': { condition: 'service_completed_successfully' } });
  });

  it('maps command to entrypoint and args to command, as Kubernetes overrides ENTRYPOINT and CMD', () => {
    const m = validApp('web');
    m.spec.app.args = ['--port', '8080'];
    m.spec.app.workingDir = '/app';
    m.spec.app.imagePullPolicy = 'IfNotPresent';
    const web = service(composeOf(m), 'web');
    expect(web).toMatchObject({ image: 'gcr.io/distroless/static-debian12:nonroot', entrypoint: ['/app/server'], command: ['--port', '8080'], working_dir: '/app', pull_policy: 'missing' });
  });

  it('makes the shared volume writable as an emptyDir is, as root with no capability, in the first step image', () => {
    const r = composeOf(stepsApp());
    expect(service(r, 'shop-shared-permissions')).toEqual({
      image: 'alpine:3.20',
      user: '0:0',
      entrypoint: ['chmod', '0777', '/work'],
      volumes: [{ type: 'volume', source: 'shop-shared', target: '/work' }],
      read_only: true,
      cap_drop: ['ALL'],
      security_opt: ['no-new-privileges:true'],
    });
  });
});

describe('compose: volumes', () => {
  it('mounts the shared volume APP-shared at each side\'s path, read-only in the app and sidecars with readOnlyInApp', () => {
    const r = composeOf(stepsApp());
    expect(r.file.volumes).toEqual({ 'shop-shared': {} });
    const shared = (name: string) => service(r, name).volumes!.filter((v) => v.source === 'shop-shared');
    for (const step of ['shop-init-fetch', 'shop-init-render', 'shop-init-check']) expect(shared(step)).toEqual([{ type: 'volume', source: 'shop-shared', target: '/work' }]);
    for (const serving of ['shop-log', 'shop']) expect(shared(serving)).toEqual([{ type: 'volume', source: 'shop-shared', target: '/config', read_only: true }]);
  });

  it('mounts a writable shared volume without read_only', () => {
    expect(service(composeOf(validApp('web')), 'web').volumes).toEqual([{ type: 'volume', source: 'web-shared', target: '/shared' }]);
  });

  it('mounts init volumes as read-only bind mounts of directories to supply, in the steps that name them only', () => {
    const r = composeOf(stepsApp());
    const binds = (name: string) => service(r, name).volumes!.filter((v) => v.type === 'bind');
    expect(binds('shop-init-fetch')).toEqual([{ type: 'bind', source: './configmap/shop-templates', target: '/templates', read_only: true }]);
    expect(binds('shop-init-render')).toEqual([
      { type: 'bind', source: './secret/shop-tls', target: '/keys', read_only: true },
      { type: 'bind', source: './configmap/shop-templates/app.conf', target: '/t/app.conf', read_only: true },
    ]);
    expect(binds('shop-init-check')).toEqual([{ type: 'bind', source: './projected/shop-token', target: '/var/run/vault', read_only: true }]);
    for (const serving of ['shop-log', 'shop']) expect(binds(serving)).toEqual([]);
    expect(notesOf(r, 'services', 'shop-init-fetch')).toContain('./configmap/shop-templates: supply the keys of ConfigMap shop-templates, one file per key');
    expect(notesOf(r, 'services', 'shop-init-render')).toContain('./secret/shop-tls: supply the keys of Secret shop-tls, one file per key, and keep the directory out of version control');
    expect(notesOf(r, 'services', 'shop-init-check')).toContain(
      './projected/shop-token: supply the files of projected volume token: a ServiceAccount token (no Compose equivalent); the keys of ConfigMap vault-ca; Pod fields (downwardAPI, no Compose equivalent).',
    );
  });

  it('says what the shared volume cannot keep of the emptyDir: its lifetime, tmpfs, the size limit', () => {
    const m = validApp('web');
    m.spec.shared = { medium: 'Memory', sizeLimit: '64Mi' };
    const notes = notesOf(composeOf(m), 'volumes', 'web-shared');
    expect(notes).toContain('docker compose down -v removes it');
    expect(notes).toContain('medium Memory is not kept');
    expect(notes).toContain('sizeLimit 64Mi cannot be expressed');
  });
});

describe('compose: users and hardening', () => {
  it('runs each service as the UID:GID of its rendered securityContext, with fsGroup as a supplementary group', () => {
    const m = stepsApp();
    m.spec.app.runAsUser = 70;
    m.spec.app.runAsGroup = 71;
    m.spec.podTemplate = { fsGroup: 70 };
    const r = composeOf(m);
    expect(service(r, 'shop')).toMatchObject({ user: '70:71', group_add: ['70'] });
    expect(service(r, 'shop-init-render')).toMatchObject({ user: '1000:65532', group_add: ['70'] });
    expect(service(r, 'shop-init-fetch')).toMatchObject({ user: '65532:65532' });
  });

  it('sets no user or group with platformAssignsUids: the images\' users run, as on the platform nothing assigns', () => {
    const m = validApp('web');
    m.spec.podTemplate = { platformAssignsUids: true };
    const r = composeOf(m);
    for (const s of ['web-init', 'web']) {
      expect(service(r, s).user).toBeUndefined();
      expect(service(r, s).group_add).toBeUndefined();
    }
  });

  it('drops every capability and new privileges everywhere; the app and sidecars also get a read-only root and restart', () => {
    const r = composeOf(stepsApp());
    for (const s of Object.values(r.file.services)) expect(s).toMatchObject({ cap_drop: ['ALL'], security_opt: ['no-new-privileges:true'] });
    for (const s of ['shop-log', 'shop']) expect(service(r, s)).toMatchObject({ read_only: true, restart: 'unless-stopped', stop_grace_period: '30s' });
    for (const s of ['shop-init-fetch', 'shop-init-render', 'shop-init-check']) {
      expect(service(r, s).read_only).toBeUndefined();
      expect(service(r, s).restart).toBeUndefined();
    }
  });
});

describe('compose: env', () => {
  it("keeps each step's env and envFrom on its own service, never on the app or a sidecar", () => {
    const m = stepsApp();
    m.spec.initSteps = (m.spec.initSteps as Manifest['spec']['init'][]).map((s, i) => (i === 1 ? { ...s, env: [{ name: 'INIT_ONLY', value: 'x' }] } : s));
    const r = composeOf(m);
    expect(service(r, 'shop-init-render').environment).toEqual({ INIT_ONLY: 'x' });
    expect(service(r, 'shop').environment).toEqual({ MODE: 'serve' });
    expect(service(r, 'shop-log').environment).toEqual({ SINK: 'stdout' });
    for (const s of ['shop', 'shop-log']) expect(JSON.stringify(service(r, s))).not.toMatch(/INIT_ONLY|TOKEN|checks|check-creds/);
  });

  it('leaves out env read from the cluster, with a note saying where it would have come from', () => {
    const m = validApp('web');
    m.spec.app.env = [
      { name: 'A', value: '1' },
      { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
      { name: 'LEVEL', valueFrom: { configMapKeyRef: { name: 'settings', key: 'level' } } },
      { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory' } } },
    ];
    const r = composeOf(m);
    expect(service(r, 'web').environment).toEqual({ A: '1' });
    const notes = notesOf(r, 'services', 'web');
    expect(notes).toContain('env PASSWORD is left out: it comes from key password of Secret db, which Compose cannot read');
    expect(notes).toContain('env LEVEL is left out: it comes from key level of ConfigMap settings');
    expect(notes).toContain("env POD is left out: it comes from the Pod's metadata.name");
    expect(notes).toContain("env MEM is left out: it comes from the container's limits.memory");
    expect(notesOf(r, 'services', 'web-init')).not.toContain('PASSWORD');
  });

  it('turns envFrom into env files to supply, optional where the source is', () => {
    const r = composeOf(stepsApp());
    expect(service(r, 'shop-init-check').env_file).toEqual([
      { path: './configmap/checks.env', required: true },
      { path: './secret/check-creds.env', required: false },
    ]);
    const notes = notesOf(r, 'services', 'shop-init-check');
    expect(notes).toContain('./configmap/checks.env: supply the keys of ConfigMap checks as NAME=value lines');
    expect(notes).toContain('envFrom prefix CHECK_ cannot be applied by Compose');
  });

  it('doubles every $ so Compose does not fill it in from its own environment, and notes $(NAME) that Kubernetes would expand', () => {
    const m = validApp('web');
    m.spec.init.command = ['sh', '-c', 'echo "$HOME ${USER}" > /shared/x; echo $(GREETING)'];
    m.spec.init.env = [{ name: 'GREETING', value: 'hi $there' }];
    const r = composeOf(m);
    expect(service(r, 'web-init').entrypoint).toEqual(['sh', '-c', 'echo "$$HOME $${USER}" > /shared/x; echo $$(GREETING)']);
    expect(service(r, 'web-init').environment).toEqual({ GREETING: 'hi $$there' });
    expect(notesOf(r, 'services', 'web-init')).toContain('$(GREETING) is expanded by Kubernetes but passed as written by Compose');
    expect(notesOf(r, 'services', 'web-init')).not.toContain('$(HOME)');
  });
});

describe('compose: ports, probes, resources', () => {
  it('publishes the container ports on the same host ports', () => {
    const m = validApp('web');
    m.spec.app.ports = [{ name: 'http', containerPort: 8080 }, { name: 'dns', containerPort: 53, protocol: 'UDP' }];
    expect(service(composeOf(m), 'web').ports).toEqual(['8080:8080', '53:53/udp']);
    expect(service(composeOf(stepsApp()), 'shop-log').ports).toEqual(['9100:9100']);
  });

  it('makes an exec probe the healthcheck, and says which probes cannot be expressed', () => {
    const m = validApp('web');
    m.spec.app.readinessProbe = { httpGet: { path: '/readyz', port: 'http' } };
    m.spec.app.livenessProbe = { exec: { command: ['/app/server', '--health'] }, timeoutSeconds: 2 };
    m.spec.app.startupProbe = { tcpSocket: { port: 8080 } };
    const r = composeOf(m);
    expect(service(r, 'web').healthcheck).toEqual({ test: ['CMD', '/app/server', '--health'], interval: '10s', timeout: '2s', retries: 3 });
    expect(notesOf(r, 'services', 'web')).toContain('readinessProbe (httpGet), startupProbe (tcpSocket) cannot be expressed: a Compose healthcheck runs a program inside the container');
    expect(service(composeOf(stepsApp()), 'shop-log').healthcheck).toEqual({ test: ['CMD', '/ship', '--check'], interval: '5s', timeout: '1s', retries: 2, start_period: '3s' });
  });

  it('keeps one exec probe when there are several', () => {
    const m = validApp('web');
    m.spec.app.readinessProbe = { exec: { command: ['/app/ready'] } };
    m.spec.app.livenessProbe = { exec: { command: ['/app/live'] } };
    const r = composeOf(m);
    expect(service(r, 'web').healthcheck?.test).toEqual(['CMD', '/app/ready']);
    expect(notesOf(r, 'services', 'web')).toContain('livenessProbe (exec) is left out: Compose has one healthcheck, made of the readinessProbe.');
  });

  it('maps cpu and memory to deploy.resources, and notes other resources', () => {
    const m = validApp('web');
    m.spec.app.resources = { requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: 2, memory: '1G', 'ephemeral-storage': '1Gi' } };
    const r = composeOf(m);
    expect(service(r, 'web').deploy).toEqual({ resources: { limits: { cpus: 2, memory: '1000000000' }, reservations: { cpus: 0.25, memory: '64m' } } });
    expect(notesOf(r, 'services', 'web')).toContain('resource ephemeral-storage cannot be expressed');
    expect(service(r, 'web-init').deploy).toBeUndefined();
  });

  it('converts quantities', () => {
    expect([quantityValue('500m'), quantityValue('128Mi'), quantityValue('1e3'), quantityValue(2), quantityValue('1.5Gi')]).toEqual([0.5, 134217728, 1000, 2, 1610612736]);
    expect([dockerBytes('64Mi'), dockerBytes('2Gi'), dockerBytes('1Ki'), dockerBytes('100M'), dockerBytes('1500')]).toEqual(['64m', '2g', '1k', '100000000', '1500']);
    expect([dockerCpus('50m'), dockerCpus('1'), dockerCpus('0.5')]).toEqual([0.05, 1, 0.5]);
  });
});

describe('compose: several apps', () => {
  it('puts every app in one file, each service and volume prefixed with its app', () => {
    const r = composeOf(validApp('web'), stepsApp());
    expect(Object.keys(r.file.services)).toEqual([
      'web-shared-permissions', 'web-init', 'web',
      'shop-shared-permissions', 'shop-init-fetch', 'shop-init-render', 'shop-init-check', 'shop-log', 'shop',
    ]);
    expect(Object.keys(r.file.volumes)).toEqual(['web-shared', 'shop-shared']);
    expect(r.problems).toEqual([]);
  });

  it('leaves a host port published already for Docker to choose, and says so', () => {
    const r = composeOf(validApp('web'), validApp('api'));
    expect(service(r, 'web').ports).toEqual(['8080:8080']);
    expect(service(r, 'api').ports).toEqual(['8080']);
    expect(notesOf(r, 'services', 'api')).toContain('host port 8080 is published by web already: Docker picks a free one for container port 8080 (docker compose port api 8080)');
  });

  it('refuses names two apps would share', () => {
    const sidecar = validApp('web');
    sidecar.spec.sidecars = [{ name: 'api', image: 'registry.example/proxy:1', command: ['/proxy'] }];
    expect(composeOf(sidecar, validApp('web-api')).problems).toEqual(['service web-api of app web-api is also one of app web: rename one of them']);
    expect(composeOf(validApp('web'), validApp('web')).problems).toEqual(expect.arrayContaining(['volume web-shared of app web is also one of app web: rename one of them']));
  });

  it('notes replicas, a Service and pull secrets, which one Compose file does not do', () => {
    const m = validApp('web');
    m.spec.replicas = 3;
    m.spec.service = {};
    m.spec.podTemplate = { imagePullSecrets: [{ name: 'regcred' }] };
    const notes = notesOf(composeOf(m), 'services', 'web');
    expect(notes).toContain('spec.replicas is 3: this file runs one copy');
    expect(notes).toContain('spec.service: Compose publishes the container ports on the host instead');
    expect(notes).toContain('docker login');
    expect(notesOf(composeOf(validApp('one')), 'services', 'one')).not.toContain('replicas');
  });

  it('notes that a sidecar reaches the app by service name, not localhost', () => {
    expect(notesOf(composeOf(stepsApp()), 'services', 'shop-log')).toContain('reach each other by service name (shop, shop-log)');
  });
});

describe('compose: YAML', () => {
  const rendered = () => {
    const m = stepsApp();
    m.spec.app.env = [{ name: 'FLAG', value: 'on' }, { name: 'MODE', value: '0700' }, { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }];
    m.spec.app.ports = [{ name: 'ssh', containerPort: 22 }];
    return composeOf(m);
  };

  it('reads back as the file, with YAML 1.1 look-alikes quoted', () => {
    const r = rendered();
    const text = composeYaml(r, ['header']);
    expect(parse(text, { version: '1.1' })).toEqual(r.file);
    expect(parse(text)).toEqual(r.file);
    expect(text).toContain('FLAG: "on"');
    expect(text).toContain('MODE: "0700"');
    expect(text).toContain('- "22:22"');
    expect(text).toContain('user: "65532:65532"');
  });

  it('writes the header first and each note as a comment above its service or volume', () => {
    const text = composeYaml(rendered(), ['Rendered by a test.']);
    expect(text.startsWith('# Rendered by a test.\n')).toBe(true);
    expect(text).toMatch(/ {2}# env PASSWORD is left out: it comes from key password of Secret db, .*\n(?: {2}#.*\n)* {2}shop:\n/);
    expect(text).toMatch(/ {2}# The shared volume\..*\n(?: {2}#.*\n)* {2}shop-shared: \{\}\n/);
  });

  it('wraps comments at 100 characters', () => {
    expect(wrap('a '.repeat(120)).every((l) => l.length <= 100)).toBe(true);
    expect(wrap(`${'x'.repeat(120)} y`)).toEqual(['x'.repeat(120), 'y']);
  });
});
