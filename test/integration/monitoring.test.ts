import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { imageInspector, METRICS_PREFIX } from '../../src/cli/run.js';
import { setupDistrolessAppController } from '../../src/controller/setup.js';
import type { Rest } from '../../src/kube/rest.js';
import { clientMetrics } from '../../src/runtime/client-metrics.js';
import { createLogger } from '../../src/runtime/log.js';
import { Manager } from '../../src/runtime/manager.js';
import { createMetricsScope, type MetricsScope } from '../../src/runtime/metrics.js';
import { serveHttp } from '../../src/runtime/server.js';
import { kubectlPath } from '../../dev/controlplane/kubectl.js';
import { goTestTool } from '../go-test-tool.js';

// config/prometheus (ServiceMonitor, PrometheusRule) and config/grafana, checked by
// Prometheus's own promtool (built from Go modules by dev/build-go-test-tool.sh): the
// rules load, and each alert fires when it should and not when it should not
// (test/fixtures/prometheus-rules.test.yaml). Every metric they name is one the
// operator exports, read from the metrics the composition root registers. Needs no cluster.

const root = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'dlo-monitoring-'));
const RULES_FILE = 'distroless-operator.rules.yaml';

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
}
interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleGroup {
  name: string;
  rules: Rule[];
}
interface Panel {
  title: string;
  type: string;
  datasource?: { type: string; uid: string };
  targets?: { expr: string }[];
  panels?: Panel[];
}
interface Dashboard {
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: string }[] };
}

const readYaml = (path: string) => yaml.loadAll(readFileSync(join(root, path), 'utf8')) as Manifest[];
const one = (path: string) => readYaml(path)[0]!;
const ruleGroups = () => one('config/prometheus/rules.yaml').spec.groups as RuleGroup[];
const dashboard = () => JSON.parse(readFileSync(join(root, 'config/grafana/distroless-operator.json'), 'utf8')) as Dashboard;

/** The groups without their alerts' descriptions, which the cases leave out (promtool compares annotations whole). */
const withoutDescriptions = (groups: RuleGroup[]): RuleGroup[] =>
  groups.map((g) => ({ ...g, rules: g.rules.map((rule) => ({ ...rule, annotations: Object.fromEntries(Object.entries(rule.annotations ?? {}).filter(([key]) => key !== 'description')) })) }));

/** The PrometheusRule's groups as the plain rules file Prometheus (and promtool) reads, in DIR/NAME; its path. */
function writeRules(name: string, groups: RuleGroup[]): string {
  const path = join(dir, name);
  writeFileSync(path, yaml.dump({ groups }));
  return path;
}

