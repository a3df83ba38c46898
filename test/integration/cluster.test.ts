import type { V1ConfigMap, V1NodeCondition, V1NodeSpec, V1NodeStatus } from '@kubernetes/client-node';
import * as yaml from 'js-yaml';
import { createNamespace, getJson, kubectl, kubectlOk } from './helpers.js';
import type { List, ServedPod } from './served.js';
import { waitFor } from '../../dev/wait-for.js';

// The local control plane itself: scheduling, kwok as the kubelet, garbage
// collection and PodSecurity admission all work, so the operator's tests can
// lean on them.

const restrictedPod = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, ...extra },
  spec: {
    securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
    initContainers: [{ name: 'init', image: 'alpine:3.20', command: ['true'], securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
    containers: [{ name: 'app', image: 'gcr.io/distroless/static-debian12:nonroot', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
  },
});

/** A Node as the API server returns it, with the status kwok reports for it. */
interface ServedNode {
  spec: V1NodeSpec;
  status: V1NodeStatus & { conditions: V1NodeCondition[]; allocatable: Record<string, string> };
}

const rootPod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'root' },
  spec: { containers: [{ name: 'c', image: 'busybox', securityContext: { privileged: true, runAsUser: 0 } }] },
};

describe('local control plane', () => {
  it('has untainted kwok nodes, Ready, with room for many Pods', async () => {
    const nodes = (await getJson<List<ServedNode>>(['get', 'nodes', '-l', 'type=kwok'])).items;
    expect(nodes.length).toBeGreaterThanOrEqual(1);
    for (const node of nodes) {
      expect(node.spec.taints ?? []).toEqual([]);
      expect(node.status.conditions.find((c) => c.type === 'Ready')!.status).toBe('True');
      // The launcher asks for 1000; the API server writes quantities in canonical form.
      expect(node.status.allocatable.pods).toBe('1k');
    }
  });

  it('schedules a Pod onto a kwok node, where it runs after its init container completes', async () => {
    const ns = await createNamespace('cp-run', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    await kubectlOk(['apply', '-n', ns, '-f', '-'], { input: yaml.dump(restrictedPod('runner')) });
    await kubectlOk(['wait', '-n', ns, '--for=jsonpath={.status.phase}=Running', '--timeout=120s', 'pod/runner']);
    await kubectlOk(['wait', '-n', ns, '--for=condition=Ready', '--timeout=60s', 'pod/runner']);
    const pod = await getJson<ServedPod>(['get', '-n', ns, 'pod/runner']);
    expect(pod.spec.nodeName).toMatch(/^kwok-node-/);
    // kwok v0.7.0's default pod-ready stage: init containers (other than sidecars) terminated with Completed, exit 0.
    expect(pod.status.initContainerStatuses).toHaveLength(1);
    expect(pod.status.initContainerStatuses![0]!.state!.terminated).toMatchObject({ reason: 'Completed', exitCode: 0 });
    expect(pod.status.containerStatuses![0]!.ready).toBe(true);
    expect(pod.status.containerStatuses![0]!.state!.running).toBeDefined();
  });

  it('garbage-collects a Pod whose owner is deleted', async () => {
    const ns = await createNamespace('cp-gc');
    await kubectlOk(['create', 'configmap', 'owner', '-n', ns]);
    const owner = await getJson<V1ConfigMap>(['get', '-n', ns, 'configmap/owner']);
    const pod = restrictedPod('owned', { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid }] });
    await kubectlOk(['apply', '-n', ns, '-f', '-'], { input: yaml.dump(pod) });
    await kubectlOk(['wait', '-n', ns, '--for=jsonpath={.status.phase}=Running', '--timeout=120s', 'pod/owned']);
    await kubectlOk(['delete', '-n', ns, 'configmap/owner', '--cascade=background']);
    await waitFor(async () => (await kubectl(['get', '-n', ns, 'pod/owned'])).stderr.includes('NotFound'), { timeoutMs: 120_000, what: 'the owned Pod to be collected' });
  });

  it('enforces PodSecurity: a privileged root Pod is refused under enforce=restricted, and only there', async () => {
    const ns = await createNamespace('cp-psa', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    const r = await kubectl(['apply', '-n', ns, '-f', '-'], { input: yaml.dump(rootPod) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('violates PodSecurity "restricted:latest"');
    expect(r.stderr).toContain('privileged');
    // The same Pod passes admission in an unlabelled namespace: the refusal above is PodSecurity's.
    const open = await createNamespace('cp-psa-open');
    await kubectlOk(['create', '--dry-run=server', '-n', open, '-f', '-'], { input: yaml.dump(rootPod) });
  });
});
