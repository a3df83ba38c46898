import { validateApp } from '../../src/api/validate.js';
import { invalidCases, validApp } from '../fixtures/invalid-apps.js';

describe('DistrolessApp schema', () => {
  it('accepts the minimal app and fills in the defaults', () => {
    const result = validateApp(validApp());
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.app.spec.replicas).toBe(1);
    expect(result.app.spec.updateStrategy).toBe('RollingUpdate');
    expect(result.app.spec.shared).toEqual({ mountPath: '/shared', medium: '', readOnlyInApp: false });
    // fsGroup has no schema default (the renderer gives 65532), so it can be left to a platform that assigns it.
    expect(result.app.spec.podTemplate).toEqual({ automountServiceAccountToken: false, terminationGracePeriodSeconds: 30 });
    expect(result.app.spec).not.toHaveProperty('initSteps');
    expect(result.app.spec).not.toHaveProperty('sidecars');
    expect(result.app.spec).not.toHaveProperty('initVolumes');
  });

  it('accepts AppArmor annotations that keep a profile on (runtime/default, localhost/...), and defaults imagePolicy to Warn', () => {
    const app = validApp();
    app.spec.podTemplate = {
      annotations: { 'container.apparmor.security.beta.kubernetes.io/app': 'runtime/default', 'container.apparmor.security.beta.kubernetes.io/init': 'localhost/k8s-init', team: 'shop' },
    };
    const result = validateApp(app);
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.app.spec.imagePolicy).toBe('Warn');
  });

  it('has at least 30 invalid cases', () => expect(invalidCases.length).toBeGreaterThanOrEqual(30));

  it.each(invalidCases.map((c) => [c.name, c] as const))('rejects %s, naming the field', (_, c) => {
    const app = validApp();
    c.mutate(app);
    const result = validateApp(app);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toContainEqual({ path: c.path, message: expect.stringContaining(c.message) });
  });

  it('reports every problem, not just the first', () => {
    const app = validApp();
    app.spec.replicas = -1;
    app.spec.app.image = '';
    app.spec.shared = { mountPath: 'x' };
    const result = validateApp(app);
    expect(result.ok ? [] : result.problems.map((p) => p.path)).toEqual(
      expect.arrayContaining(['spec.replicas', 'spec.app.image', 'spec.shared.mountPath']),
    );
  });

  it('rejects a wrong apiVersion and kind with the expected value', () => {
    const result = validateApp({ ...validApp(), apiVersion: 'apps/v1', kind: 'Deployment' });
    expect(result.ok ? [] : result.problems).toEqual(
      expect.arrayContaining([
        { path: 'apiVersion', message: 'must be distroless.dev/v1alpha1, got "apps/v1"' },
        { path: 'kind', message: 'must be DistrolessApp, got "Deployment"' },
      ]),
    );
  });

  it.each([
    ['gcr.io/distroless/static-debian12:debug', true],
    ['gcr.io/distroless/static-debian12:debug-nonroot', true],
    ['cgr.dev/chainguard/node:latest-dev', true],
    ['gcr.io/distroless/static-debian12:nonroot', false],
    ['registry.dev:5000/app', false],
    ['app@sha256:0123456789abcdef', false],
  ])('warns, without failing, when the main image %s carries a shell: %s', (image, warns) => {
    const app = validApp();
    app.spec.app.image = image;
    const result = validateApp(app);
    expect(result.ok).toBe(true);
    expect(result.warnings.length > 0).toBe(warns);
    if (warns) expect(result.warnings[0]).toEqual({ path: 'spec.app.image', message: expect.stringContaining('carries a shell') });
  });

  it.each([
    [['/app/server']],
    [['/usr/bin/env', 'FOO=1', '/app/server']],
    [['/bin/shell-checker']],
    [['/app/sh-helper']],
  ])('allows a command that does not start a shell: %j', (command) => {
    const app = validApp();
    app.spec.app.command = command;
    expect(validateApp(app).ok).toBe(true);
  });

  it('allows a shell in the init container', () => {
    const app = validApp();
    app.spec.init.command = ['/bin/bash', '-c', 'initdb'];
    expect(validateApp(app).ok).toBe(true);
  });

  it('treats an empty probe as no probe', () => {
    const app = validApp();
    app.spec.app.livenessProbe = {};
    expect(validateApp(app).ok).toBe(true);
  });
});