function promtool(...args: string[]): { code: number | null; out: string } {
  const r = spawnSync(goTestTool('promtool'), args, { encoding: 'utf8', cwd: dir });
  if (r.error) throw r.error;
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/**
 * The metrics the operator's process registers: the composition root's own parts
 * (cli/run.ts) built in a fresh registry, with an API client that is never called.
 */
function operatorMetrics(): MetricsScope {
  const scope = createMetricsScope(METRICS_PREFIX);
  const refuse = () => Promise.reject(new Error('this test has no API server'));
  const rest: Rest = { request: refuse, watch: refuse };
  const client = clientMetrics(scope);
  client.instrument(rest);
  const log = createLogger('silent');
  const manager = new Manager({ log, metrics: scope, metricsAddress: ':0', healthAddress: ':0' });
  const images = imageInspector({ namespaces: [], workers: 1, resync: 60_000, leaderElect: false, leaseNamespace: 'x', leaseName: 'x', metricsAddr: ':0', healthAddr: ':0', logLevel: 'silent', imagePlatform: 'linux/amd64', insecureRegistries: [], registryEndpoints: new Map(), imageTimeout: 30_000 }, scope);
  setupDistrolessAppController(manager, { rest, namespaces: [], workers: 1, resyncMs: 60_000, identity: 'test', log, metrics: scope, clientMetrics: client, images });
  return scope;
}

/** The series names a registry exposes: a histogram's _bucket, _sum and _count, a summary's _sum and _count. */
function seriesNames(scope: MetricsScope): Set<string> {
  const names = new Set<string>();
  for (const metric of scope.registry.getMetricsAsArray()) {
    const suffixes = { histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'] }[String(metric.type)] ?? [''];
    for (const suffix of suffixes) names.add(`${metric.name}${suffix}`);
  }
  return names;
}

/** The prefixed metric names src/ registers, as written: `name: \`${prefix}...\``. */
function registeredInSource(): string[] {
  const names: string[] = [];
  const walk = (path: string) => {
    for (const entry of readdirSync(join(root, path), { withFileTypes: true })) {
      const child = `${path}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (entry.name.endsWith('.ts')) for (const m of readFileSync(join(root, child), 'utf8').matchAll(/name: `\$\{prefix\}(\w+)`/g)) names.push(`${METRICS_PREFIX}${m[1]}`);
    }
  };
  walk('src');
  return names.sort();
}

const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'bool']);

/** The metric names a PromQL expression selects (not its functions, aggregations, labels or keywords). */
function metricNamesOf(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+\S+/g, ' ')
    .replace(/(?<![\w:])\d+(?:\.\d+)?(?:e[+-]?\d+)?/gi, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[a-zA-Z_:][\w:]*/g)) {
    const isCall = stripped.slice(m.index + m[0].length).trimStart().startsWith('(');
    if (!isCall && !PROMQL_KEYWORDS.has(m[0])) names.add(m[0]);
  }
  return [...names].sort();
}

function dashboardExprs(panels: Panel[]): { panel: string; expr: string }[] {
  return panels.flatMap((p) => [...(p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })), ...dashboardExprs(p.panels ?? [])]);
}

describe('the metric names config/prometheus and config/grafana use', () => {
  const exported = seriesNames(operatorMetrics());

  it('the registry built here holds every metric src/ registers, and no other of its own', () => {
    const own = [...operatorMetrics().registry.getMetricsAsArray()].map((m) => m.name).filter((n) => n.startsWith(METRICS_PREFIX));
    expect(own.sort()).toEqual(registeredInSource());
    // What README lists, and the process metrics the dashboard reads.
    for (const name of ['distroless_operator_reconcile_total', 'distroless_operator_reconcile_duration_seconds_bucket', 'distroless_operator_leader', 'distroless_operator_apps', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes']) {
      expect(exported).toContain(name);
    }
  });

  it('reads the names out of PromQL, and only those', () => {
    expect(metricNamesOf('histogram_quantile(0.99, sum by (le) (rate(a_bucket{x="rate(b)"}[$__rate_interval] offset 5m)))')).toEqual(['a_bucket']);
    expect(metricNamesOf('max without (pod) (x{state="stalled"}) > 1e3 or absent(y) unless on (pod) z and bool w')).toEqual(['w', 'x', 'y', 'z']);
  });

  it('every rule selects only exported metrics', () => {
    const rules = ruleGroups().flatMap((g) => g.rules);
    const used = rules.flatMap((r) => metricNamesOf(r.expr).map((name) => ({ rule: r.alert ?? r.record, name })));
    expect(used.filter(({ name }) => !exported.has(name))).toEqual([]);
    expect([...new Set(used.map((u) => u.name))].sort()).toEqual(['distroless_operator_apps', 'distroless_operator_leader', 'distroless_operator_reconcile_errors_total']);
  });

  it('every dashboard panel queries only exported metrics', () => {
    const exprs = dashboardExprs(dashboard().panels);
    const used = exprs.flatMap(({ panel, expr }) => metricNamesOf(expr).map((name) => ({ panel, name })));
    expect(used.filter(({ name }) => !exported.has(name))).toEqual([]);
    const names = new Set(used.map((u) => u.name));
    for (const name of ['apps', 'reconcile_total', 'reconcile_errors_total', 'reconcile_duration_seconds_bucket', 'workqueue_depth', 'api_writes_total', 'leader']) expect(names).toContain(`${METRICS_PREFIX}${name}`);
    expect(names).toContain('process_resident_memory_bytes');
    expect(names).toContain('nodejs_heap_size_used_bytes');
  });

  it('the app states the rules and the dashboard filter on are the ones the apps gauge reports', async () => {
    const apps = (await operatorMetrics().registry.getMetricsAsJSON()).find((m) => m.name === `${METRICS_PREFIX}apps`)!;
    const reported = apps.values.map((v) => v.labels.state).sort();
    expect(reported).toEqual(['ready', 'reconciling', 'stalled']);
    const exprs = [...ruleGroups().flatMap((g) => g.rules.map((r) => r.expr)), ...dashboardExprs(dashboard().panels).map((e) => e.expr)];
    const filtered = exprs.flatMap((e) => [...e.matchAll(/state="(\w+)"/g)].map((m) => m[1]));
    expect(filtered.length).toBeGreaterThan(0);
    for (const state of filtered) expect(reported).toContain(state);
  });
});

describe('config/prometheus, checked by promtool', () => {
  it('the rules load and pass its lint', () => {
    const r = promtool('check', 'rules', '--lint=all', '--lint-fatal', writeRules(RULES_FILE, ruleGroups()));
    expect(r).toEqual({ code: 0, out: expect.stringContaining('SUCCESS: 3 rules found') });
  });

  it('each alert fires when it should and not when it should not (test/fixtures/prometheus-rules.test.yaml)', () => {
    writeRules(RULES_FILE, withoutDescriptions(ruleGroups()));
    copyFileSync(join(root, 'test/fixtures/prometheus-rules.test.yaml'), join(dir, 'rules.test.yaml'));
    const r = promtool('test', 'rules', 'rules.test.yaml');
    expect(r).toEqual({ code: 0, out: expect.stringContaining('SUCCESS') });
  });

  it('the cases tell: a Stalled alert that waited only 8 minutes fails them', () => {
    const groups = ruleGroups();
    const stalled = groups[0]!.rules.find((r) => r.alert === 'DistrolessAppsStalled')!;
    stalled.for = '8m';
    writeRules(RULES_FILE, withoutDescriptions(groups));
    copyFileSync(join(root, 'test/fixtures/prometheus-rules.test.yaml'), join(dir, 'rules.test.yaml'));
    const r = promtool('test', 'rules', 'rules.test.yaml');
    expect(r.code).toBe(1);
    expect(r.out).toContain('alertname: DistrolessAppsStalled, time: 9m');
  });

  it('every alert has a severity, a summary and a description', () => {
    for (const rule of ruleGroups().flatMap((g) => g.rules)) {
      expect({ alert: rule.alert, severity: rule.labels?.severity }).toEqual({ alert: rule.alert, severity: expect.stringMatching(/^(warning|critical)$/) });
      expect(Object.keys(rule.annotations ?? {}).sort()).toEqual(['description', 'summary']);
    }
  });

  it('the operator serves the exported metrics at the path the ServiceMonitor scrapes, in a format promtool accepts', async () => {
    const scope = operatorMetrics();
    const server = await serveHttp('127.0.0.1:0', { healthy: () => true, ready: () => true }, scope.registry);
    try {
      const [endpoint] = one('config/prometheus/monitor.yaml').spec.endpoints as { path: string }[];
      const text = await (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${endpoint!.path}`)).text();
      expect(text).toContain(`# TYPE ${METRICS_PREFIX}reconcile_duration_seconds histogram`);
      const ours = text.split('\n').filter((line) => line.includes(METRICS_PREFIX)).join('\n');
      const r = spawnSync(goTestTool('promtool'), ['check', 'metrics'], { input: `${ours}\n`, encoding: 'utf8' });
      expect({ code: r.status, out: `${r.stdout}${r.stderr}` }).toEqual({ code: 0, out: '' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('config/prometheus wiring', () => {
  const deployment = readYaml('config/manager/manager.yaml').find((m) => m.kind === 'Deployment')!;
  const template = deployment.spec.template as { metadata: { labels: Record<string, string> }; spec: { containers: { name: string; args: string[]; ports: { name: string; containerPort: number }[] }[] } };
  const manager = template.spec.containers.find((c) => c.name === 'manager')!;
  const service = one('config/prometheus/metrics-service.yaml') as Manifest & { spec: { selector: Record<string, string>; ports: { name: string; port: number; targetPort: string | number }[] } };
  const monitor = one('config/prometheus/monitor.yaml') as Manifest & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] } };

  it("the ServiceMonitor's port is the Service's, which targets the manager container's metrics port by name", () => {
    const containerPort = manager.ports.find((p) => p.name === 'metrics')!;
    const metricsAddr = manager.args.find((a) => a.startsWith('--metrics-addr='))!;
    expect(metricsAddr).toBe(`--metrics-addr=:${containerPort.containerPort}`);
    expect(monitor.spec.endpoints.map((e) => [e.port, e.path])).toEqual([['metrics', '/metrics']]);
    expect(service.spec.ports).toEqual([expect.objectContaining({ name: monitor.spec.endpoints[0]!.port, port: containerPort.containerPort, targetPort: containerPort.name })]);
  });

  it("the ServiceMonitor selects the Service, and the Service the manager's Pods (app.kubernetes.io/name)", () => {
    expect(service.metadata.labels).toEqual(expect.objectContaining(monitor.spec.selector.matchLabels));
    expect(monitor.spec.selector.matchLabels['app.kubernetes.io/name']).toBe('distroless-operator');
    expect(template.metadata.labels).toEqual(expect.objectContaining(service.spec.selector));
    expect(service.spec.selector).toEqual({ 'app.kubernetes.io/name': 'distroless-operator' });
  });

  it('kubectl kustomize renders it into the operator’s namespace; config/default leaves it out (opt-in)', () => {
    const r = spawnSync(kubectlPath(), ['kustomize', join(root, 'config/prometheus')], { encoding: 'utf8' });
    expect({ code: r.status, err: r.stderr }).toEqual({ code: 0, err: '' });
    const rendered = (yaml.loadAll(r.stdout) as Manifest[]).map((m) => `${m.kind}/${m.metadata.name} in ${m.metadata.namespace}`);
    expect(rendered.sort()).toEqual(['PrometheusRule/distroless-operator', 'Service/distroless-operator-metrics', 'ServiceMonitor/distroless-operator'].map((k) => `${k} in distroless-operator-system`));
    const defaults = yaml.load(readFileSync(join(root, 'config/default/kustomization.yaml'), 'utf8')) as { resources: string[] };
    expect(defaults.resources).not.toContain('../prometheus');
  });
});
