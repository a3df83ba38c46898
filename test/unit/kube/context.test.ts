import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { loadContext, resolveContext, type KubeContext } from '../../../src/kube/context.js';
import { parseKubeconfig } from '../../../src/kube/kubeconfig.js';

// Resolving a context: the server, TLS material read from files or inline data,
// one way to authenticate, the namespace, and an error naming the file and field
// for anything wrong or unsupported.

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'dlo-context-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Resolves the current context of a kubeconfig with one cluster and one user, as ~/.kube/config. */
function resolve(cluster: Record<string, unknown>, user?: Record<string, unknown>, context: Record<string, unknown> = {}): KubeContext {
  const doc = {
    clusters: [{ name: 'c', cluster: { server: 'https://api.example:6443', ...cluster } }],
    users: user ? [{ name: 'admin', user }] : [],
    contexts: [{ name: 'ctx', context: { cluster: 'c', ...(user ? { user: 'admin' } : {}), ...context } }],
    'current-context': 'ctx',
  };
  return resolveContext(parseKubeconfig(dump(doc), '~/.kube/config', dir));
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

describe('resolveContext: the cluster', () => {
  it('takes the server without its trailing slash, the namespace, and no credentials when the context names no user', () => {
    expect(resolve({ server: 'https://api.example:6443/' }, undefined, { namespace: 'shop' })).toEqual({
      name: 'ctx',
      server: 'https://api.example:6443',
      namespace: 'shop',
      tls: { ca: undefined, cert: undefined, key: undefined, rejectUnauthorized: undefined, servername: undefined },
      auth: { kind: 'none' },
      headers: {},
    });
  });

  it('reads the CA from a file relative to the kubeconfig, or from inline base64', () => {
    file('pki/ca.crt', 'CA FROM FILE');
    expect(resolve({ 'certificate-authority': 'pki/ca.crt' }).tls.ca?.toString()).toBe('CA FROM FILE');
    expect(resolve({ 'certificate-authority-data': b64('CA INLINE') }).tls.ca?.toString()).toBe('CA INLINE');
  });

  it('keeps tls-server-name and insecure-skip-tls-verify', () => {
    expect(resolve({ 'tls-server-name': 'kubernetes', 'insecure-skip-tls-verify': true }).tls).toMatchObject({ servername: 'kubernetes', rejectUnauthorized: false });
  });

  it.each([
    [{ server: '' }, '~/.kube/config: clusters[name=c].cluster.server: missing'],
    [{ server: 'api.example:6443' }, 'clusters[name=c].cluster.server: "api.example:6443" is not an http or https URL'],
    [{ 'proxy-url': 'http://proxy:3128' }, 'clusters[name=c].cluster.proxy-url: proxies are not supported'],
    [{ 'certificate-authority': '/no/such/ca.crt' }, '~/.kube/config: clusters[name=c].cluster.certificate-authority: file /no/such/ca.crt not found'],
    [{ 'certificate-authority': '/x', 'certificate-authority-data': 'eA==' }, 'cluster.certificate-authority-data: certificate-authority is set too; keep one'],
    [{ 'certificate-authority-data': 'eA==', 'insecure-skip-tls-verify': true }, 'cluster.insecure-skip-tls-verify: cannot be true while a certificate authority is set'],
    [{ 'insecure-skip-tls-verify': 'yes' }, 'cluster.insecure-skip-tls-verify: must be true or false'],
  ])('refuses %j naming the field', (cluster, message) => {
    expect(() => resolve(cluster)).toThrow(message);
  });
});

describe('resolveContext: the user', () => {
  it('reads a client certificate and key from files relative to the kubeconfig', () => {
    file('certs/admin.crt', 'CERT');
    file('certs/admin.key', 'KEY');
    const { tls, auth } = resolve({}, { 'client-certificate': 'certs/admin.crt', 'client-key': './certs/admin.key' });
    expect([tls.cert?.toString(), tls.key?.toString(), auth]).toEqual(['CERT', 'KEY', { kind: 'none' }]);
  });

  it('reads inline client certificate data, with a token beside it', () => {
    const { tls, auth } = resolve({}, { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY'), token: 'abc\n' });
    expect([tls.cert?.toString(), tls.key?.toString(), auth]).toEqual(['CERT', 'KEY', { kind: 'token', token: 'abc' }]);
  });

  it('takes a token file, made absolute, over a token beside it', () => {
    file('token', 'from-file');
    expect(resolve({}, { tokenFile: 'token', token: 'inline' }).auth).toEqual({ kind: 'tokenFile', path: join(dir, 'token'), field: '~/.kube/config: users[name=admin].user.tokenFile' });
  });

  it('takes a username and password as basic auth', () => {
    expect(resolve({}, { username: 'admin', password: 's3cret' }).auth).toEqual({ kind: 'basic', username: 'admin', password: 's3cret' });
  });

  it('impersonates the user and UID that as and as-uid name', () => {
    expect(resolve({}, { token: 't', as: 'jane', 'as-uid': '42' }).headers).toEqual({ 'Impersonate-User': 'jane', 'Impersonate-Uid': '42' });
  });

  it('reads an exec plugin: its command relative to the kubeconfig when it is a path, args, env, and the cluster when asked', () => {
    const { auth } = resolve(
      { 'certificate-authority-data': b64('CA'), 'tls-server-name': 'kubernetes', extensions: [{ name: 'client.authentication.k8s.io/exec', extension: { audience: 'x' } }] },
      {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: './bin/plugin',
          args: ['get-token', '--cluster', 'c'],
          env: [{ name: 'REGION', value: 'eu' }],
          interactiveMode: 'Never',
          installHint: 'install it',
          provideClusterInfo: true,
        },
      },
    );
    expect(auth).toEqual({
      kind: 'exec',
      plugin: {
        command: join(dir, 'bin/plugin'),
        args: ['get-token', '--cluster', 'c'],
        env: { REGION: 'eu' },
        apiVersion: 'client.authentication.k8s.io/v1',
        installHint: 'install it',
        cluster: { server: 'https://api.example:6443', 'tls-server-name': 'kubernetes', 'certificate-authority-data': b64('CA'), config: { audience: 'x' } },
        field: '~/.kube/config: users[name=admin].user.exec',
      },
    });
  });

  it('looks a bare exec command up on PATH, and lets a v1beta1 plugin leave out interactiveMode', () => {
    const { auth } = resolve({}, { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'gke-gcloud-auth-plugin' } });
    expect(auth).toMatchObject({ kind: 'exec', plugin: { command: 'gke-gcloud-auth-plugin', args: [], env: {}, cluster: undefined } });
  });

  const exec = (fields: Record<string, unknown>) => ({ exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'p', interactiveMode: 'Never', ...fields } });

  it.each([
    [{ 'client-key': '/no/such/admin.key', 'client-certificate-data': 'eA==' }, '~/.kube/config: users[name=admin].user.client-key: file /no/such/admin.key not found'],
    [{ 'client-certificate-data': 'eA==' }, 'users[name=admin].user.client-key: missing: a client certificate and its key go together'],
    [{ 'client-key-data': 'eA==' }, 'users[name=admin].user.client-certificate: missing'],
    [{ tokenFile: '/no/such/token' }, 'users[name=admin].user.tokenFile: file /no/such/token not found'],
    [{ token: 't', username: 'u' }, '~/.kube/config: users[name=admin].user: more than one way to authenticate (token, username/password); keep one'],
    [{ token: 't', ...exec({}) }, 'more than one way to authenticate (token, exec)'],
    [{ 'auth-provider': { name: 'gcp', config: {} } }, 'users[name=admin].user.auth-provider: auth-provider gcp is not supported; use an exec plugin such as gke-gcloud-auth-plugin'],
    [{ 'auth-provider': { name: 'oidc' } }, 'auth-provider oidc is not supported; use an exec plugin such as kubelogin (int128/kubelogin)'],
    [{ 'auth-provider': { name: 'custom' } }, 'auth-provider custom is not supported; use an exec plugin such as the one your provider ships'],
    [{ token: 't', 'as-groups': ['system:masters'] }, 'users[name=admin].user.as-groups: impersonating groups or extra fields is not supported'],
    [exec({ apiVersion: 'client.authentication.k8s.io/v1alpha1' }), 'user.exec.apiVersion: "client.authentication.k8s.io/v1alpha1" is not supported'],
    [exec({ interactiveMode: undefined }), 'users[name=admin].user.exec.interactiveMode: missing'],
    [exec({ interactiveMode: 'Always' }), 'user.exec.interactiveMode: Always: the plugin needs a terminal'],
    [exec({ interactiveMode: 'Sometimes' }), 'user.exec.interactiveMode: must be one of Never, IfAvailable, Always'],
    [exec({ command: '' }), 'user.exec.command: missing'],
    [exec({ args: 'get-token' }), 'user.exec.args: must be a list of strings'],
    [exec({ env: [{ name: 'A' }] }), 'user.exec.env[0]: must have a string name and value'],
  ])('refuses %j naming the field', (user, message) => {
    expect(() => resolve({}, user)).toThrow(message);
  });
});

