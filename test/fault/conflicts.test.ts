import { validApp } from '../fixtures/invalid-apps.js';
import { DISTROLESS_APPS } from '../../src/controller/resources.js';
import type { ResourceRef } from '../../src/kube/resources.js';
import { isConflict } from '../../src/kube/rest.js';
import { createNamespace, kubectlOk, testKubeconfig } from '../integration/helpers.js';
import type { ServedApp } from '../integration/served.js';
import { startOperator, type OperatorProcess } from '../../dev/operator-process.js';
import { CRD, adminRest, applyApps, converge, report, world } from './support.js';

// Scenario 4: another writer races the operator on the same apps, updating their
// labels and their status with resourceVersion preconditions (as any well-behaved
// controller or kubectl edit does), while spec changes make the operator write
// status too. The racer's 409s are retried; at the end its every label update is
// there, and the status is the operator's again, describing the real Pods.

const APPS = 20;
const ROUNDS = 10;
let ns: string;
let operator: OperatorProcess;

beforeAll(async () => {
  await kubectlOk(['apply', '--server-side', '-f', CRD]);
  ns = await createNamespace('fault-conflict');
  operator = await startOperator({ kubeconfig: testKubeconfig(), args: ['--leader-elect=false', '--namespaces', ns] });
});

afterAll(async () => {
  await operator?.stop();
  await kubectlOk(['delete', 'namespace', ns, '--wait=false']);
});

/** Read, change, write with the read resourceVersion; on 409, read again. Returns the 409s met. */
async function updateWithRetry(target: ResourceRef, change: (app: ServedApp) => void): Promise<number> {
  const rest = adminRest();
  for (let conflicts = 0; ; conflicts++) {
    const app = await rest.request<ServedApp>('GET', { ...target, subresource: undefined });
    change(app);
    try {
      await rest.request('PUT', target, { body: app });
      return conflicts;
    } catch (err) {
      if (!isConflict(err) || conflicts > 100) throw err;
    }
  }
}

describe('write conflicts', () => {
  it('the racing writer retries its 409s and loses no update; the operator keeps the status true', async () => {
    const rest = adminRest();
    await applyApps(ns, Array.from({ length: APPS }, (_, i) => validApp(`race-${i}`)));
    await converge(ns, 'the starting point');
    let racerConflicts = 0;
    let racerWrites = 0;
    for (let round = 0; round < ROUNDS; round++) {
      await Promise.all(
        Array.from({ length: APPS }, async (_, i) => {
          const app: ResourceRef = { type: DISTROLESS_APPS, namespace: ns, name: `race-${i}` };
          // A spec change, so the operator writes this app's status meanwhile.
          const spec = rest.request('PATCH', app, { body: { spec: { replicas: 1 + ((round + i) % 3) } }, contentType: 'application/merge-patch+json' });
          const labels = updateWithRetry(app, (app) => (app.metadata.labels = { ...app.metadata.labels, race: String(round) }));
          const status = updateWithRetry({ ...app, subresource: 'status' }, (app) => (app.status = { ...app.status, replicas: 999 }));
          const [, a, b] = await Promise.all([spec, labels, status]);
          racerConflicts += a + b;
          racerWrites += 2;
        }),
      );
    }
    const { ms, last } = await converge(ns, 'convergence after the race');
    expect(last).toMatchObject({ duplicated: 0, orphans: 0, missing: 0, unconverged: [] });
    const { apps, pods } = await world(ns);
    for (const app of apps) {
      expect(`${app.metadata.name}: race=${app.metadata.labels?.race}`).toBe(`${app.metadata.name}: race=${ROUNDS - 1}`);
      const live = pods.filter((p) => p.metadata?.labels?.['distroless.dev/app'] === app.metadata.name).length;
      expect(`${app.metadata.name}: ${app.status!.replicas}`).toBe(`${app.metadata.name}: ${live}`);
    }
    expect(racerConflicts).toBeGreaterThan(0);
    const operatorConflicts = operator.logs.filter((l) => l.msg === 'reconcile failed; will retry' && /409|conflict/i.test(String(l.err))).length;
    report('write-conflicts', { apps: APPS, rounds: ROUNDS, racerWrites, racerConflictsRetried: racerConflicts, operatorConflicts, updatesLost: 0, convergeAfterRaceMs: ms });
  });
});
