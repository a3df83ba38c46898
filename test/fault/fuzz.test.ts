import { DISTROLESS_APPS } from '../../src/controller/resources.js';
import { KubeError } from '../../src/kube/rest.js';
import { invalidCases, replacePart, validApp, type Manifest } from '../fixtures/invalid-apps.js';
import { createNamespace, kubectlOk, testKubeconfig } from '../integration/helpers.js';
import { waitFor } from '../../dev/wait-for.js';
import { startOperator, type OperatorProcess } from '../../dev/operator-process.js';
import { condition, type ServedApp } from '../integration/served.js';
import { CRD, adminRest, random, report, world } from './support.js';

// Scenario 6: 1,000 DistrolessApps, random valid and invalid, applied as kubectl
// would (strict field validation) to a namespace that enforces the restricted Pod
// Security profile. Each must be refused at admission with a message naming a
// field, or end Ready, or end Stalled with a reason, as its kind predicts. The
// operator must not crash, and its memory must stay bounded meanwhile.

const COUNT = Number(process.env.DLO_FAULT_FUZZ_APPS ?? 1000);
const SEED = Number(process.env.DLO_FAULT_SEED ?? 20261123);
const RSS_BOUND = 512 * 1024 * 1024;

type Expect = 'Ready' | 'Rejected' | 'InvalidSpec' | 'PodRejected';
interface Fuzzed {
  app: Manifest;
  expect: Expect;
  how: string;
}

let ns: string;
let operator: OperatorProcess;

beforeAll(async () => {
  await kubectlOk(['apply', '--server-side', '-f', CRD]);
  ns = await createNamespace('fault-fuzz', { 'pod-security.kubernetes.io/enforce': 'restricted' });
  operator = await startOperator({ kubeconfig: testKubeconfig(), args: ['--leader-elect=false', '--namespaces', ns, '--workers', '8'] });
});

afterAll(async () => {
  await operator?.stop();
  await kubectlOk(['delete', 'namespace', ns, '--wait=false']);
});

/** Valid changes, any number of which may stack. */
const validMutations: [string, (a: Manifest, r: () => number, i: number) => void][] = [
  ['replicas', (a, r) => (a.spec.replicas = Math.floor(r() * 3))],
  ['env', (a, r) => (a.spec.app.env = Array.from({ length: 1 + Math.floor(r() * 20) }, (_, k) => ({ name: `VAR_${k}`, value: String(r()) })))],
  ['init env from a Secret', (a) => (a.spec.init.env = [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password', optional: true } } }])],
  ['ports', (a, r) => (a.spec.app.ports = [{ name: 'http', containerPort: 1024 + Math.floor(r() * 60000) }, { name: 'metrics', containerPort: 9090 }])],
  ['http probe', (a) => (a.spec.app.readinessProbe = { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 5 })],
  ['tcp probe', (a) => (a.spec.app.livenessProbe = { tcpSocket: { port: 8080 } })],
  ['grpc probe', (a) => (a.spec.app.startupProbe = { grpc: { port: 8080 }, failureThreshold: 30 })],
  ['labels', (a, r) => (a.spec.podTemplate = { ...a.spec.podTemplate, labels: { team: `t${Math.floor(r() * 100)}`, 'example.com/tier': 'web' } })],
  ['unicode annotations', (a) => (a.spec.podTemplate = { ...a.spec.podTemplate, annotations: { 'example.com/owner': 'Zoë 🚀 チーム عربي' } })],
  ['resources', (a) => (a.spec.app.resources = { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } })],
  ['memory volume', (a) => (a.spec.shared = { medium: 'Memory', sizeLimit: '32Mi', readOnlyInApp: true })],
  ['split mount paths', (a) => (a.spec.shared = { initMountPath: '/work', appMountPath: '/config' })],
  ['Recreate', (a) => (a.spec.updateStrategy = 'Recreate')],
  ['debug image (a warning)', (a) => (a.spec.app.image = 'gcr.io/distroless/static-debian12:debug-nonroot')],
  ['UIDs', (a, r) => ((a.spec.app.runAsUser = 1000 + Math.floor(r() * 60000)), (a.spec.init.runAsUser = 70))],
  ['tolerations', (a) => (a.spec.podTemplate = { ...a.spec.podTemplate, tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }] })],
];

/** Garbage no schema admits: wrong types and shapes. */
const garbage: [string, (a: Manifest) => void][] = [
  ['spec is a list', (a) => replacePart(a, 'spec', [1, 2])],
  ['app is a string', (a) => replacePart(a.spec, 'app', 'nginx')],
  ['replicas is an object', (a) => (a.spec.replicas = { n: 1 })],
  ['command is a string', (a) => (a.spec.app.command = '/app/server --flag')],
  ['env is a map', (a) => (a.spec.app.env = { A: 'b' })],
  ['ports are numbers', (a) => (a.spec.app.ports = [8080])],
  ['probe is a boolean', (a) => (a.spec.app.readinessProbe = true)],
  ['huge image name', (a) => (a.spec.app.image = `${'x'.repeat(5000)} bad`)],
];

const withServerCheck = invalidCases.filter((c) => c.server !== undefined);
const operatorOnly = invalidCases.filter((c) => c.server === undefined);

