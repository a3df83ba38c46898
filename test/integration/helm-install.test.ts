import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CoreV1Event } from '@kubernetes/client-node';
import { goTestTool } from '../go-test-tool.js';
import { createNamespace, getJson, kubectl, podsGone, run, testKubeconfig } from './helpers.js';
import { podReady, type List, type ServedPod } from './served.js';
import { waitFor } from '../../dev/wait-for.js';

// The chart on this cluster with the real helm: install into a namespace that
// enforces the restricted Pod Security profile, upgrade, uninstall. The operator
// runs for real: its own image from the local registry, on the real node, Ready and
// holding its Lease; then what helm leaves behind. Its own release name, so nothing
// collides with the kustomize installs; the user roles are config/default's.

const chart = new URL('../../charts/distroless-operator', import.meta.url).pathname;
const RELEASE = 'dlo-helm';
const INSTANCE = `app.kubernetes.io/instance=${RELEASE}`;
const dir = mkdtempSync(join(tmpdir(), 'dlo-helm-install-'));
/** The image built here (dev/images), on the real node; everything else the chart's defaults. */
const values = join(dir, 'real-node.yaml');
writeFileSync(
  values,
  JSON.stringify({
    image: { repository: 'localhost:5000/distroless-operator', pullPolicy: 'Always' },
    nodeSelector: { 'distroless.dev/real-node': 'true' },
    tolerations: [{ key: 'distroless.dev/real-node', operator: 'Exists', effect: 'NoSchedule' }],
  }),
);
const env = { ...process.env, KUBECONFIG: testKubeconfig(), HELM_CONFIG_HOME: join(dir, 'config'), HELM_CACHE_HOME: join(dir, 'cache'), HELM_DATA_HOME: join(dir, 'data') };

async function helm(...args: string[]): Promise<string> {
  const r = await run(goTestTool('helm'), args, { env });
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

interface Lease {
  spec: { holderIdentity?: string };
}

interface Deployment {
  spec: { replicas: number; template: { spec: { containers: { args: string[] }[] } } };
}

const operatorPods = async (ns: string) => (await getJson<List<ServedPod>>(['get', 'pods', '-n', ns, '-l', INSTANCE])).items.filter((p) => !p.metadata.deletionTimestamp);

describe('helm install, upgrade and uninstall', () => {
  it('installs under enforce=restricted, upgrades in place, and uninstalls leaving none of its objects', async () => {
    const ns = await createNamespace('helm', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    await helm('install', RELEASE, chart, '--namespace', ns, '--values', values, '--set', 'userRoles.create=false');

    // Created by the ReplicaSet controller, so admitted by PodSecurity under restricted; Ready once its caches synced.
    await waitFor(async () => (await operatorPods(ns)).filter(podReady).length === 2, { timeoutMs: 180_000, what: 'the chart’s two operator Pods Ready' });
    const holder = (await getJson<Lease>(['get', 'lease', 'distroless-operator', '-n', ns])).spec.holderIdentity ?? '';
    expect((await operatorPods(ns)).map((p) => p.metadata.name)).toContain(holder.replace(/_\d+$/, ''));
    const refused = await getJson<List<CoreV1Event>>(['get', 'events', '-n', ns, '--field-selector', 'reason=FailedCreate']);
    expect(refused.items.map((e) => e.message)).toEqual([]);
    const [pod] = await operatorPods(ns);
    expect(pod!.spec.containers[0]!.args).toContain('--leader-elect=true');
    // Its ServiceAccount may do what the operator does, cluster-wide, and nothing with Secrets.
    const sa = `--as=system:serviceaccount:${ns}:${pod!.spec.serviceAccountName}`;
    const can = async (...args: string[]) => (await kubectl(['auth', 'can-i', ...args, sa])).stdout.trim();
    expect(await can('patch', 'distrolessapps.distroless.dev', '-n', 'default', '--subresource=status')).toBe('yes');
    expect(await can('create', 'pods', '-n', 'default')).toBe('yes');
    expect(await can('get', 'secrets', '-n', 'default')).toBe('no');

    await helm('upgrade', RELEASE, chart, '--namespace', ns, '--reuse-values', '--set', 'replicas=1', '--set', 'logLevel=debug');
    const [deployment] = (await getJson<List<Deployment>>(['get', 'deployments', '-n', ns, '-l', INSTANCE])).items;
    expect(deployment!.spec.replicas).toBe(1);
    expect(deployment!.spec.template.spec.containers[0]!.args).toContain('--log-level=debug');
    expect(JSON.parse(await helm('history', RELEASE, '--namespace', ns, '-o', 'json')).map((r: { revision: number }) => r.revision)).toEqual([1, 2]);

    await helm('uninstall', RELEASE, '--namespace', ns, '--wait');
    // helm waits for its objects; the Pods go after them. An operator watching every namespace must not outlive this test.
    await podsGone(ns, INSTANCE, 'the chart’s operator Pods gone');
    const left = await kubectl(['get', 'deployments,services,serviceaccounts,roles,rolebindings', '-n', ns, '-l', INSTANCE, '-o', 'name']);
    expect(left.stdout.trim()).toBe('');
    const clusterWide = await kubectl(['get', 'clusterroles,clusterrolebindings', '-l', INSTANCE, '-o', 'name']);
    expect(clusterWide.stdout.trim()).toBe('');
    // The CRD stays: Helm never deletes what it installed from crds/, so the apps survive an uninstall.
    expect((await kubectl(['get', 'crd', 'distrolessapps.distroless.dev'])).code).toBe(0);
    await kubectl(['delete', 'namespace', ns, '--wait=false']);
  });
});
