import { validApp, type Manifest } from '../fixtures/invalid-apps.js';
import { controlPlane, createNamespace, kubectlOk, testKubeconfig } from '../integration/helpers.js';
import { waitFor } from '../../dev/wait-for.js';
import { startOperator, type OperatorProcess } from '../../dev/operator-process.js';
import { CRD, applyApps, converge, report } from './support.js';

// Scenarios 2 and 3: the control plane fails under the operator.
//  2. etcd, then kube-apiserver, are killed and restarted while apps converge.
//  3. A watch cannot resume: the operator is frozen while apps change, etcd is
//     compacted past what it saw and the API server restarted, so its watch gets
//     410 Gone; it must relist and lose no change.

let ns: string;
let operator: OperatorProcess;

const apps = (n: number, change: (app: Manifest, i: number) => void = () => {}): Manifest[] =>
  Array.from({ length: n }, (_, i) => {
    const app = validApp(`cp-${i}`);
    change(app, i);
    return app;
  });

beforeAll(async () => {
  await kubectlOk(['apply', '--server-side', '-f', CRD]);
  ns = await createNamespace('fault-cp');
  operator = await startOperator({ kubeconfig: testKubeconfig(), args: ['--leader-elect=false', '--namespaces', ns] });
});

afterAll(async () => {
  await operator?.stop();
  await kubectlOk(['delete', 'namespace', ns, '--wait=false']);
});

/** A call of etcd's JSON gateway, whose answer is read as T. */
async function etcd<T>(path: string, body: unknown): Promise<T> {
  const r = await fetch(`${controlPlane().state.etcdUrl}${path}`, { method: 'POST', body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`etcd ${path}: HTTP ${r.status}: ${await r.text()}`);
  return (await r.json()) as T;
}

describe('control plane faults', () => {
  it('etcd and kube-apiserver killed mid-convergence: the operator rides it out and converges', async () => {
    const plane = controlPlane();
    await applyApps(ns, apps(100));
    await waitFor(async () => operator.logs.some((l) => l.msg === 'created pod'), { what: 'the operator to start creating' });
    const faults: Record<string, number> = {};
    let t = Date.now();
    await plane.restart('etcd', { downMs: 2000 });
    faults.etcdOutageMs = Date.now() - t;
    // A change made between the two faults.
    await applyApps(ns, apps(100, (a, i) => (a.spec.replicas = i % 3)));
    t = Date.now();
    await plane.restart('kube-apiserver', { downMs: 2000 });
    faults.apiserverOutageMs = Date.now() - t;
    const { last } = await converge(ns, 'convergence after etcd and kube-apiserver restarts');
    const ms = Date.now() - t;
    expect(last).toMatchObject({ duplicated: 0, orphans: 0, missing: 0, unconverged: [] });
    expect(operator.child.exitCode).toBeNull();
    report('control-plane-restarts', { apps: 100, faults: 2, ...faults, podsDuplicated: last.duplicated, orphans: last.orphans, podsLost: last.missing, killToConvergedMs: ms });
  });

  it('a watch that cannot resume (410 Gone after compaction) relists and loses no change', async () => {
    await applyApps(ns, apps(100, (a) => (a.spec.replicas = 1)));
    await converge(ns, 'the starting point');
    const listsBefore = await operator.metric('distroless_operator_informer_lists_total');

    operator.child.kill('SIGSTOP');
    const frozen = Date.now();
    try {
      // Changes the frozen operator never sees as watch events: 20 apps go, 20
      // come, 30 scale to 2 and 30 roll out.
      await kubectlOk(['delete', 'dla', '-n', ns, ...Array.from({ length: 20 }, (_, i) => `cp-${i}`), '--wait=false']);
      await applyApps(
        ns,
        apps(120, (a, i) => {
          if (i >= 20 && i < 50) a.spec.replicas = 2;
          if (i >= 50 && i < 80) a.spec.app.args = ['--after-compaction'];
        }).slice(20),
      );
      // etcd's current revision; the gateway writes 64-bit numbers as strings.
      const { header } = await etcd<{ header: { revision: string } }>('/v3/kv/range', { key: Buffer.from('/').toString('base64') });
      await etcd('/v3/kv/compaction', { revision: header.revision, physical: true });
      // A fresh API server: its watch cache starts after the compaction, and the
      // operator's connections are gone, so it must resume from a version that is gone.
      await controlPlane().restart('kube-apiserver');
    } finally {
      operator.child.kill('SIGCONT');
    }
    const thawed = Date.now();
    const { ms, last } = await converge(ns, 'convergence after the 410');
    expect(last).toMatchObject({ apps: 100, duplicated: 0, orphans: 0, missing: 0, unconverged: [] });
    const relists = (await operator.metric('distroless_operator_informer_lists_total')) - listsBefore;
    expect(relists).toBeGreaterThanOrEqual(2);
    report('watch-expiry', { changesWhileCutOff: 100, cutOffMs: thawed - frozen, relists, changesLost: last.missing + last.unconverged.length, resumeToConvergedMs: ms });
  });
});
