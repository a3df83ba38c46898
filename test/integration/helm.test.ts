import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Container, V1Deployment, V1Pod, V1PolicyRule } from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import { packageVersion } from '../../dev/bundle.js';
import { kubectlPath } from '../../dev/controlplane/kubectl.js';
import { restrictedViolations } from '../fixtures/restricted.js';
import { goTestTool } from '../go-test-tool.js';

// charts/distroless-operator, kept in step with config/ by this test rather than by hand:
// `helm lint --strict`, and `helm template` (helm built from Go modules by
// dev/build-go-test-tool.sh) compared with `kubectl kustomize config/default` (and
// config/prometheus, config/network-policy when the chart turns those on). Needs no
// cluster: both render offline. helm-install.test.ts installs it on the test cluster.

const root = new URL('../../', import.meta.url).pathname;
const chart = join(root, 'charts/distroless-operator');
const RELEASE = 'distroless-operator';
const NS = 'distroless-operator-system';
const SHARD_LEASE_MESSAGE = 'leaseName is required when selector is set: each shard needs a Lease of its own (--lease-name)';
const dir = mkdtempSync(join(tmpdir(), 'dlo-helm-'));
// helm keeps its config, cache and data under these; nothing is read from or written to $HOME.
const helmEnv = { ...process.env, HELM_CONFIG_HOME: join(dir, 'config'), HELM_CACHE_HOME: join(dir, 'cache'), HELM_DATA_HOME: join(dir, 'data') };

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  rules?: V1PolicyRule[];
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
}

