import { ConfigFields, absolute } from './config-fields.js';
import type { ExecPlugin } from './exec-plugin.js';
import { KubeconfigError, loadKubeconfig, type Entry, type Kubeconfig, type LoadOptions } from './kubeconfig.js';

/**
 * A kubeconfig context resolved into what a client needs to reach the API server:
 * its URL, the TLS options, how each request authenticates, and the namespace.
 * Every field a client would use is checked here, at start, and certificate files
 * are read now, so a mistake is one error naming the file and the field rather
 * than a failed request later.
 */

export interface TlsOptions {
  ca?: Buffer | undefined;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
  /** false only for insecure-skip-tls-verify. */
  rejectUnauthorized?: false | undefined;
  servername?: string | undefined;
}

export type Auth =
  | { kind: 'none' }
  | { kind: 'token'; token: string }
  /** Re-read as it changes: projected ServiceAccount tokens rotate. `field` names it in errors. */
  | { kind: 'tokenFile'; path: string; field: string }
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'exec'; plugin: ExecPlugin };

export interface KubeContext {
  name: string;
  /** The API server's URL, without a trailing slash. */
  server: string;
  namespace: string | undefined;
  tls: TlsOptions;
  auth: Auth;
  /** Impersonate-User and Impersonate-Uid, from the user's `as` and `as-uid`. */
  headers: Record<string, string>;
}

/** Where to look (see loadKubeconfig), and which context to use instead of the current one. */
export interface ContextOptions extends LoadOptions {
  context?: string | undefined;
}

/** Finds the kubeconfig and resolves the context to use. */
export function loadContext(options: ContextOptions = {}): KubeContext {
  return resolveContext(loadKubeconfig(options), options.context);
}

/** What kubectl suggests in place of each legacy auth-provider, which the Kubernetes client libraries dropped. */
const EXEC_INSTEAD: Record<string, string> = {
  gcp: 'gke-gcloud-auth-plugin',
  azure: 'kubelogin (Azure/kubelogin)',
  oidc: 'kubelogin (int128/kubelogin)',
};

export function resolveContext(config: Kubeconfig, name = config.currentContext): KubeContext {
  if (!name) throw new KubeconfigError(`${config.source}: current-context: not set, and no context was named`);
  const entry = config.contexts.get(name);
  if (!entry) throw new KubeconfigError(`${config.source}: context "${name}" not found (contexts: ${[...config.contexts.keys()].join(', ') || 'none'})`);
  const context = ConfigFields.of(entry, 'contexts');
  const cluster = ConfigFields.of(referenced(config.clusters, context, 'cluster', config.source), 'clusters');
  const userName = context.string('user');
  const user = userName === undefined ? undefined : ConfigFields.of(referenced(config.users, context, 'user', config.source), 'users');
  const { server, tls } = readCluster(cluster);
  const credentials = user ? readUser(user, cluster, tls) : { cert: undefined, key: undefined, auth: { kind: 'none' } as Auth, headers: {} };
  return {
    name,
    server,
    namespace: context.string('namespace'),
    tls: { ...tls, cert: credentials.cert, key: credentials.key },
    auth: credentials.auth,
    headers: credentials.headers,
  };
}

function referenced(entries: Map<string, Entry>, context: ConfigFields, key: 'cluster' | 'user', source: string): Entry {
  const name = context.requiredString(key);
  const entry = entries.get(name);
  if (!entry) throw context.error(key, `no ${key} named "${name}" in ${source}`);
  return entry;
}

function readCluster(cluster: ConfigFields): { server: string; tls: TlsOptions } {
  const server = cluster.requiredString('server');
  if (!/^https?:\/\/[^/]/.test(server) || !URL.canParse(server)) throw cluster.error('server', `"${server}" is not an http or https URL`);
  // client-node's proxy support (http, https and socks agents) is what pulled in three
  // packages; no user of this operator asked for one yet.
  if (cluster.has('proxy-url')) throw cluster.error('proxy-url', 'proxies are not supported: reach the API server directly, or use a kubeconfig without proxy-url');
  const insecure = cluster.boolean('insecure-skip-tls-verify');
  const ca = cluster.fileOrData('certificate-authority', 'certificate-authority-data');
  if (insecure && ca) throw cluster.error('insecure-skip-tls-verify', 'cannot be true while a certificate authority is set; keep one');
  return { server: server.replace(/\/+$/, ''), tls: { ca, rejectUnauthorized: insecure ? false : undefined, servername: cluster.string('tls-server-name') } };
}

interface UserCredentials {
  cert: Buffer | undefined;
  key: Buffer | undefined;
  auth: Auth;
  headers: Record<string, string>;
}

function readUser(user: ConfigFields, cluster: ConfigFields, tls: TlsOptions): UserCredentials {
  refuseUnsupported(user);
  const cert = user.fileOrData('client-certificate', 'client-certificate-data');
  const key = user.fileOrData('client-key', 'client-key-data');
  if (!cert !== !key) throw user.error(cert ? 'client-key' : 'client-certificate', 'missing: a client certificate and its key go together');
  const headers: Record<string, string> = {};
  const as = user.string('as');
  const uid = user.string('as-uid');
  if (as) headers['Impersonate-User'] = as;
  if (uid) headers['Impersonate-Uid'] = uid;
  return { cert, key, auth: authOf(user, cluster, tls), headers };
}

