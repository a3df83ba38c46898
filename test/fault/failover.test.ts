import { DISTROLESS_APPS } from '../../src/controller/resources.js';
import { validApp } from '../fixtures/invalid-apps.js';
import { SYSTEM_NS, controlPlane, createNamespace, kubectlOk, serviceAccountKubeconfig } from '../integration/helpers.js';
import { waitFor } from '../../dev/wait-for.js';
import { startOperator, type OperatorProcess } from '../../dev/operator-process.js';
import { CRD, adminRest, applyApps, converge, report } from './support.js';

// Scenario 5: two operators under one Lease; the leader is SIGKILLed (no release).
// The follower must take over within the lease duration plus a small margin, and
// the API server's audit log must show no moment when both wrote.

const LEASE_DURATION_MS = 15_000;
const MARGIN_MS = 5_000;
let ns: string;
const operators: OperatorProcess[] = [];

beforeAll(async () => {
  await kubectlOk(['apply', '--server-side', '-f', CRD]);
  ns = await createNamespace('fault-failover');
});

afterAll(async () => {
  await Promise.all(operators.map((o) => o.stop()));
  await kubectlOk(['delete', 'namespace', ns, '--wait=false']);
});

describe('leader failover', () => {
  it('the follower takes over within the lease duration, and the two never write at once', async () => {
    const kubeconfig = await serviceAccountKubeconfig();
    const lease = `failover-${Date.now().toString(36)}`;
    const args = ['--lease-namespace', SYSTEM_NS, '--lease-name', lease, '--namespaces', ns];
    const first = await startOperator({ kubeconfig, args });
    operators.push(first);
    await waitFor(async () => (await first.metric('distroless_operator_leader')) === 1, { what: 'the first operator to lead' });
    const second = await startOperator({ kubeconfig, args });
    operators.push(second);

    await applyApps(ns, Array.from({ length: 30 }, (_, i) => validApp(`fo-${i}`)));
    await converge(ns, 'the starting point');

    // Changes keep coming across the failover, so both have work to do.
    let churning = true;
    const churn = (async () => {
      const rest = adminRest();
      for (let n = 0; churning; n++) {
        await rest.request('PATCH', { type: DISTROLESS_APPS, namespace: ns, name: `fo-${n % 30}` }, {
          body: { spec: { replicas: 1 + (n % 3) } },
          contentType: 'application/merge-patch+json',
        });
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    await new Promise((r) => setTimeout(r, 2000));
    const killedAt = Date.now();
    expect(await first.stop('SIGKILL')).toBeNull();
    await waitFor(async () => (await second.metric('distroless_operator_leader')) === 1, {
      timeoutMs: LEASE_DURATION_MS + MARGIN_MS,
      intervalMs: 50,
      what: 'the follower to take over within the lease duration plus the margin',
    });
    const takeoverMs = Date.now() - killedAt;
    await new Promise((r) => setTimeout(r, 3000));
    churning = false;
    await churn;
    const { last } = await converge(ns, 'convergence under the new leader');
    expect(last).toMatchObject({ duplicated: 0, orphans: 0, missing: 0, unconverged: [] });

    // Every write of either process, as the API server recorded it.
    const writes = controlPlane().operatorWrites();
    const by = (op: OperatorProcess) => writes.filter((e) => e.userAgent?.startsWith(`distroless-operator/${op.identity}`)).map((e) => Date.parse(e.requestReceivedTimestamp));
    const [a, b] = [by(first), by(second)];
    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBeGreaterThan(0);
    // Each wrote only while it led: every write of the first precedes every write of the second.
    expect(Math.max(...a)).toBeLessThan(Math.min(...b));
    report('leader-failover', { leaseDurationMs: LEASE_DURATION_MS, takeoverMs, writesByFirst: a.length, writesBySecond: b.length, overlappingWrites: 0, gapBetweenWritersMs: Math.min(...b) - Math.max(...a) });
  });
});
