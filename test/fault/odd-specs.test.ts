import { validApp } from '../fixtures/invalid-apps.js';
import { createNamespace, getJson, kubectlOk, testKubeconfig } from '../integration/helpers.js';
import { condition, type ServedApp } from '../integration/served.js';
import { startOperator, type OperatorProcess } from '../../dev/operator-process.js';
import { CRD, applyApps, converge, report, world } from './support.js';

// Scenario 7: big and odd specs that are valid and must simply work: names at the
// length limit, hundreds of env vars, unicode everywhere a string may carry it.

let ns: string;
let operator: OperatorProcess;

beforeAll(async () => {
  await kubectlOk(['apply', '--server-side', '-f', CRD]);
  ns = await createNamespace('fault-odd', { 'pod-security.kubernetes.io/enforce': 'restricted' });
  operator = await startOperator({ kubeconfig: testKubeconfig(), args: ['--leader-elect=false', '--namespaces', ns] });
});

afterAll(async () => {
  await operator?.stop();
  await kubectlOk(['delete', 'namespace', ns, '--wait=false']);
});

describe('big and odd specs', () => {
  it('converge: 63-character names, 500 env vars a container, unicode annotations and values', async () => {
    const longA = `a${'b'.repeat(61)}1`;
    const longB = `a${'b'.repeat(61)}2`;
    const unicode = 'Zoë — 東京 — عربي — 🚀🧪 — \u200d — «ünïcödé»';
    const apps = [
      Object.assign(validApp(longA), {}),
      validApp(longB),
      (() => {
        const app = validApp('many-env');
        app.spec.init.env = Array.from({ length: 500 }, (_, i) => ({ name: `INIT_VAR_${i}`, value: `value ${i} ${unicode}` }));
        app.spec.app.env = Array.from({ length: 500 }, (_, i) => ({ name: `APP_VAR_${i}`, value: 'x'.repeat(200) }));
        return app;
      })(),
      (() => {
        const app = validApp('unicode');
        app.spec.replicas = 2;
        app.spec.podTemplate = {
          labels: { 'example.com/team': `t-${'x'.repeat(58)}` },
          annotations: { 'example.com/description': unicode.repeat(50), 'example.com/emoji': '🚀' },
        };
        app.spec.app.args = [unicode, '--flag=値'];
        return app;
      })(),
    ];
    for (const app of apps.slice(0, 2)) app.spec.replicas = 3;
    await applyApps(ns, apps);
    const { ms, last } = await converge(ns, 'odd specs to converge');
    expect(last).toMatchObject({ apps: 4, duplicated: 0, orphans: 0, missing: 0, unconverged: [] });

    const { pods } = await world(ns);
    const names = pods.map((p) => p.metadata!.name!);
    for (const name of names) expect(name.length).toBeLessThanOrEqual(63);
    // The two long names share 62 characters; their Pods must still differ.
    const ofLong = (app: string) => pods.filter((p) => p.metadata!.labels!['distroless.dev/app'] === app).map((p) => p.metadata!.name!);
    expect(ofLong(longA)).toHaveLength(3);
    expect(ofLong(longB)).toHaveLength(3);
    expect(new Set([...ofLong(longA), ...ofLong(longB)]).size).toBe(6);

    const envPod = pods.find((p) => p.metadata!.labels!['distroless.dev/app'] === 'many-env')!;
    expect(envPod.spec!.initContainers![0]!.env).toHaveLength(500);
    expect(envPod.spec!.containers[0]!.env).toHaveLength(500);
    expect(envPod.spec!.containers[0]!.env!.some((e) => e.name.startsWith('INIT_'))).toBe(false);
    const unicodePod = pods.find((p) => p.metadata!.labels!['distroless.dev/app'] === 'unicode')!;
    expect(unicodePod.metadata!.annotations!['example.com/description']).toBe(unicode.repeat(50));
    expect(unicodePod.spec!.containers[0]!.args).toEqual([unicode, '--flag=値']);
    const table = await kubectlOk(['get', 'dla', '-n', ns]);
    expect(table).toContain(longA);
    report('big-and-odd-specs', { apps: 4, pods: names.length, longestPodName: Math.max(...names.map((n) => n.length)), envVarsPerContainer: 500, convergeMs: ms, refused: 0 });
    const manyEnv = await getJson<ServedApp>(['get', 'dla', '-n', ns, 'many-env']);
    expect(condition(manyEnv, 'Ready')!.status).toBe('True');
  });
});
