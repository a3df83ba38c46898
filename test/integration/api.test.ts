import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { render } from '../../src/render/pod.js';
import { validateApp } from '../../src/api/validate.js';
import { invalidCases, validApp } from '../fixtures/invalid-apps.js';
import { kubectl, createNamespace } from './helpers.js';
import { waitFor } from '../../dev/wait-for.js';

// The CRD, its schema and CEL rules, and the rendered Pods, checked by the real
// kube-apiserver through the real kubectl.

const root = new URL('../../', import.meta.url).pathname;
const crdPath = join(root, 'crds/distroless.dev_distrolessapps.yaml');
const examples = readdirSync(join(root, 'examples')).sort();

async function ok(args: string[], input?: string) {
  const r = await kubectl(args, input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  await ok(['apply', '--server-side', '-f', crdPath]);
  await ok(['wait', '--for=condition=Established', '--timeout=60s', 'crd/distrolessapps.distroless.dev']);
});

describe('the generated CRD on a real API server', () => {
  it('is accepted and explained by kubectl explain', async () => {
    // The OpenAPI document is published a moment after the CRD is Established.
    const explained = await waitFor(async () => {
      const r = await kubectl(['explain', 'distrolessapp.spec']);
      return r.code === 0 && r.stdout.includes('shared') ? r.stdout : undefined;
    });
    // kubectl wraps descriptions to the terminal width.
    const flat = (text: string) => text.replace(/\s+/g, ' ');
    expect(flat(explained)).toContain('Desired state of the app.');
    expect(flat(explained)).toContain('The emptyDir volume the init container writes and the distroless container reads.');
    const shared = flat(await ok(['explain', 'distrolessapp.spec.shared']));
    expect(shared).toContain('mountPath');
    expect(shared).toContain('Mount the volume read-only in the distroless container (and in the sidecars).');
  });

  it('serves the short name, the category and server-side defaults', async () => {
    const ns = await createNamespace('crd-defaults');
    await ok(['apply', '-n', ns, '-f', '-'], yaml.dump(validApp('defaults')));
    const app = JSON.parse(await ok(['get', '-n', ns, 'dla/defaults', '-o', 'json']));
    expect(app.spec.replicas).toBe(1);
    expect(app.spec.shared).toEqual({ mountPath: '/shared', medium: '', readOnlyInApp: false });
    // fsGroup has no server-side default: the renderer gives 65532 unless podTemplate.platformAssignsUids.
    expect(app.spec.podTemplate).toEqual({ automountServiceAccountToken: false, terminationGracePeriodSeconds: 30 });
    expect(await ok(['get', 'all', '-n', ns, '-o', 'name'])).toContain('distrolessapp.distroless.dev/defaults');
    // The server's defaults and the operator's give the same object.
    const parsed = validateApp(app);
    expect(parsed.ok).toBe(true);
  });

  it('applies every example', async () => {
    const ns = await createNamespace('crd-examples');
    for (const name of examples) {
      await ok(['apply', '-n', ns, '-f', join(root, 'examples', name)]);
    }
    expect((await ok(['get', 'dla', '-n', ns, '-o', 'name'])).trim().split('\n')).toHaveLength(examples.length);
  });
});

describe('CEL and schema rules at kubectl apply time', () => {
  let ns: string;
  beforeAll(async () => {
    ns = await createNamespace('crd-invalid');
  });

  const serverChecked = invalidCases.filter((c) => c.server !== undefined);
  it('covers most of the invalid cases', () => expect(serverChecked.length).toBeGreaterThanOrEqual(40));

  it.each(serverChecked.map((c, i) => [c.name, c, i] as const))('refuses %s', async (_, c, i) => {
    const app = validApp(`invalid-${i}`);
    c.mutate(app);
    const r = await kubectl(['apply', '-n', ns, '-f', '-'], { input: yaml.dump(app) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(c.server);
  });
});

describe('rendered Pods of every example', () => {
  it.each(examples)('%s passes server-side dry run under enforce=restricted', async (name) => {
    const ns = await createNamespace(`restricted-${name}`, { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted' });
    const parsed = validateApp(yaml.load(readFileSync(join(root, 'examples', name, 'app.yaml'), 'utf8')));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const pods = render(parsed.app).pods;
    const r = await kubectl(['create', '--dry-run=server', '-n', ns, '-f', '-', '-o', 'name'], { input: pods.map((p) => yaml.dump(p)).join('---\n') });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(pods.length);
  });

  it('a root Pod is refused in the same kind of namespace, so the check above means something', async () => {
    const ns = await createNamespace('restricted-control', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'root' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
    const r = await kubectl(['create', '--dry-run=server', '-n', ns, '-f', '-'], { input: yaml.dump(pod) });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('violates PodSecurity "restricted:latest"');
  });
});