function run(command: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(command, args, { encoding: 'utf8', env: helmEnv, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const helm = (...args: string[]) => run(goTestTool('helm'), args);
const parse = (text: string) => (yaml.loadAll(text) as (Manifest | null)[]).filter((m): m is Manifest => m !== null);

/** `helm template` of the chart as release distroless-operator in distroless-operator-system, with ARGS (--set, -f). */
function template(...args: string[]): Manifest[] {
  const r = helm('template', RELEASE, chart, '--namespace', NS, ...args);
  if (r.code !== 0) throw new Error(`helm template ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return parse(r.stdout);
}

function kustomize(base: string): Manifest[] {
  const r = run(kubectlPath(), ['kustomize', join(root, base)]);
  if (r.code !== 0) throw new Error(`kubectl kustomize ${base} failed (${r.code}): ${r.stderr}`);
  return parse(r.stdout);
}

function find(manifests: Manifest[], kind: string, name?: string, namespace?: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name) && (namespace === undefined || m.metadata.namespace === namespace));
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name ?? ''} ${namespace ?? ''}, found ${found.length}`);
  return found[0]!;
}

const deploymentOf = (manifests: Manifest[]) => find(manifests, 'Deployment') as unknown as V1Deployment;
const managerOf = (manifests: Manifest[]): V1Container => deploymentOf(manifests).spec!.template.spec!.containers.find((c) => c.name === 'manager')!;
const argsOf = (manifests: Manifest[]) => managerOf(manifests).args ?? [];
const withoutHelmLabels = (labels: Record<string, string> = {}) => Object.fromEntries(Object.entries(labels).filter(([key]) => key.startsWith('rbac.authorization.k8s.io/')));

function valuesFile(name: string, values: object): string {
  const path = join(dir, name);
  writeFileSync(path, yaml.dump(values));
  return path;
}

let kustomized: Manifest[];
let rendered: Manifest[];
beforeAll(() => {
  kustomized = kustomize('config/default');
  rendered = template();
});

describe('helm lint', () => {
  it.each([
    ['default values', []],
    ['namespace-scoped, sharded, monitored, with a network policy', ['--set', 'watchNamespaces={a,b}', '--set', 'selector=shard=a', '--set', 'leaseName=shard-a', '--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.prometheusRule.enabled=true', '--set', 'networkPolicy.enabled=true']],
  ])('passes --strict with %s', (_what, args) => {
    const r = helm('lint', '--strict', chart, ...args);
    expect(r.stdout + r.stderr).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(r.code).toBe(0);
  });
});

describe('the chart and config/default', () => {
  it('has the version of package.json as its version and appVersion, and the image tag follows the appVersion', () => {
    const version = packageVersion();
    const meta = yaml.load(readFileSync(join(chart, 'Chart.yaml'), 'utf8')) as { apiVersion: string; version: string; appVersion: string };
    expect(meta).toMatchObject({ apiVersion: 'v2', version, appVersion: version });
    expect(managerOf(rendered).image).toBe(managerOf(kustomized).image);
    expect(managerOf(rendered).image).toMatch(new RegExp(`:${version.replaceAll('.', '\\.')}$`));
  });

  it('carries the CRD byte for byte in crds/ (installed once, not templated)', () => {
    expect(readFileSync(join(chart, 'crds/distroless.dev_distrolessapps.yaml'), 'utf8')).toBe(readFileSync(join(root, 'crds/distroless.dev_distrolessapps.yaml'), 'utf8'));
    expect(rendered.filter((m) => m.kind === 'CustomResourceDefinition')).toEqual([]);
    const withCrds = template('--include-crds');
    expect(find(withCrds, 'CustomResourceDefinition')).toEqual(find(kustomized, 'CustomResourceDefinition'));
  });

  it('renders the kinds config/default applies, but the Namespace (the release namespace), plus the metrics Service; namespaced ones in the release namespace', () => {
    const kinds = (manifests: Manifest[]) => manifests.map((m) => m.kind).sort();
    const expected = kinds(kustomized.filter((m) => !['Namespace', 'CustomResourceDefinition'].includes(m.kind)).concat([{ kind: 'Service' } as Manifest])).sort();
    expect(kinds(rendered)).toEqual(expected);
    for (const m of rendered.filter((m) => !m.kind.startsWith('Cluster'))) expect([m.kind, m.metadata.namespace]).toEqual([m.kind, NS]);
  });

  it('grants the operator exactly config/rbac/role.yaml\'s rules through a ClusterRole bound to its ServiceAccount', () => {
    const clusterRole = find(rendered, 'ClusterRole', RELEASE);
    expect(clusterRole.rules).toEqual(find(kustomized, 'ClusterRole', 'distroless-operator').rules);
    const sa = find(rendered, 'ServiceAccount');
    expect(sa.metadata).toMatchObject({ name: RELEASE, namespace: NS });
    const binding = find(rendered, 'ClusterRoleBinding');
    expect(binding.roleRef).toMatchObject({ kind: 'ClusterRole', name: clusterRole.metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: NS }]);
    expect(deploymentOf(rendered).spec!.template.spec!.serviceAccountName).toBe(sa.metadata.name);
  });

  it('grants the leader election Lease in the release namespace only, as config/rbac does', () => {
    const role = find(rendered, 'Role', `${RELEASE}-leader-election`, NS);
    expect(role.rules).toEqual(find(kustomized, 'Role', 'distroless-operator-leader-election').rules);
    expect(find(rendered, 'RoleBinding', role.metadata.name, NS)).toMatchObject({
      roleRef: { kind: 'Role', name: role.metadata.name },
      subjects: [{ kind: 'ServiceAccount', name: RELEASE, namespace: NS }],
    });
  });

  it.each(['distrolessapp-viewer', 'distrolessapp-editor'])('has the aggregated user role %s with config/rbac\'s rules and aggregation labels', (name) => {
    const ours = find(rendered, 'ClusterRole', name);
    const theirs = find(kustomized, 'ClusterRole', name);
    expect(ours.rules).toEqual(theirs.rules);
    expect(withoutHelmLabels(ours.metadata.labels)).toEqual(withoutHelmLabels(theirs.metadata.labels));
    expect(Object.keys(withoutHelmLabels(ours.metadata.labels))).not.toEqual([]);
  });

  it('runs the manager as config/manager does: pod and container securityContext, probes, ports, env, args, resources, replicas', () => {
    const [ours, theirs] = [deploymentOf(rendered).spec!, deploymentOf(kustomized).spec!];
    expect(ours.replicas).toBe(theirs.replicas);
    expect(ours.template.spec!.securityContext).toEqual(theirs.template.spec!.securityContext);
    expect(ours.template.spec!.terminationGracePeriodSeconds).toBe(theirs.template.spec!.terminationGracePeriodSeconds);
    const [manager, expected] = [managerOf(rendered), managerOf(kustomized)];
    for (const field of ['securityContext', 'livenessProbe', 'readinessProbe', 'ports', 'args', 'resources'] as const) expect([field, manager[field]]).toEqual([field, expected[field]]);
    expect(manager.env?.map((e) => e.name)).toEqual(expected.env?.map((e) => e.name));
    expect(manager.env).toEqual(expected.env);
    expect(ours.selector.matchLabels).toMatchObject({ 'app.kubernetes.io/name': 'distroless-operator' });
    expect(ours.template.metadata!.labels).toMatchObject(ours.selector.matchLabels!);
  });

  it('labels every object with the app.kubernetes.io labels and helm.sh/chart', () => {
    for (const m of rendered) {
      expect([m.kind, m.metadata.name, m.metadata.labels]).toEqual([
        m.kind,
        m.metadata.name,
        expect.objectContaining({ 'app.kubernetes.io/name': 'distroless-operator', 'app.kubernetes.io/instance': RELEASE, 'app.kubernetes.io/managed-by': 'Helm', 'helm.sh/chart': 'distroless-operator-0.1.0' }),
      ]);
    }
  });
});

describe('values', () => {
  it('watchNamespaces=[a,b]: a Role with the operator\'s rules in a and in b, no ClusterRole or ClusterRoleBinding for them, and --namespaces=a,b', () => {
    const manifests = template('--set', 'watchNamespaces={a,b}');
    const rules = find(kustomized, 'ClusterRole', 'distroless-operator').rules;
    for (const ns of ['a', 'b']) {
      expect(find(manifests, 'Role', RELEASE, ns).rules).toEqual(rules);
      expect(find(manifests, 'RoleBinding', RELEASE, ns)).toMatchObject({
        roleRef: { kind: 'Role', name: RELEASE },
        subjects: [{ kind: 'ServiceAccount', name: RELEASE, namespace: NS }],
      });
    }
    expect(manifests.filter((m) => m.kind === 'ClusterRoleBinding')).toEqual([]);
    // The only ClusterRoles left are the user roles, which grant the operator nothing.
    expect(manifests.filter((m) => m.kind === 'ClusterRole').map((m) => m.metadata.name).sort()).toEqual(['distrolessapp-editor', 'distrolessapp-viewer']);
    expect(find(manifests, 'Role', `${RELEASE}-leader-election`, NS).rules).toEqual(find(kustomized, 'Role', 'distroless-operator-leader-election').rules);
    expect(argsOf(manifests)).toEqual([...argsOf(kustomized), '--namespaces=a,b']);
  });

  it('selector: a shard renders --selector and --lease-name', () => {
    const values = valuesFile('shard.yaml', { selector: 'shard in (a, b),tier=web', leaseName: 'distroless-operator-shard-a' });
    expect(argsOf(template('-f', values))).toEqual([...argsOf(kustomized), '--selector=shard in (a, b),tier=web', '--lease-name=distroless-operator-shard-a']);
  });

  it.each([
    ['selector without leaseName', ['--set-string', 'selector=shard=a'], SHARD_LEASE_MESSAGE],
    ['leader election off with 2 replicas', ['--set', 'leaderElection.enabled=false'], 'leaderElection.enabled=false needs replicas: 1: without the Lease every replica reconciles and writes'],
  ])('%s fails to render, saying why', (_what, args, message) => {
    const r = helm('template', RELEASE, chart, '--namespace', NS, ...args);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(message);
  });

  it('logLevel, workers, leaderElection, replicas, image, imagePullSecrets and scheduling reach the Deployment', () => {
    const values = valuesFile('tuned.yaml', {
      logLevel: 'debug',
      workers: 8,
      leaderElection: { enabled: false },
      replicas: 1,
      image: { repository: 'registry.example/dlo', tag: 'dev', pullPolicy: 'Always' },
      imagePullSecrets: [{ name: 'pull' }],
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }],
      podAnnotations: { 'example.com/a': 'b' },
    });
    const manifests = template('-f', values);
    const spec = deploymentOf(manifests).spec!;
    expect(argsOf(manifests)).toEqual(['run', '--leader-elect=false', '--metrics-addr=:8080', '--health-addr=:8081', '--log-level=debug', '--workers=8']);
    expect(spec.replicas).toBe(1);
    expect(managerOf(manifests)).toMatchObject({ image: 'registry.example/dlo:dev', imagePullPolicy: 'Always' });
    expect(spec.template.spec).toMatchObject({ imagePullSecrets: [{ name: 'pull' }], nodeSelector: { 'kubernetes.io/os': 'linux' }, tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }] });
    expect(spec.template.metadata!.annotations).toEqual({ 'example.com/a': 'b' });
    // No leader election, no Lease to grant.
    expect(manifests.filter((m) => m.metadata.name.endsWith('-leader-election'))).toEqual([]);
  });

  it('values.schema.json refuses values the operator would refuse', () => {
    for (const bad of [['workers=100'], ['logLevel=loud'], ['watchNamespaces={Not_A_Namespace}'], ['replica=2']]) {
      const r = helm('template', RELEASE, chart, '--set', bad[0]!);
      expect([bad[0], r.code]).toEqual([bad[0], 1]);
      expect(r.stderr).toMatch(/schema/i);
    }
  });
});