describe('resolveContext: the context', () => {
  const config = () =>
    parseKubeconfig(
      dump({
        clusters: [{ name: 'c', cluster: { server: 'https://c:6443' } }],
        users: [{ name: 'u', user: { token: 't' } }],
        contexts: [
          { name: 'one', context: { cluster: 'c', user: 'u', namespace: 'ns1' } },
          { name: 'lost', context: { cluster: 'gone', user: 'u' } },
          { name: 'nobody', context: { cluster: 'c', user: 'ghost' } },
        ],
      }),
      '/etc/kubeconfig',
      '/etc',
    );

  it('uses the context named over the current one', () => {
    expect(resolveContext(config(), 'one')).toMatchObject({ name: 'one', namespace: 'ns1', auth: { kind: 'token', token: 't' } });
  });

  it.each([
    [undefined, '/etc/kubeconfig: current-context: not set, and no context was named'],
    ['two', '/etc/kubeconfig: context "two" not found (contexts: one, lost, nobody)'],
    ['lost', '/etc/kubeconfig: contexts[name=lost].context.cluster: no cluster named "gone" in /etc/kubeconfig'],
    ['nobody', '/etc/kubeconfig: contexts[name=nobody].context.user: no user named "ghost"'],
  ])('refuses context %s naming what is wrong', (name, message) => {
    expect(() => resolveContext(config(), name)).toThrow(message);
  });
});