function refuseUnsupported(user: ConfigFields): void {
  const provider = user.nested('auth-provider');
  if (provider) {
    const name = provider.string('name') ?? '(unnamed)';
    throw user.error('auth-provider', `auth-provider ${name} is not supported; use an exec plugin such as ${EXEC_INSTEAD[name] ?? 'the one your provider ships'}`);
  }
  for (const key of ['as-groups', 'as-user-extra']) if (user.has(key)) throw user.error(key, 'impersonating groups or extra fields is not supported; only as and as-uid are');
}

/** One way to authenticate at most, as kubectl requires: a token (or token file), a username and password, or an exec plugin. */
function authOf(user: ConfigFields, cluster: ConfigFields, tls: TlsOptions): Auth {
  const way = wayToAuthenticate(user);
  if (way === 'token') return tokenAuth(user);
  if (way === 'username/password') return { kind: 'basic', username: user.string('username') ?? '', password: user.string('password') ?? '' };
  const exec = user.nested('exec');
  return exec ? { kind: 'exec', plugin: readExec(exec, cluster, tls) } : { kind: 'none' };
}

function wayToAuthenticate(user: ConfigFields): string | undefined {
  const ways = [
    (user.has('token') || user.has('tokenFile')) && 'token',
    (user.has('username') || user.has('password')) && 'username/password',
    user.has('exec') && 'exec',
  ].filter((w): w is string => Boolean(w));
  if (ways.length > 1) throw new KubeconfigError(`${user.where}: more than one way to authenticate (${ways.join(', ')}); keep one`);
  return ways[0];
}

function tokenAuth(user: ConfigFields): Auth {
  // With both, the token file wins: client-go reads it and prefers what it last read.
  const tokenFile = user.path('tokenFile');
  if (tokenFile === undefined) return { kind: 'token', token: user.requiredString('token').trim() };
  user.readFile('tokenFile');
  return { kind: 'tokenFile', path: tokenFile, field: user.field('tokenFile') };
}

const EXEC_API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'];
const INTERACTIVE_MODES = ['Never', 'IfAvailable', 'Always'];
const EXEC_EXTENSION = 'client.authentication.k8s.io/exec';

function readExec(exec: ConfigFields, cluster: ConfigFields, tls: TlsOptions): ExecPlugin {
  const apiVersion = exec.requiredString('apiVersion');
  if (!EXEC_API_VERSIONS.includes(apiVersion)) throw exec.error('apiVersion', `"${apiVersion}" is not supported; use ${EXEC_API_VERSIONS.join(' or ')}`);
  // v1 makes plugins say whether they need a terminal; v1beta1 defaulted to IfAvailable.
  const interactiveMode = apiVersion.endsWith('/v1') ? exec.requiredString('interactiveMode') : (exec.string('interactiveMode') ?? 'IfAvailable');
  if (!INTERACTIVE_MODES.includes(interactiveMode)) throw exec.error('interactiveMode', `must be one of ${INTERACTIVE_MODES.join(', ')}`);
  if (interactiveMode === 'Always') throw exec.error('interactiveMode', 'Always: the plugin needs a terminal, and this client runs plugins without one');
  const command = exec.requiredString('command');
  return {
    // A command with a slash is a path, relative to the kubeconfig; a bare name is looked up on PATH.
    command: command.includes('/') ? absolute(exec.dir, command) : command,
    args: exec.strings('args'),
    env: execEnv(exec),
    apiVersion,
    installHint: exec.string('installHint'),
    cluster: exec.boolean('provideClusterInfo') ? clusterInfo(cluster, tls) : undefined,
    field: exec.where,
  };
}

function execEnv(exec: ConfigFields): Record<string, string> {
  const list = exec.value.env ?? [];
  if (!Array.isArray(list)) throw exec.error('env', 'must be a list of name and value');
  const env: Record<string, string> = {};
  list.forEach((item: unknown, i) => {
    const { name, value } = (item ?? {}) as { name?: unknown; value?: unknown };
    if (typeof name !== 'string' || !name || typeof value !== 'string') throw exec.error(`env[${i}]`, 'must have a string name and value');
    env[name] = value;
  });
  return env;
}

/** The cluster as ExecCredential's spec.cluster gives it to a plugin that asks (provideClusterInfo). */
function clusterInfo(cluster: ConfigFields, tls: TlsOptions): Record<string, unknown> {
  const extensions = Array.isArray(cluster.value.extensions) ? (cluster.value.extensions as { name?: unknown; extension?: unknown }[]) : [];
  const config = extensions.find((e) => e?.name === EXEC_EXTENSION)?.extension;
  return {
    server: cluster.requiredString('server'),
    ...(tls.servername ? { 'tls-server-name': tls.servername } : {}),
    ...(tls.rejectUnauthorized === false ? { 'insecure-skip-tls-verify': true } : {}),
    ...(tls.ca ? { 'certificate-authority-data': tls.ca.toString('base64') } : {}),
    ...(config === undefined ? {} : { config }),
  };
}
