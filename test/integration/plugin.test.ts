import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { validApp } from '../fixtures/invalid-apps.js';
import { kubectlPath } from '../../dev/controlplane/kubectl.js';
import { createNamespace, getJson, kubectlOk, run, testKubeconfig } from './helpers.js';
import type { ServedApp, ServedPod } from './served.js';
import { waitFor } from '../../dev/wait-for.js';
import { startOperator, type OperatorProcess } from '../../dev/operator-process.js';

// The kubectl plugin as people use it: the real kubectl finds `kubectl-distroless`
// on PATH and runs it. The operator runs too, watching this suite's namespace only.

const root = new URL('../../', import.meta.url).pathname;
let bin: string;
let operator: OperatorProcess;
let ns: string;
let hash: string;

/** `kubectl distroless ARGS`, through the real kubectl's plugin lookup. */
function plugin(args: string[]) {
  return run('kubectl', ['distroless', ...args], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, KUBECONFIG: testKubeconfig() } });
}

beforeAll(async () => {
  // A PATH entry with the plugin (as `npm link` would install it, but from the
  // sources) and the pinned kubectl, which the plugin's debug command runs.
  bin = mkdtempSync(join(tmpdir(), 'dlo-plugin-'));
  writeFileSync(join(bin, 'kubectl-distroless'), `#!/bin/sh\nexec "${root}node_modules/.bin/tsx" "${root}src/cli/kubectl-distroless.ts" "$@"\n`);
  chmodSync(join(bin, 'kubectl-distroless'), 0o755);
  symlinkSync(kubectlPath(), join(bin, 'kubectl'));

  await kubectlOk(['apply', '--server-side', '-f', join(root, 'crds/distroless.dev_distrolessapps.yaml')]);
  ns = await createNamespace('plugin', { 'pod-security.kubernetes.io/enforce': 'restricted' });
  operator = await startOperator({ kubeconfig: testKubeconfig(), args: ['--leader-elect=false', '--namespaces', ns] });
  const app = validApp('web');
  app.spec.replicas = 2;
  app.spec.app.runAsUser = 4242;
  app.spec.app.runAsGroup = 4343;
  await kubectlOk(['apply', '-n', ns, '-f', '-'], { input: yaml.dump(app) });
  await kubectlOk(['wait', '-n', ns, '--for=condition=Ready', '--timeout=120s', 'dla/web']);
  hash = (await getJson<ServedApp>(['get', '-n', ns, 'dla/web'])).status!.templateHash!;
});

afterAll(async () => {
  await operator?.stop();
  rmSync(bin, { recursive: true, force: true });
});

describe('kubectl distroless', () => {
  it('status shows the conditions and each Pod with its init and main container state', async () => {
    const r = await plugin(['status', 'web', '-n', ns]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`DistrolessApp ${ns}/web`);
    expect(r.stdout).toMatch(/Ready:\s+True \(Ready: 2 of 2 pods ready\)/);
    expect(r.stdout).toMatch(/Replicas:\s+2\/2 ready/);
    for (const i of [0, 1]) expect(r.stdout).toMatch(new RegExp(`web-${hash}-${i}\\s+kwok-node-\\d+\\s+Running\\s+Completed \\(exit 0\\)\\s+Running, ready`));
    expect(r.stdout).toContain('Last init failure: none');
  });

  it('status names the last init failure', async () => {
    const pod = `web-${hash}-1`;
    const failed = {
      status: {
        phase: 'Pending',
        conditions: [{ type: 'Ready', status: 'False' }],
        initContainerStatuses: [
          {
            name: 'init',
            image: 'alpine:3.20',
            imageID: '',
            ready: false,
            restartCount: 5,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 3, reason: 'Error', message: 'config template missing', finishedAt: '2030-01-02T03:04:05Z' } },
          },
        ],
      },
    };
    await kubectlOk(['patch', 'pod', '-n', ns, pod, '--subresource=status', '--type=merge', '-p', JSON.stringify(failed)]);
    const r = await waitFor(
      async () => {
        const out = await plugin(['status', 'web', '-n', ns]);
        return out.stdout.includes('Stalled:') ? out : undefined;
      },
      { what: 'the app to show Stalled' },
    );
    expect(r.stdout).toContain(`Last init failure: pod ${pod}: exited with code 3 (Error) at 2030-01-02T03:04:05.000Z, 5 restarts: config template missing`);
    expect(r.stdout).toMatch(new RegExp(`${pod}\\s+kwok-node-\\d+\\s+Pending\\s+CrashLoopBackOff \\(restarts 5\\)`));
    expect(r.stdout).toMatch(/Stalled:\s+InitContainerFailed: /);
  });

  it('status of a missing app says so and exits 1', async () => {
    const r = await plugin(['status', 'nope', '-n', ns]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`distrolessapp "nope" not found in namespace "${ns}"`);
  });

  it('debug --print gives the kubectl debug that suits a distroless, non-root Pod', async () => {
    const r = await plugin(['debug', 'web', '-n', ns, '--print']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(
      `kubectl debug -n ${ns} pod/web-${hash}-0 --profile=restricted --target=app --image=busybox:1.37 ` +
        `--custom=<(echo '{"securityContext":{"runAsUser":4242,"runAsGroup":4343,"runAsNonRoot":true}}') -it`,
    );
  });

  it("debug adds an ephemeral container, admitted under enforce=restricted, running as the main container's UID", async () => {
    const r = await plugin(['debug', 'web', '-n', ns, '--no-attach']);
    expect(r.code).toBe(0);
    const pod = await getJson<ServedPod>(['get', 'pod', '-n', ns, `web-${hash}-0`]);
    expect(pod.spec.ephemeralContainers).toHaveLength(1);
    expect(pod.spec.ephemeralContainers![0]).toMatchObject({
      image: 'busybox:1.37',
      targetContainerName: 'app',
      securityContext: { runAsUser: 4242, runAsGroup: 4343, runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    });
  });

  it('validate and render work offline through the plugin too', async () => {
    const v = await plugin(['validate', '-f', join(root, 'examples')]);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('4 DistrolessApps valid');
    const bad = await plugin(['validate', '-f', join(root, 'test/integration/plugin.test.ts')]);
    expect(bad.code).toBe(1);
    const rendered = await plugin(['render', '-f', join(root, 'examples/go-static'), '-o', 'json']);
    expect(JSON.parse(rendered.stdout).items.length).toBeGreaterThan(0);
  });

  it('inspect reads the images an app runs and says whether each is distroless; the init image is reported', async () => {
    const app = validApp('inspected');
    app.spec.init.image = 'localhost:5000/debian-init:12';
    app.spec.app.image = 'localhost:5000/examples/go-static:1.0.0';
    app.spec.replicas = 0;
    await kubectlOk(['apply', '-n', ns, '-f', '-'], { input: yaml.dump(app) });
    const r = await plugin(['inspect', 'inspected', '-n', ns]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('init: localhost:5000/debian-init:12 (reported, not judged)');
    expect(r.stdout).toMatch(/localhost:5000\/examples\/go-static:1\.0\.0\s+sha256:\w+\s+yes/);
    expect(r.stdout).toMatch(/localhost:5000\/debian-init:12\s+sha256:\w+\s+no\s+\/bin\/sh,\/bin\/bash/);
    const missing = await plugin(['inspect', 'no-such-app', '-n', ns]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('distrolessapp "no-such-app" not found');
  });
});
