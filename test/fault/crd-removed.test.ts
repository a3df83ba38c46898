import { validApp } from '../fixtures/invalid-apps.js';
import { createNamespace, kubectlOk, testKubeconfig } from '../integration/helpers.js';
import { waitFor } from '../../dev/wait-for.js';
import { startOperator, type OperatorProcess } from '../../dev/operator-process.js';
import { CRD, applyApps, converge, report } from './support.js';

// Scenario 8: the DistrolessApp CRD is deleted under a running operator, which
// deletes every DistrolessApp. The operator must say so clearly, keep running, and
// work again when the CRD comes back and the apps are applied again, old Pods
// (left by the garbage collector until their owner's kind is served again) and all.

let ns: string;
let operator: OperatorProcess;

beforeAll(async () => {
  await kubectlOk(['apply', '--server-side', '-f', CRD]);
  ns = await createNamespace('fault-crd');
  operator = await startOperator({ kubeconfig: testKubeconfig(), args: ['--leader-elect=false', '--namespaces', ns] });
});

afterAll(async () => {
  await operator?.stop();
  await kubectlOk(['apply', '--server-side', '-f', CRD]);
  await kubectlOk(['delete', 'namespace', ns, '--wait=false']);
});

const apps = () => Array.from({ length: 5 }, (_, i) => validApp(`crd-${i}`));
const said = (msg: string) => operator.logs.filter((l) => l.msg === msg);

describe('CRD removed', () => {
  it('is reported once, survived, and recovered from when the CRD comes back', async () => {
    await applyApps(ns, apps());
    await converge(ns, 'the starting point');

    const removedAt = Date.now();
    await kubectlOk(['delete', 'crd', 'distrolessapps.distroless.dev', '--wait=true', '--timeout=120s']);
    const missing = await waitFor(() => said('the API server does not serve this resource (is the CRD installed?); waiting for it')[0], {
      timeoutMs: 60_000,
      what: 'the operator to report the missing CRD',
    });
    expect(missing).toMatchObject({ level: 50, informer: 'distrolessapps' });
    // The apps went with the CRD. Their Pods stay: the garbage collector cannot
    // look up an owner whose kind is no longer served, so it leaves them be until
    // the CRD is back. The operator, with no app left, touches none of them.
    const podsLeft = JSON.parse(await kubectlOk(['get', 'pods', '-n', ns, '-o', 'json'])).items.length;
    // Some retries later it is still there, and still said it only once.
    await new Promise((r) => setTimeout(r, 3000));
    expect(operator.child.exitCode).toBeNull();
    expect(said('the API server does not serve this resource (is the CRD installed?); waiting for it')).toHaveLength(1);

    const restoredAt = Date.now();
    await kubectlOk(['apply', '--server-side', '-f', CRD]);
    await kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', 'crd/distrolessapps.distroless.dev']);
    // The API server may take a moment to serve the new CRD's endpoints.
    await waitFor(() => applyApps(ns, apps()).then(() => true, () => false), { timeoutMs: 60_000, what: 'the apps to be accepted again' });
    const { last } = await converge(ns, 'convergence after the CRD came back', 120_000);
    expect(last).toMatchObject({ apps: 5, duplicated: 0, orphans: 0, missing: 0, unconverged: [] });
    await waitFor(() => said('the resource is served again')[0], { what: 'the operator to say the CRD is back' });
    report('crd-removed', { outageMs: restoredAt - removedAt, podsLeftWhileCrdAbsent: podsLeft, restoredToConvergedMs: Date.now() - restoredAt, operatorExits: 0, missingCrdReports: 1 });
  });
});