describe('monitoring and the network policy', () => {
  let prometheus: Manifest[];
  let monitored: Manifest[];
  beforeAll(() => {
    prometheus = kustomize('config/prometheus');
    monitored = template('--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.prometheusRule.enabled=true', '--set', 'metrics.serviceMonitor.labels.release=kube-prometheus-stack');
  });

  it('renders no ServiceMonitor, PrometheusRule or NetworkPolicy by default', () => {
    expect(rendered.filter((m) => ['ServiceMonitor', 'PrometheusRule', 'NetworkPolicy'].includes(m.kind))).toEqual([]);
  });

  it('metrics.prometheusRule.enabled renders config/prometheus\'s alerts as they are', () => {
    expect(find(monitored, 'PrometheusRule').spec).toEqual(find(prometheus, 'PrometheusRule').spec);
  });

  it('metrics.serviceMonitor.enabled scrapes the metrics Service, which fronts the manager\'s metrics port on every replica', () => {
    const monitor = find(monitored, 'ServiceMonitor');
    const service = find(monitored, 'Service');
    expect(monitor.spec!.endpoints).toEqual(find(prometheus, 'ServiceMonitor').spec!.endpoints);
    expect(monitor.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack' });
    expect(service.metadata.labels).toMatchObject((monitor.spec!.selector as { matchLabels: Record<string, string> }).matchLabels);
    const theirs = find(prometheus, 'Service').spec!;
    expect(service.spec!.ports).toEqual(theirs.ports);
    expect(service.spec!.type).toBe(theirs.type);
    expect(deploymentOf(monitored).spec!.template.metadata!.labels).toMatchObject(service.spec!.selector as Record<string, string>);
  });

  it('networkPolicy.enabled renders config/network-policy\'s policy for the release\'s Pods', () => {
    const ours = find(template('--set', 'networkPolicy.enabled=true'), 'NetworkPolicy');
    const theirs = find(kustomize('config/network-policy'), 'NetworkPolicy');
    expect(ours.metadata.namespace).toBe(NS);
    expect({ ...ours.spec, podSelector: undefined }).toEqual({ ...theirs.spec, podSelector: undefined });
    const podLabels = deploymentOf(rendered).spec!.template.metadata!.labels!;
    expect(podLabels).toMatchObject((ours.spec!.podSelector as { matchLabels: Record<string, string> }).matchLabels);
  });
});

describe('restricted Pod Security', () => {
  it.each([
    ['default values', []],
    ['namespace-scoped and sharded', ['--set', 'watchNamespaces={a}', '--set-string', 'selector=shard=a', '--set', 'leaseName=shard-a']],
    ['tuned', ['--set', 'logLevel=debug', '--set', 'workers=2', '--set', 'leaderElection.enabled=false', '--set', 'replicas=1']],
  ])('every Pod rendered with %s meets the restricted profile', (_what, args) => {
    const deployments = template(...args).filter((m) => m.kind === 'Deployment') as unknown as V1Deployment[];
    expect(deployments).toHaveLength(1);
    for (const d of deployments) {
      const pod: V1Pod = { metadata: d.spec!.template.metadata, spec: d.spec!.template.spec };
      expect(restrictedViolations(pod)).toEqual([]);
      expect(pod.spec!.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      for (const c of pod.spec!.containers) expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    }
  });
});
