import type { V1Pod } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { startOperator, type OperatorProcess } from '../../dev/operator-process.js';
import { waitFor } from '../../dev/wait-for.js';
import { createNamespace, getJson, kubectl, kubectlOk, run, serviceAccountKubeconfig, testKubeconfig } from '../integration/helpers.js';
import { condition, type List, type ServedApp } from '../integration/served.js';

// The Pod's shape in real containers, under enforce=restricted: two ordered init steps
// fed by init-only volumes (a ConfigMap template, a Secret-held key), a native sidecar
// beside the distroless server, and UIDs left to the platform.

const root = new URL('../../', import.meta.url).pathname;
const INIT_IMAGE = 'localhost:5000/debian-init:12';
const NONROOT_INIT_IMAGE = 'localhost:5000/nginx-init:1';
const APP_IMAGE = 'localhost:5000/examples/go-static:1.0.0';
const SLOW_MS = 180_000;
const KEY = 's3cret-key-material';

let ns: string;
let operator: OperatorProcess | undefined;

const onRealNode = {
  nodeSelector: { 'distroless.dev/real-node': 'true' },
  tolerations: [{ key: 'distroless.dev/real-node', operator: 'Exists', effect: 'NoSchedule' }],
};

const apply = (manifest: object): Promise<string> => kubectlOk(['apply', '-n', ns, '-f', '-'], { input: JSON.stringify(manifest) });
const podsOf = async (name: string): Promise<V1Pod[]> => (await getJson<List<V1Pod>>(['get', 'pods', '-n', ns, '-l', `distroless.dev/app=${name}`])).items;

async function readyPod(name: string): Promise<V1Pod> {
  await waitFor(
    async () => {
      const app = await getJson<ServedApp>(['get', 'dla', name, '-n', ns]);
      return app.status?.observedGeneration === app.metadata.generation && condition(app, 'Ready')?.status === 'True';
    },
    { timeoutMs: SLOW_MS, intervalMs: 500, what: `${name} Ready` },
  );
  return (await podsOf(name))[0]!;
}

const curl = async (ip: string, port: number): Promise<string> => (await run('curl', ['-sS', '--max-time', '10', `http://${ip}:${port}/`])).stdout;

beforeAll(async () => {
  await kubectlOk(['apply', '--server-side', '-f', join(root, 'crds/distroless.dev_distrolessapps.yaml')]);
  ns = await createNamespace('e2e-pod-shape', { 'pod-security.kubernetes.io/enforce': 'restricted' });
  operator = await startOperator({ kubeconfig: await serviceAccountKubeconfig(testKubeconfig()), args: ['--leader-elect=false', '--namespaces', ns] });
});

