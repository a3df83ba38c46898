import * as yaml from 'js-yaml';
import { createNamespace, getJson, kubectl, kubectlOk, waitFor } from './helpers.js';

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

describe('local control plane', () => {
  it('schedules a Pod onto a kwok node, where it runs after its init container completes', async () => {
    const ns = await createNamespace('cp-run', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    await kubectlOk(['apply', '-n', ns, '-f', '-'], { input: yaml.dump(restrictedPod('runner')) });
    await kubectlOk(['wait', '-n', ns, '--for=jsonpath={.status.phase}=Running', '--timeout=120s', 'pod/runner']);
    const pod = await getJson(['get', '-n', ns, 'pod/runner']);
    expect(pod.spec.nodeName).toMatch(/^kwok-node-/);
    expect(pod.status.initContainerStatuses[0].state.terminated.reason).toBe('Completed');
    expect(pod.status.containerStatuses[0].ready).toBe(true);
  });

  it('garbage-collects a Pod whose owner is deleted', async () => {
    const ns = await createNamespace('cp-gc');
    await kubectlOk(['create', 'configmap', 'owner', '-n', ns]);
    const owner = await getJson(['get', '-n', ns, 'configmap/owner']);
    const pod = restrictedPod('owned', { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid }] });
    await kubectlOk(['apply', '-n', ns, '-f', '-'], { input: yaml.dump(pod) });
    await kubectlOk(['delete', '-n', ns, 'configmap/owner', '--cascade=background']);
    await waitFor(async () => (await kubectl(['get', '-n', ns, 'pod/owned'])).stderr.includes('NotFound'), { timeoutMs: 120_000, what: 'the owned Pod to be collected' });
  });

  it('enforces PodSecurity: a root Pod is refused under enforce=restricted', async () => {
    const ns = await createNamespace('cp-psa', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'root' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
    const r = await kubectl(['apply', '-n', ns, '-f', '-'], { input: yaml.dump(pod) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('violates PodSecurity "restricted:latest"');
  });
});
