import * as yaml from 'js-yaml';
import { validApp } from '../fixtures/invalid-apps.js';
import { argoHealth } from '../gitops/argocd.js';
import { kstatus } from '../gitops/kstatus.js';
import { createNamespace, getJson, kubectlOk, testKubeconfig } from './helpers.js';
import { waitFor } from '../../dev/wait-for.js';
import { startOperator, type OperatorProcess } from '../../dev/operator-process.js';
import { condition, isCurrent, type CurrentApp, type ServedApp } from './served.js';
import { recordWatch } from './watch.js';

// The status the operator writes, as GitOps tools read it: every version of a live
// DistrolessApp through create, rollout, Stalled and back to Ready, judged by
// kstatus itself (Flux, kpt) and by the Argo CD health check in Lua.

const root = new URL('../../', import.meta.url).pathname;
let operator: OperatorProcess;
let ns: string;

beforeAll(async () => {
  await kubectlOk(['apply', '--server-side', '-f', `${root}crds/distroless.dev_distrolessapps.yaml`]);
  ns = await createNamespace('gitops');
  operator = await startOperator({ kubeconfig: testKubeconfig(), args: ['--leader-elect=false', '--namespaces', ns] });
});

afterAll(async () => {
  await operator?.stop();
});

async function waitForApp(predicate: (app: CurrentApp) => boolean, what: string): Promise<CurrentApp> {
  return waitFor(
    async () => {
      const app = await getJson<ServedApp>(['get', '-n', ns, 'dla/web']);
      return isCurrent(app) && predicate(app) ? app : undefined;
    },
    { timeoutMs: 120_000, what },
  );
}

/** Consecutive repeats folded: the story, not every write. */
const story = (items: string[]) => items.filter((s, i) => s !== items[i - 1]);

describe('kstatus and Argo CD on a live DistrolessApp', () => {
  it('read InProgress/Progressing while it rolls, Failed/Degraded when Stalled, Current/Healthy when Ready', async () => {
    const watch = await recordWatch<ServedApp>(`/apis/distroless.dev/v1alpha1/namespaces/${ns}/distrolessapps`);
    const app = validApp('web');
    app.spec.replicas = 2;
    await kubectlOk(['apply', '-n', ns, '-f', '-'], { input: yaml.dump(app) });
    const created = await waitForApp((a) => condition(a, 'Ready')?.status === 'True', 'Ready after create');

    await kubectlOk(['patch', '-n', ns, 'dla/web', '--type=merge', '-p', '{"spec":{"app":{"args":["--v=2"]}}}']);
    const rolled = await waitForApp((a) => condition(a, 'Ready')?.status === 'True' && a.status.templateHash !== created.status.templateHash, 'Ready after rollout');

    const pod = `web-${rolled.status.templateHash}-0`;
    const crashLoop = {
      status: {
        phase: 'Pending',
        conditions: [{ type: 'Ready', status: 'False' }],
        initContainerStatuses: [
          { name: 'init', image: 'alpine:3.20', imageID: '', ready: false, restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, reason: 'Error' } } },
        ],
      },
    };
    await kubectlOk(['patch', 'pod', '-n', ns, pod, '--subresource=status', '--type=merge', '-p', JSON.stringify(crashLoop)]);
    await waitForApp((a) => condition(a, 'Stalled')?.status === 'True', 'Stalled');

    // The way out a human takes: the broken Pod goes, the operator makes a new one.
    await kubectlOk(['delete', 'pod', '-n', ns, pod, '--wait=false']);
    await waitForApp((a) => condition(a, 'Ready')?.status === 'True' && condition(a, 'Stalled')?.status === 'False', 'Ready again');
    watch.stop();

    const versions = watch.events.filter((e) => e.type === 'ADDED' || e.type === 'MODIFIED').map((e) => e.object);
    const kstatusSays = kstatus(versions);
    const argoSays = versions.map(argoHealth);

    // Before the operator's first status write there is nothing to read: kstatus
    // calls an object without status Current, Argo CD's check (ours) Progressing.
    expect(versions[0]!.status).toBeUndefined();
    expect(kstatusSays[0]!.status).toBe('Current');
    expect(argoSays[0]!.status).toBe('Progressing');

    // Once the operator speaks, both tools agree on every version.
    const same = { Current: 'Healthy', InProgress: 'Progressing', Failed: 'Degraded' } as Record<string, string>;
    versions.forEach((v, i) => {
      if (v.status === undefined) return;
      expect(`${v.metadata.resourceVersion}: ${argoSays[i]!.status}`).toBe(`${v.metadata.resourceVersion}: ${same[kstatusSays[i]!.status]}`);
    });

    const told = story(kstatusSays.slice(1).map((k) => k.status));
    expect(told).toEqual(['InProgress', 'Current', 'InProgress', 'Current', 'Failed', 'InProgress', 'Current']);
    const failed = kstatusSays.find((k) => k.status === 'Failed')!;
    expect(failed.message).toContain(`pod ${pod}: init container "init" exited with code 1 (Error)`);
  });
});