describe('loadContext', () => {
  it("resolves the in-cluster ServiceAccount: its CA, its token file, and its namespace for the plugin's default", () => {
    const sa = join(dir, 'sa');
    file('sa/token', 'sa-token');
    file('sa/ca.crt', 'CLUSTER CA');
    file('sa/namespace', 'distroless-operator-system');
    const context = loadContext({ env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, home: dir, serviceAccountDir: sa });
    expect(context).toMatchObject({ server: 'https://10.96.0.1:443', namespace: 'distroless-operator-system', auth: { kind: 'tokenFile', path: join(sa, 'token') } });
    expect(context.tls.ca?.toString()).toBe('CLUSTER CA');
  });

  it('names each entry by the file it came from when KUBECONFIG merges several', () => {
    const a = file('a.yaml', dump({ clusters: [{ name: 'c', cluster: { server: 'https://c:6443' } }], 'current-context': 'ctx' }));
    const b = file('b.yaml', dump({ users: [{ name: 'u', user: { 'client-key': 'missing.key', 'client-certificate-data': 'eA==' } }], contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }] }));
    expect(() => loadContext({ env: { KUBECONFIG: `${a}:${b}` }, home: dir })).toThrow(`~/b.yaml: users[name=u].user.client-key: file ${join(dir, 'missing.key')} not found`);
  });
});
