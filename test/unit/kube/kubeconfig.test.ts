import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { KubeconfigError, loadKubeconfig, mergeKubeconfigs, parseKubeconfig, shorten } from '../../../src/kube/kubeconfig.js';

// Finding and merging kubeconfig files, as kubectl does: --kubeconfig, then
// KUBECONFIG's list, then the in-cluster ServiceAccount, then ~/.kube/config.

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'dlo-kubeconfig-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A kubeconfig with one context per name, each with its own cluster and user. */
function kubeconfig(names: string[], current?: string, server = (n: string) => `https://${n}.example:6443`): object {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: names.map((n) => ({ name: n, cluster: { server: server(n) } })),
    users: names.map((n) => ({ name: n, user: { token: `token-${n}` } })),
    contexts: names.map((n) => ({ name: n, context: { cluster: n, user: n } })),
    ...(current ? { 'current-context': current } : {}),
  };
}

function write(path: string, doc: object | string): string {
  const full = join(dir, path);
  mkdirSync(join(full, '..'), { recursive: true });
  writeFileSync(full, typeof doc === 'string' ? doc : dump(doc));
  return full;
}

function serviceAccount(files: Record<string, string> = { token: 'sa-token', 'ca.crt': 'PEM', namespace: 'shop\n' }): string {
  const sa = join(dir, 'serviceaccount');
  mkdirSync(sa, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(sa, name), text);
  return sa;
}

const POD_ENV = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };

describe('parseKubeconfig', () => {
  it('keeps each named cluster, user and context with its file and directory, and the current context', () => {
    const config = parseKubeconfig(dump(kubeconfig(['a', 'b'], 'b')), '~/.kube/config', '/home/me/.kube');
    expect(config.currentContext).toBe('b');
    expect([...config.contexts.keys()]).toEqual(['a', 'b']);
    expect(config.users.get('a')).toEqual({ name: 'a', value: { token: 'token-a' }, file: '~/.kube/config', dir: '/home/me/.kube' });
  });

  it.each(['', '# nothing yet\n', '---\n'])('reads %j as an empty kubeconfig', (text) => {
    const config = parseKubeconfig(text, 'empty', '/');
    expect(config).toMatchObject({ currentContext: undefined });
    expect(config.clusters.size + config.users.size + config.contexts.size).toBe(0);
  });

  it.each([
    ['- a list', 'x: not a kubeconfig (a mapping at the top)'],
    ['clusters: {a: 1}', 'x: clusters: must be a list'],
    ['users: [{user: {}}]', 'x: users[0].name: missing'],
    ['contexts: [{name: c, context: [1]}]', 'x: contexts[name=c].context: must be a mapping'],
    ['current-context: [a]', 'x: current-context: must be a string'],
    ['clusters: [a: b: c]', /^x: not YAML: /],
  ])('refuses %j naming the field', (text, message) => {
    expect(() => parseKubeconfig(text, 'x', '/')).toThrow(message);
  });
});

describe('mergeKubeconfigs', () => {
  it('gives each name to the first file that has it, and the current context to the first file that sets one', () => {
    const first = parseKubeconfig(dump(kubeconfig(['a', 'shared'])), 'first', '/1');
    const second = parseKubeconfig(dump(kubeconfig(['shared', 'b'], 'b', (n) => `https://second-${n}:6443`)), 'second', '/2');
    const third = parseKubeconfig(dump(kubeconfig([], 'never')), 'third', '/3');
    const merged = mergeKubeconfigs([first, second, third]);
    expect(merged.currentContext).toBe('b');
    expect(merged.clusters.get('shared')).toMatchObject({ file: 'first', value: { server: 'https://shared.example:6443' } });
    expect(merged.clusters.get('b')).toMatchObject({ file: 'second', dir: '/2' });
    expect(merged.source).toBe('first, second, third');
  });
});