afterAll(async () => {
  await operator?.stop();
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('the Pod shape on the real node', () => {
  it('runs a ConfigMap template step, then a Secret-key step, and serves both from the distroless container, which has no view of the Secret; a sidecar runs beside it', async () => {
    await kubectlOk(['create', 'secret', 'generic', 'signing-key', '-n', ns, `--from-literal=key=${KEY}`]);
    await apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'server-template' },
      data: { 'server.yaml.tmpl': 'listen: ":8080"\nlog_level: "info"\ngreeting: "GREETING from a template, key KEYSUM"\n' },
    });
    await apply({
      apiVersion: 'distroless.dev/v1alpha1',
      kind: 'DistrolessApp',
      metadata: { name: 'stepped' },
      spec: {
        initVolumes: [
          { name: 'templates', configMap: { name: 'server-template' } },
          { name: 'key', secret: { secretName: 'signing-key', defaultMode: 0o440 } },
        ],
        initSteps: [
          {
            name: 'template',
            image: INIT_IMAGE,
            command: ['sh', '-c', `sed "s/GREETING/$GREETING/" /templates/server.yaml.tmpl > /config/server.yaml && printf 'listen: ":8081"\\ngreeting: "sidecar"\\n' > /config/sidecar.yaml`],
            env: [{ name: 'GREETING', value: 'hello' }],
            volumeMounts: [{ name: 'templates', mountPath: '/templates' }],
          },
          {
            name: 'keys',
            image: INIT_IMAGE,
            // Needs the first step's file: the steps run in order.
            command: ['sh', '-c', 'sum=$(sha256sum /secrets/key | cut -c1-12) && sed -i "s/KEYSUM/$sum/" /config/server.yaml'],
            volumeMounts: [{ name: 'key', mountPath: '/secrets' }],
          },
        ],
        sidecars: [
          {
            name: 'echo',
            image: APP_IMAGE,
            command: ['/app/server', '--config', '/config/sidecar.yaml'],
            ports: [{ name: 'echo', containerPort: 8081 }],
            readinessProbe: { httpGet: { path: '/readyz', port: 'echo' }, periodSeconds: 1 },
          },
        ],
        app: {
          image: APP_IMAGE,
          command: ['/app/server', '--config', '/config/server.yaml'],
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 1 },
        },
        shared: { mountPath: '/config', readOnlyInApp: true },
        podTemplate: onRealNode,
      },
    });
    const pod = await readyPod('stepped');
    const spec = pod.spec!;
    expect(spec.initContainers!.map((c) => [c.name, c.restartPolicy])).toEqual([
      ['init-template', undefined],
      ['init-keys', undefined],
      ['echo', 'Always'],
    ]);
    // Only the steps that name an init volume mount it; the server and the sidecar see the shared volume alone.
    expect(spec.initContainers!.map((c) => (c.volumeMounts ?? []).map((m) => m.name))).toEqual([['shared', 'templates'], ['shared', 'key'], ['shared']]);
    expect(spec.containers[0]!.volumeMounts!.map((m) => m.name)).toEqual(['shared']);

    const keySum = createHash('sha256').update(KEY).digest('hex').slice(0, 12);
    expect(await curl(pod.status!.podIP!, 8080)).toBe(`hello from a template, key ${keySum}\n`);
    expect(await curl(pod.status!.podIP!, 8081)).toBe('sidecar\n');
    const sidecar = pod.status!.initContainerStatuses!.find((s) => s.name === 'echo')!;
    expect(sidecar.state?.running).toBeDefined();
    expect(pod.status!.initContainerStatuses!.filter((s) => s.name.startsWith('init-')).map((s) => s.state?.terminated?.exitCode)).toEqual([0, 0]);

    // Inside the distroless container's root, as its UID: no Secret files, no Secret value in the shared volume.
    const debug = await run(join(root, 'node_modules/.bin/tsx'), [
      join(root, 'src/cli/kubectl-distroless.ts'),
      ...['debug', 'stepped', '-n', ns, '--kubeconfig', testKubeconfig(), '--image', INIT_IMAGE, '--no-attach', '--'],
      ...['sh', '-c', `ls /proc/1/root/secrets 2>&1; grep -rl '${KEY}' /proc/1/root/config /proc/1/root/app 2>/dev/null | wc -l`],
    ]);
    expect(debug.code).toBe(0);
    const debugger_ = await waitFor(
      async () => (await getJson<V1Pod>(['get', 'pod', pod.metadata!.name!, '-n', ns])).status?.ephemeralContainerStatuses?.find((s) => s.state?.terminated),
      { timeoutMs: SLOW_MS, intervalMs: 500, what: 'the debug container to run and finish' },
    );
    const logs = await kubectlOk(['logs', '-n', ns, pod.metadata!.name!, '-c', debugger_.name]);
    expect(logs).toMatch(/\/proc\/1\/root\/secrets': No such file or directory/);
    expect(logs.trim().split('\n').pop()).toBe('0');

    const status = await run(join(root, 'node_modules/.bin/tsx'), [join(root, 'src/cli/kubectl-distroless.ts'), 'status', 'stepped', '-n', ns, '--kubeconfig', testKubeconfig()]);
    expect(status.stdout).toMatch(/init-keys: Completed \(exit 0\)/);
    expect(status.stdout).toMatch(/echo: Running, ready/);
  }, SLOW_MS);

  it('with platformAssignsUids, leaves every UID and the fsGroup unset, is admitted under enforce=restricted and runs as the images say', async () => {
    await apply({
      apiVersion: 'distroless.dev/v1alpha1',
      kind: 'DistrolessApp',
      metadata: { name: 'assigned' },
      spec: {
        init: {
          image: NONROOT_INIT_IMAGE,
          command: ['sh', '-c', `printf 'listen: ":8080"\\ngreeting: "init ran as %s"\\n' "$(id -u)" > /config/server.yaml`],
        },
        app: {
          image: APP_IMAGE,
          command: ['/app/server', '--config', '/config/server.yaml'],
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 1 },
        },
        shared: { mountPath: '/config' },
        podTemplate: { ...onRealNode, platformAssignsUids: true },
      },
    });
    const pod = await readyPod('assigned');
    const spec = pod.spec!;
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(spec.securityContext!.fsGroup).toBeUndefined();
    for (const c of [...spec.initContainers!, ...spec.containers]) {
      expect(c.securityContext!.runAsUser).toBeUndefined();
      expect(c.securityContext!.runAsGroup).toBeUndefined();
    }
    // The init image's own USER (65532) ran the step; nothing in the Pod chose it.
    expect(await curl(pod.status!.podIP!, 8080)).toBe('init ran as 65532\n');
  }, SLOW_MS);
});
