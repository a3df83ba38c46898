import { join } from 'node:path';
import type { CoreV1Event } from '@kubernetes/client-node';
import { createNamespace, getJson, kubectl, kubectlOk, run, testKubeconfig } from './helpers.js';
import type { List, ServedApp, ServedPod } from './served.js';
import { waitFor } from '../../dev/wait-for.js';

// What a platform team runs: the kustomize bases applied with the real kubectl, and
// README's main-job command against this cluster.

const root = new URL('../../', import.meta.url).pathname;
const SYSTEM_NS = 'distroless-operator-system';

/** A Namespace as these tests create it: labelled with its Pod Security level. */
interface LabelledNamespace {
  metadata: { name: string; labels: Record<string, string> };
}

describe('config/ kustomize bases', () => {
  it('config/default installs the CRD, RBAC and the manager, whose Pods are admitted under enforce=restricted', async () => {
    const r = await kubectl(['apply', '-k', join(root, 'config/default')]);
    expect(r.stderr).not.toMatch(/violate|forbidden|error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('deployment.apps/distroless-operator');
    const ns = await getJson<LabelledNamespace>(['get', 'namespace', SYSTEM_NS]);
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    // Created by the ReplicaSet controller, so admitted by PodSecurity in a namespace that enforces restricted.
    const pods = await waitFor(
      async () => {
        const list = (await getJson<List<ServedPod>>(['get', 'pods', '-n', SYSTEM_NS, '-l', 'app.kubernetes.io/name=distroless-operator'])).items;
        return list.length === 2 && list.every((p) => p.status.phase === 'Running') ? list : undefined;
      },
      { timeoutMs: 120_000, what: 'the manager Pods to run' },
    );
    const spec = pods[0]!.spec;
    expect(spec.serviceAccountName).toBe('distroless-operator');
    expect(spec.containers[0]!.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(spec.containers[0]!.args).toContain('--leader-elect=true');
    const events = await getJson<List<CoreV1Event>>(['get', 'events', '-n', SYSTEM_NS, '--field-selector', 'reason=FailedCreate']);
    expect(events.items).toEqual([]);
  });

  it('config/default gives the built-in edit role DistrolessApps to write and view DistrolessApps to read (aggregated roles)', async () => {
    await kubectlOk(['apply', '-k', join(root, 'config/default')]);
    const ns = await createNamespace('rbac-users');
    await kubectlOk(['create', 'rolebinding', 'editor', '--clusterrole=edit', `--serviceaccount=${ns}:editor`, '-n', ns]);
    await kubectlOk(['create', 'rolebinding', 'viewer', '--clusterrole=view', `--serviceaccount=${ns}:viewer`, '-n', ns]);
    const can = async (who: string, verb: string): Promise<string> =>
      (await kubectl(['auth', 'can-i', verb, 'distrolessapps.distroless.dev', '-n', ns, `--as=system:serviceaccount:${ns}:${who}`])).stdout.trim();
    // kube-controller-manager's aggregation controller fills edit and view in shortly after the roles appear.
    await waitFor(async () => (await can('editor', 'create')) === 'yes' && (await can('viewer', 'list')) === 'yes', { timeoutMs: 60_000, what: 'the aggregated roles' });
    expect(await can('editor', 'delete')).toBe('yes');
    expect(await can('viewer', 'create')).toBe('no');
    expect(await can('viewer', 'delete')).toBe('no');
  });

  it('config/network-policy applies: the opt-in policy that lets only metrics: enabled namespaces reach /metrics', async () => {
    const out = await kubectlOk(['apply', '--dry-run=server', '-k', join(root, 'config/network-policy')]);
    expect(out).toContain('networkpolicy.networking.k8s.io/distroless-operator-allow-metrics');
  });

  it('config/namespaced runs the operator with a Role in its own namespace only', async () => {
    await kubectlOk(['apply', '--server-side', '-f', join(root, 'crds/distroless.dev_distrolessapps.yaml')]);
    await kubectlOk(['apply', '-k', join(root, 'config/namespaced')]);
    const sa = 'system:serviceaccount:distroless-apps:distroless-operator';
    const can = async (verb: string, resource: string, namespace: string, ...more: string[]): Promise<string> =>
      (await kubectl(['auth', 'can-i', verb, resource, '-n', namespace, `--as=${sa}`, ...more])).stdout.trim();
    expect(await can('create', 'pods', 'distroless-apps')).toBe('yes');
    expect(await can('patch', 'distrolessapps.distroless.dev', 'distroless-apps', '--subresource=status')).toBe('yes');
    expect(await can('update', 'leases.coordination.k8s.io', 'distroless-apps')).toBe('yes');
    expect(await can('create', 'pods', 'default')).toBe('no');
    expect(await can('list', 'distrolessapps.distroless.dev', 'default')).toBe('no');
    expect(await can('get', 'secrets', 'distroless-apps')).toBe('no');
    // Services and PodDisruptionBudgets are server-side applied: create and patch, never update.
    expect(await can('patch', 'services', 'distroless-apps')).toBe('yes');
    expect(await can('create', 'poddisruptionbudgets.policy', 'distroless-apps')).toBe('yes');
    expect(await can('delete', 'poddisruptionbudgets.policy', 'distroless-apps')).toBe('yes');
    expect(await can('update', 'services', 'distroless-apps')).toBe('no');
    expect(await can('patch', 'distrolessapps.distroless.dev', 'distroless-apps', '--subresource=scale')).toBe('no');
    const deployment = await getJson<{ spec: { template: { spec: { containers: { args: string[] }[] } } } }>(['get', 'deployment', 'distroless-operator', '-n', 'distroless-apps', '-o', 'json']);
    expect(deployment.spec.template.spec.containers[0]!.args).toContain('--namespaces=$(POD_NAMESPACE)');
    await kubectl(['delete', 'namespace', 'distroless-apps', '--wait=false']);
  });

  it('config/samples applies every example', async () => {
    const ns = await createNamespace('samples', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    await kubectlOk(['apply', '-n', ns, '-k', join(root, 'config/samples')]);
    const names = (await getJson<List<ServedApp>>(['get', 'dla', '-n', ns])).items.map((a) => a.metadata.name).sort();
    expect(names).toEqual(['go-static', 'migrate', 'nginx-template', 'postgres']);
  });
});

describe('npm start --once', () => {
  it('installs the CRD, runs the operator, applies the examples, and exits 0 once every one is Ready', async () => {
    const ns = `start-${Date.now().toString(36)}`;
    const { code, stdout, stderr } = await run(join(root, 'node_modules/.bin/tsx'), [join(root, 'dev/start.ts'), '--once', '--namespace', ns], {
      env: { ...process.env, KUBECONFIG: testKubeconfig() },
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('using the cluster of the current kubeconfig');
    expect(stdout).toContain('every example is Ready');
    for (const app of ['go-static', 'migrate', 'nginx-template', 'postgres']) expect(stdout).toMatch(new RegExp(`^${app}\\s+True\\s+\\d+/\\d+\\s+Ready`, 'm'));
    const namespace = await getJson<LabelledNamespace>(['get', 'namespace', ns]);
    expect(namespace.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });
});
