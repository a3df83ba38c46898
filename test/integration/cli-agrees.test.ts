import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNamespace, kubectl, kubectlOk, run } from './helpers.js';

// The CLI's validate and the API server must agree on what is a valid app: each
// case is one YAML text, given to `distroless-operator validate` and to the real
// kubectl with --dry-run=server, which parses it as kubectl does and validates it
// against the installed CRD.

const root = new URL('../../', import.meta.url).pathname;
let ns: string;
let dir: string;

/** A valid app with `app` lines spliced into spec.app. */
const manifest = (appLines: string, extra = ''): string => `apiVersion: distroless.dev/v1alpha1
kind: DistrolessApp
metadata:
  name: agree
spec:
  init:
    image: alpine:3.20
    command: ["true"]
  app:
    command: ["/app/server"]
${appLines
  .split('\n')
  .map((l) => `    ${l}`)
  .join('\n')}
${extra}`;

const cases: { name: string; yaml: string; valid: boolean }[] = [
  { name: 'cpu as a fraction (a YAML number)', yaml: manifest('image: app:1\nresources:\n  requests:\n    cpu: 0.5'), valid: false },
  { name: 'cpu as a quoted fraction', yaml: manifest('image: app:1\nresources:\n  requests:\n    cpu: "0.5"'), valid: true },
  { name: 'cpu as a whole number', yaml: manifest('image: app:1\nresources:\n  requests:\n    cpu: 2'), valid: true },
  { name: 'imagePullPolicy y (a YAML 1.1 boolean to kubectl)', yaml: manifest('image: app:1\nimagePullPolicy: y'), valid: false },
  { name: 'imagePullPolicy on', yaml: manifest('image: app:1\nimagePullPolicy: on'), valid: false },
  { name: 'readOnlyInApp on (true to kubectl)', yaml: manifest('image: app:1', '  shared:\n    readOnlyInApp: on'), valid: true },
  { name: 'runAsUser 0700 (octal 448 to kubectl)', yaml: manifest('image: app:1\nrunAsUser: 0700'), valid: true },
  { name: 'a non-breaking space in the image', yaml: manifest('image: "app:1\u00a0"'), valid: false },
  { name: 'an env value of 4 MB', yaml: manifest(`image: app:1\nenv:\n  - name: BIG\n    value: "${'x'.repeat(4 * 1024 * 1024)}"`), valid: false },
  { name: 'a date-like env value (text to both)', yaml: manifest('image: app:1\nenv:\n  - name: SINCE\n    value: 2024-01-01'), valid: true },
];

beforeAll(async () => {
  await kubectlOk(['apply', '--server-side', '-f', join(root, 'crds/distroless.dev_distrolessapps.yaml')]);
  ns = await createNamespace('agree');
  dir = mkdtempSync(join(tmpdir(), 'agree-'));
});

afterAll(async () => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('the CLI and the API server agree', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const file = join(dir, `${c.name.replace(/\W+/g, '-')}.yaml`);
    writeFileSync(file, c.yaml);
    const cli = await run(join(root, 'node_modules/.bin/tsx'), [join(root, 'src/cli/bin.ts'), 'validate', '-f', file]);
    const server = await kubectl(['apply', '--dry-run=server', '-n', ns, '-f', file]);
    expect({ cli: cli.code === 0, server: server.code === 0 }).toEqual({ cli: c.valid, server: c.valid });
  }, 60_000);

  it('reads 0700 as kubectl does: 448', async () => {
    const file = join(dir, 'octal.yaml');
    writeFileSync(file, manifest('image: app:1\nrunAsUser: 0700'));
    const rendered = await run(join(root, 'node_modules/.bin/tsx'), [join(root, 'src/cli/bin.ts'), 'render', '-f', file, '-o', 'json']);
    expect(rendered.stdout).toContain('"runAsUser": 448');
    const served = JSON.parse(await kubectlOk(['apply', '--dry-run=server', '-n', ns, '-f', file, '-o', 'json'])) as { spec: { app: { runAsUser: number } } };
    expect(served.spec.app.runAsUser).toBe(448);
  }, 60_000);
});