function fuzz(i: number, r: () => number): Fuzzed {
  const app = validApp(`fz-${i}`);
  app.spec.replicas = Math.floor(r() * 3);
  const roll = r();
  if (roll < 0.45) {
    const picked = validMutations.filter(() => r() < 0.25);
    for (const [, mutate] of picked) mutate(app, r, i);
    return { app, expect: 'Ready', how: picked.map(([n]) => n).join(', ') || 'plain' };
  }
  if (roll < 0.75) {
    const c = withServerCheck[Math.floor(r() * withServerCheck.length)]!;
    c.mutate(app);
    // A renamed app must keep a unique name, or two cases would fight over one object.
    if (c.path === 'metadata.name') app.metadata.name = `${app.metadata.name}-${i}`;
    return { app, expect: 'Rejected', how: c.name };
  }
  if (roll < 0.85) {
    const [name, mutate] = garbage[Math.floor(r() * garbage.length)]!;
    mutate(app);
    return { app, expect: 'Rejected', how: name };
  }
  if (roll < 0.93) {
    const c = operatorOnly[Math.floor(r() * operatorOnly.length)]!;
    c.mutate(app);
    return { app, expect: 'InvalidSpec', how: c.name };
  }
  app.spec.replicas = 1;
  // Once a Pod PodSecurity refused (PodRejected); the CRD now refuses the app itself.
  app.spec.podTemplate = { annotations: { 'container.apparmor.security.beta.kubernetes.io/app': 'unconfined' } };
  return { app, expect: 'Rejected', how: 'AppArmor unconfined, refused by the CRD' };
}

describe('fuzzed specs', () => {
  // The memory sampler below loops until told to stop; a failing expect must stop it
  // too, or its timer keeps jest from ever exiting.
  let sampling = false;
  afterEach(() => {
    sampling = false;
  });

  it(`${COUNT} random apps: each refused with a message, Ready, or Stalled with a reason, as predicted`, async () => {
    const r = random(SEED);
    const cases = Array.from({ length: COUNT }, (_, i) => fuzz(i, r));
    const rest = adminRest();
    let peakRss = 0;
    let peakHeap = 0;
    sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peakRss = Math.max(peakRss, await operator.metric('process_resident_memory_bytes').catch(() => 0));
        peakHeap = Math.max(peakHeap, await operator.metric('nodejs_heap_size_used_bytes').catch(() => 0));
        await new Promise((res) => setTimeout(res, 500));
      }
    })();

    const refused = new Map<number, string>();
    for (let i = 0; i < cases.length; i += 16) {
      await Promise.all(
        cases.slice(i, i + 16).map(async (c, k) => {
          try {
            await rest.request('POST', { type: DISTROLESS_APPS, namespace: ns }, { body: c.app, query: { fieldValidation: 'Strict' } });
          } catch (err) {
            if (!(err instanceof KubeError) || err.status === 0) throw err;
            refused.set(i + k, err.message);
          }
        }),
      );
    }

    // Admission: refused exactly the ones predicted, each with a message that names a field.
    const mismatched: string[] = [];
    cases.forEach((c, i) => {
      const wasRefused = refused.has(i);
      if (wasRefused !== (c.expect === 'Rejected')) mismatched.push(`${c.app.metadata.name} (${c.how}): expected ${c.expect}, ${wasRefused ? `refused: ${refused.get(i)}` : 'admitted'}`);
      else if (wasRefused && !/\b(spec|metadata)\b/.test(refused.get(i)!)) mismatched.push(`${c.app.metadata.name} (${c.how}): refused without naming a field: ${refused.get(i)}`);
    });
    expect(mismatched).toEqual([]);

    // The admitted ones settle as predicted: Ready, or Stalled with the predicted reason.
    const admitted = new Map(cases.filter((_, i) => !refused.has(i)).map((c) => [c.app.metadata.name as string, c]));
    const outcome = (app: ServedApp): string | undefined => {
      if (app.status?.observedGeneration !== app.metadata.generation) return undefined;
      if (condition(app, 'Stalled')?.status === 'True') return condition(app, 'Stalled')!.reason;
      if (condition(app, 'Ready')?.status === 'True') return 'Ready';
      return undefined;
    };
    const settled = await waitFor(
      async () => {
        const { apps } = await world(ns);
        return apps.length === admitted.size && apps.every((a) => outcome(a) === admitted.get(a.metadata.name)?.expect) ? apps : undefined;
      },
      { timeoutMs: 600_000, intervalMs: 1000, what: 'every admitted app to settle as predicted' },
    ).catch(async (err: Error) => {
      const { apps } = await world(ns);
      const wrong = apps.filter((a) => outcome(a) !== admitted.get(a.metadata.name)?.expect).slice(0, 10);
      throw new Error(`${err.message}\n${wrong.map((a) => `${a.metadata.name} (${admitted.get(a.metadata.name)?.how}): expected ${admitted.get(a.metadata.name)?.expect}, status ${JSON.stringify(a.status?.conditions)}`).join('\n')}`);
    });
    sampling = false;
    await sampler;

    expect(operator.child.exitCode).toBeNull();
    const crashes = operator.logs.filter((l) => /TypeError|RangeError|ReferenceError|SyntaxError/.test(JSON.stringify(l))).length;
    expect(crashes).toBe(0);
    expect(peakRss).toBeLessThan(RSS_BOUND);
    const counts = (e: Expect) => cases.filter((c) => c.expect === e).length;
    report('fuzzed-specs', {
      seed: SEED,
      apps: COUNT,
      refusedAtAdmission: refused.size,
      ready: counts('Ready'),
      stalledInvalidSpec: counts('InvalidSpec'),
      stalledPodRejected: counts('PodRejected'),
      settledApps: settled.length,
      operatorCrashes: 0,
      operatorPeakRssMiB: Math.round(peakRss / 1024 / 1024),
      operatorPeakHeapUsedMiB: Math.round(peakHeap / 1024 / 1024),
    });
  });
});
