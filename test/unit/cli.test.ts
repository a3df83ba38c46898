import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import * as yaml from 'js-yaml';
import { main } from '../../src/cli/main.js';
import { validApp } from '../fixtures/invalid-apps.js';

async function run(args: string[], stdin = '') {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => (out += t), err: (t) => (err += t), stdin: async () => stdin });
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'dlo-cli-'));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const dump = (...docs: unknown[]) => docs.map((d) => yaml.dump(d)).join('---\n');

describe('distroless-operator CLI', () => {
  it('validate lists every problem as FILE: document N: FIELD: message and exits 1', async () => {
    const bad = validApp('bad');
    bad.spec.replicas = 5000;
    bad.spec.app.command = ['/bin/sh', '-c', 'x'];
    const path = file('two.yaml', dump(validApp('good'), bad));
    const r = await run(['validate', '-f', path]);
    expect(r.code).toBe(1);
    expect(r.err.split('\n')).toEqual(
      expect.arrayContaining([
        `${path}: document 2: spec.replicas: must be at most 1000, got 5000`,
        expect.stringMatching(new RegExp(`^${path}: document 2: spec.app.command: "/bin/sh" starts a shell`)),
      ]),
    );
    expect(r.err).not.toContain('document 1');
    expect(r.out).toBe('');
  });

  it('validate exits 0 and prints warnings for a debug image', async () => {
    const app = validApp();
    app.spec.app.image = 'gcr.io/distroless/static-debian12:debug';
    const r = await run(['validate', '-f', file('debug.yaml', dump(app))]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/document 1: warning: spec.app.image: .*carries a shell/);
    expect(r.out).toBe('1 DistrolessApp valid\n');
  });

  it('validate reads directories and skips other kinds', async () => {
    const r = await run(['validate', '-f', new URL('../../examples', import.meta.url).pathname]);
    expect(r).toEqual({ code: 0, out: '4 DistrolessApps valid, 2 other documents skipped\n', err: '' });
  });

  it('validate of an empty file or one with no DistrolessApp exits 1 saying so: a step that validates nothing must not pass', async () => {
    for (const content of ['', '# nothing here\n', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n']) {
      const path = file('nothing.yaml', content);
      expect(await run(['validate', '-f', path])).toEqual({ code: 1, out: '', err: `no DistrolessApp found in ${path}\n` });
    }
  });

  it('reports malformed YAML with its document and line, and still checks the others', async () => {
    const path = file('broken.yaml', `${dump(validApp())}---\nspec: [unclosed\n`);
    const r = await run(['validate', '-f', path]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`^${path}: document 2: invalid YAML: .*\\(line \\d+, column \\d+\\)`));
  });

  it('reports a missing file without a stack trace', async () => {
    const r = await run(['validate', '-f', join(dir, 'nope.yaml')]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`${join(dir, 'nope.yaml')}: cannot read: ENOENT\n`);
  });

  it('reports a wrong apiVersion of a DistrolessApp', async () => {
    const r = await run(['validate', '-f', '-'], dump({ ...validApp(), apiVersion: 'distroless.dev/v1' }));
    expect(r.code).toBe(1);
    expect(r.err).toBe('<stdin>: document 1: apiVersion: must be distroless.dev/v1alpha1, got "distroless.dev/v1"\n');
  });

  it('reports a wrong kind in the distroless.dev group', async () => {
    const r = await run(['validate', '-f', '-'], dump({ ...validApp(), kind: 'DistrolessApplication' }));
    expect(r.err).toContain('kind: must be DistrolessApp, got "DistrolessApplication"');
    expect(r.code).toBe(1);
  });

  it('render prints Pods as YAML from stdin', async () => {
    const r = await run(['render', '-f', '-'], dump({ ...validApp('web'), spec: { ...validApp().spec, replicas: 2 } }));
    expect(r.code).toBe(0);
    const pods = yaml.loadAll(r.out) as { kind: string; metadata: { name: string } }[];
    expect(pods.map((p) => p.kind)).toEqual(['Pod', 'Pod', 'PodDisruptionBudget']);
    expect(pods[1]?.metadata.name).toMatch(/^web-[0-9a-f]{10}-1$/);
  });

  it('render prints the PodDisruptionBudget and Service the app asks for after its Pods', async () => {
    const r = await run(['render', '-f', '-'], dump({ ...validApp('web'), spec: { ...validApp().spec, replicas: 2, service: { type: 'NodePort' } } }));
    expect(r.code).toBe(0);
    const objects = yaml.loadAll(r.out) as { kind: string; metadata: { name: string }; spec: { type?: string } }[];
    expect(objects.map((o) => o.kind)).toEqual(['Pod', 'Pod', 'PodDisruptionBudget', 'Service']);
    expect(objects[3]).toMatchObject({ metadata: { name: 'web' }, spec: { type: 'NodePort' } });
  });

  it('render -o json prints a v1 List', async () => {
    const r = await run(['render', '-o', 'json', '-f', '-'], dump(validApp()));
    expect(JSON.parse(r.out)).toMatchObject({ apiVersion: 'v1', kind: 'List', items: [{ kind: 'Pod' }] });
  });

  it('render prints nothing when any document is invalid', async () => {
    const bad = validApp('bad');
    bad.spec.shared = { mountPath: 'relative' };
    const r = await run(['render', '-f', '-'], dump(validApp('good'), bad));
    expect(r).toMatchObject({ code: 1, out: '' });
    expect(r.err).toContain('document 2: spec.shared.mountPath: must be an absolute path');
  });

  it('render rejects an unknown output format with exit 2', async () => {
    const r = await run(['render', '-o', 'toml', '-f', '-'], dump(validApp()));
    expect(r.code).toBe(2);
    expect(r.err).toContain("argument 'toml' is invalid");
  });

  it('compose prints one Compose file for every app, with comments for what it cannot express', async () => {
    const migrate = new URL('../../examples/migrate', import.meta.url).pathname;
    const r = await run(['compose', '-f', migrate, '-'], dump(validApp('web')));
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toMatch(/^# Rendered by distroless-operator compose from DistrolessApps migrate, web\.\n# Run it with: docker compose up\n/);
    expect(r.out).toContain('# env DATABASE_URL is left out: it comes from key url of Secret shop-db-migrator');
    const file = yaml.load(r.out) as { services: Record<string, { depends_on?: object }>; volumes: object };
    expect(Object.keys(file.services)).toEqual(['migrate-shared-permissions', 'migrate-init', 'migrate', 'web-shared-permissions', 'web-init', 'web']);
    expect(file.services.web?.depends_on).toEqual({ 'web-init': { condition: 'service_completed_successfully' } });
    expect(file.volumes).toEqual({ 'migrate-shared': {}, 'web-shared': {} });
  });

  it('compose, as render, prints nothing when any document is invalid or none is an app', async () => {
    const bad = validApp('bad');
    bad.spec.replicas = -1;
    const r = await run(['compose', '-f', '-'], dump(validApp('good'), bad));
    expect(r).toMatchObject({ code: 1, out: '' });
    expect(r.err).toContain('document 2: spec.replicas: must be at least 0');
    expect(await run(['compose', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n')).toEqual({ code: 1, out: '', err: 'no DistrolessApp found in the input\n' });
  });

  it('compose exits 1 naming a service two apps would both make', async () => {
    const web = validApp('web');
    web.spec.sidecars = [{ name: 'api', image: 'registry.example/proxy:1', command: ['/proxy'] }];
    const r = await run(['compose', '-f', '-'], dump(web, validApp('web-api')));
    expect(r).toEqual({ code: 1, out: '', err: 'compose: service web-api of app web-api is also one of app web: rename one of them\n' });
  });

  it('compose exits 2 without -f or with an unknown option', async () => {
    expect((await run(['compose'])).code).toBe(2);
    expect((await run(['compose', '-o', 'json', '-f', '-'], dump(validApp()))).code).toBe(2);
  });

  it('exits 2 on an unknown command or a missing -f', async () => {
    expect((await run(['deploy'])).code).toBe(2);
    const r = await run(['validate']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("required option '-f, --filename <path...>' not specified");
  });

  it('crd prints the CRD', async () => {
    const r = await run(['crd']);
    expect(yaml.load(r.out)).toMatchObject({ kind: 'CustomResourceDefinition', metadata: { name: 'distrolessapps.distroless.dev' } });
  });

  it('--version prints the package version, --help lists the commands', async () => {
    expect((await run(['--version'])).out).toMatch(/^\d+\.\d+\.\d+\n$/);
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    for (const cmd of ['render', 'compose', 'validate', 'crd']) expect(help.out).toContain(cmd);
    expect((await run(['render', '--help'])).out).toContain('--output');
  });

  it('as a process: exit code 1 and a message, no stack trace', () => {
    const bin = new URL('../../src/cli/bin.ts', import.meta.url).pathname;
    const tsx = new URL('../../node_modules/.bin/tsx', import.meta.url).pathname;
    const r = spawnSync(tsx, [bin, 'validate', '-f', '-'], { input: 'kind: [', encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^<stdin>: document 1: invalid YAML/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