describe('loadKubeconfig', () => {
  it('reads the named file and nothing else', () => {
    const file = write('named.yaml', kubeconfig(['named'], 'named'));
    write('home/.kube/config', kubeconfig(['home'], 'home'));
    const config = loadKubeconfig({ file, env: { KUBECONFIG: write('other.yaml', kubeconfig(['other'], 'other')) }, home: join(dir, 'home') });
    expect(config.currentContext).toBe('named');
    expect([...config.contexts.keys()]).toEqual(['named']);
  });

  it("merges KUBECONFIG's colon-separated files, skipping missing ones and empty entries", () => {
    const a = write('a.yaml', kubeconfig(['a']));
    const b = write('b.yaml', kubeconfig(['b'], 'b'));
    const config = loadKubeconfig({ env: { KUBECONFIG: `${a}::${join(dir, 'missing.yaml')}:${b}` }, home: dir });
    expect(config.currentContext).toBe('b');
    expect([...config.contexts.keys()]).toEqual(['a', 'b']);
  });

  it('refuses a KUBECONFIG none of whose files exists', () => {
    expect(() => loadKubeconfig({ env: { KUBECONFIG: '/nope/a:/nope/b' }, home: dir })).toThrow('KUBECONFIG: none of its files exists: /nope/a, /nope/b');
  });

  it('reads the in-cluster ServiceAccount in a Pod: server from the environment, CA, token file and namespace', () => {
    const sa = serviceAccount();
    write('home/.kube/config', kubeconfig(['home'], 'home'));
    const config = loadKubeconfig({ env: POD_ENV, home: join(dir, 'home'), serviceAccountDir: sa });
    expect(config.currentContext).toBe('in-cluster');
    expect(config.clusters.get('in-cluster')?.value).toEqual({ server: 'https://10.0.0.1:443', 'certificate-authority': join(sa, 'ca.crt') });
    expect(config.users.get('in-cluster')?.value).toEqual({ tokenFile: join(sa, 'token') });
    expect(config.contexts.get('in-cluster')?.value).toEqual({ cluster: 'in-cluster', user: 'in-cluster', namespace: 'shop' });
  });

  it('brackets an IPv6 service host, and leaves out a CA and namespace the Pod does not have', () => {
    const sa = serviceAccount({ token: 't' });
    const config = loadKubeconfig({ env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, home: dir, serviceAccountDir: sa });
    expect(config.clusters.get('in-cluster')?.value).toEqual({ server: 'https://[fd00::1]:443' });
    expect(config.contexts.get('in-cluster')?.value).toEqual({ cluster: 'in-cluster', user: 'in-cluster' });
  });

  it('is not in a cluster without the service environment or without the token file', () => {
    const home = join(dir, 'home');
    write('home/.kube/config', kubeconfig(['home'], 'home'));
    expect(loadKubeconfig({ env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, home, serviceAccountDir: serviceAccount() }).currentContext).toBe('home');
    expect(loadKubeconfig({ env: POD_ENV, home, serviceAccountDir: join(dir, 'no-such-dir') }).currentContext).toBe('home');
  });

  it("puts ~/.kube/config before the ServiceAccount in kubectl's order", () => {
    write('home/.kube/config', kubeconfig(['home'], 'home'));
    const config = loadKubeconfig({ env: POD_ENV, home: join(dir, 'home'), serviceAccountDir: serviceAccount(), inCluster: 'after-home' });
    expect(config.currentContext).toBe('home');
  });

  it('says where it looked when there is no kubeconfig at all', () => {
    expect(() => loadKubeconfig({ env: {}, home: dir, serviceAccountDir: join(dir, 'none') })).toThrow(
      'no kubeconfig: no file was named, KUBECONFIG is unset, this is not a Pod (KUBERNETES_SERVICE_HOST is unset), and ~/.kube/config does not exist',
    );
  });

  it('names a missing file, shortened from the home directory', () => {
    const err = (() => {
      try {
        loadKubeconfig({ file: join(dir, 'nope.yaml'), home: dir });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(KubeconfigError);
    expect((err as Error).message).toBe('~/nope.yaml: file not found');
  });
});

describe('shorten', () => {
  it.each([
    ['/home/me/.kube/config', '/home/me', '~/.kube/config'],
    ['/home/meat/config', '/home/me', '/home/meat/config'],
    ['/etc/kubeconfig', '/', '/etc/kubeconfig'],
  ])('%s under %s is %s', (path, home, shown) => expect(shorten(path, home)).toBe(shown));
});
