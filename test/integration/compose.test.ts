import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { main } from '../../src/cli/main.js';
import { validApp, withInitSteps } from '../fixtures/invalid-apps.js';
import { composeCheck } from './compose-check.js';

// `distroless-operator compose` output, read by the Compose specification's own
// loader (compose-go, what `docker compose` runs) in strict mode: schema, references,
// no variable filled in from the environment, no warning. Needs no cluster.

const root = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'dlo-compose-'));

/** The CLI's Compose file for `args`, written to DIR/NAME/compose.yaml; its path. */
async function compose(name: string, args: string[], stdin = ''): Promise<string> {
  let out = '';
  let err = '';
  const code = await main(['compose', ...args], { out: (t) => (out += t), err: (t) => (err += t), stdin: async () => stdin });
  expect({ code, err }).toEqual({ code: 0, err: '' });
  mkdirSync(join(dir, name), { recursive: true });
  const path = join(dir, name, 'compose.yaml');
  writeFileSync(path, out);
  return path;
}

const examples = readdirSync(join(root, 'examples')).sort();

describe('compose files, checked by compose-go', () => {
  it.each(examples)('examples/%s loads', async (example) => {
    const verdict = composeCheck(await compose(example, ['-f', join(root, 'examples', example)]));
    expect(verdict).toEqual({ ok: true, error: '', services: [example, `${example}-init`, `${example}-shared-permissions`].sort() });
  });

  it('every example at once loads, as one file', async () => {
    const verdict = composeCheck(await compose('all', ['-f', join(root, 'examples')]));
    expect(verdict.error).toBe('');
    expect(verdict.services).toHaveLength(3 * examples.length);
  });

  it('an app with init steps, init volumes, envFrom, a sidecar and an exec probe loads once its files are supplied', async () => {
    const m = validApp('shop');
    withInitSteps(
      m,
      { name: 'fetch', envFrom: [{ configMapRef: { name: 'settings' } }, { secretRef: { name: 'creds', optional: true } }], volumeMounts: [{ name: 'templates', mountPath: '/templates' }] },
      { name: 'render', command: ['sh', '-c', 'envsubst < /templates/t > /shared/conf; echo $HOME ${USER}'], volumeMounts: [{ name: 'tls', mountPath: '/keys' }, { name: 'token', mountPath: '/token' }] },
    );
    m.spec.initVolumes = [
      { name: 'templates', configMap: { name: 'shop-templates' } },
      { name: 'tls', secret: { secretName: 'shop-tls' } },
      { name: 'token', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } },
    ];
    m.spec.sidecars = [{ name: 'log', image: 'registry.example/log:1', command: ['/ship'], ports: [{ containerPort: 9100 }], livenessProbe: { exec: { command: ['/ship', '--check'] } } }];
    m.spec.app.resources = { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi', 'ephemeral-storage': '1Gi' } };
    m.spec.app.env = [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }];
    m.spec.podTemplate = { fsGroup: 70 };
    const path = await compose('shop', ['-f', '-'], yaml.dump(m));
    // What the comments ask for: the env files (the bind-mounted directories are Docker's to check when it runs).
    mkdirSync(join(dir, 'shop', 'configmap'));
    writeFileSync(join(dir, 'shop', 'configmap', 'settings.env'), 'LEVEL=info\n');
    expect(composeCheck(path)).toEqual({ ok: true, error: '', services: ['shop', 'shop-init-fetch', 'shop-init-render', 'shop-log', 'shop-shared-permissions'] });
  });

  it('is strict: an unescaped $VARIABLE, an unknown attribute and a missing reference are refused', () => {
    const file = (name: string, text: string) => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'compose.yaml'), text);
      return join(dir, name, 'compose.yaml');
    };
    expect(composeCheck(file('dollar', 'services:\n  a:\n    image: alpine\n    command: ["echo", "$HOME"]\n')).error).toContain('The "HOME" variable is not set');
    expect(composeCheck(file('unknown', 'services:\n  a:\n    image: alpine\n    runAsUser: 1\n')).error).toContain('services.a.runAsUser');
    expect(composeCheck(file('reference', 'services:\n  a:\n    image: alpine\n    volumes: [{type: volume, source: gone, target: /x}]\n')).error).toContain('undefined volume gone');
  });
});
