import { existsSync, readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { load } from 'js-yaml';

/**
 * Finds the kubeconfig and reads it: the file named by a flag, else the files
 * $KUBECONFIG lists (merged as kubectl merges them), else the in-cluster
 * ServiceAccount, else ~/.kube/config. Only the three named maps and the current
 * context are kept; what they say is checked when a context is resolved
 * (context.ts), so a broken entry nobody uses breaks nothing, as with kubectl.
 */

export class KubeconfigError extends Error {
  override name = 'KubeconfigError';
}

/** One named cluster, user or context, with where it came from: relative paths and errors depend on it. */
export interface Entry {
  name: string;
  value: Record<string, unknown>;
  /** The file as errors name it: `~/.kube/config`, or the in-cluster directory. */
  file: string;
  /** Relative paths in the entry are relative to this directory, as kubectl reads them. */
  dir: string;
}

export interface Kubeconfig {
  /** What was read, for errors that belong to no one entry. */
  source: string;
  currentContext: string | undefined;
  clusters: Map<string, Entry>;
  users: Map<string, Entry>;
  contexts: Map<string, Entry>;
}

export interface LoadOptions {
  /** --kubeconfig: this one file and nothing else. */
  file?: string | undefined;
  env?: Record<string, string | undefined>;
  home?: string;
  serviceAccountDir?: string;
  /**
   * Whether the in-cluster ServiceAccount comes before ~/.kube/config: the operator's
   * order (as controller-runtime's), or after it: kubectl's, for the kubectl plugin.
   */
  inCluster?: 'before-home' | 'after-home';
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
export const IN_CLUSTER = 'in-cluster';

type Section = 'clusters' | 'users' | 'contexts';
const SECTIONS: Section[] = ['clusters', 'users', 'contexts'];

export function loadKubeconfig(options: LoadOptions = {}): Kubeconfig {
  const env = options.env ?? process.env;
  const home = options.home ?? env.HOME ?? homedir();
  if (options.file) return readKubeconfig(options.file, home);
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  if (listed.length) return fromList([...new Set(listed)], home);
  return fromPodOrHome(env, home, options);
}

/** Without a named file: the ServiceAccount's, when this is a Pod, and ~/.kube/config, in the order asked. */
function fromPodOrHome(env: Record<string, string | undefined>, home: string, options: LoadOptions): Kubeconfig {
  const inCluster = () => inClusterKubeconfig(env, options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
  const atHome = join(home, '.kube', 'config');
  const fromHome = () => (existsSync(atHome) ? readKubeconfig(atHome, home) : undefined);
  const found = options.inCluster === 'after-home' ? (fromHome() ?? inCluster()) : (inCluster() ?? fromHome());
  if (found) return found;
  throw new KubeconfigError(`no kubeconfig: no file was named, KUBECONFIG is unset, this is not a Pod (KUBERNETES_SERVICE_HOST is unset), and ${shorten(atHome, home)} does not exist`);
}

/** $KUBECONFIG's files: missing ones skipped, as kubectl skips them, but not all of them. */
function fromList(paths: string[], home: string): Kubeconfig {
  const present = paths.filter((p) => existsSync(p));
  if (!present.length) throw new KubeconfigError(`KUBECONFIG: none of its files exists: ${paths.join(', ')}`);
  return mergeKubeconfigs(present.map((p) => readKubeconfig(p, home)));
}

export function readKubeconfig(path: string, home = homedir()): Kubeconfig {
  const file = shorten(resolve(path), home);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new KubeconfigError(`${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot read: ${String(err)}`}`, { cause: err });
  }
  return parseKubeconfig(text, file, dirname(resolve(path)));
}

export function parseKubeconfig(text: string, file: string, dir: string): Kubeconfig {
  let doc: unknown;
  try {
    // kubectl reads an empty file (or one of comments alone) as an empty kubeconfig; js-yaml refuses it.
    const blank = text.replace(/^\s*#.*$/gm, '').trim() === '';
    doc = blank ? {} : (load(text) ?? {});
  } catch (err) {
    throw new KubeconfigError(`${file}: not YAML: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  if (!isObject(doc)) throw new KubeconfigError(`${file}: not a kubeconfig (a mapping at the top)`);
  const current = doc['current-context'];
  if (current !== undefined && current !== null && typeof current !== 'string') throw new KubeconfigError(`${file}: current-context: must be a string`);
  const [clusters, users, contexts] = SECTIONS.map((s) => section(doc, s, file, dir)) as [Map<string, Entry>, Map<string, Entry>, Map<string, Entry>];
  return { source: file, currentContext: current || undefined, clusters, users, contexts };
}

/**
 * kubectl's merge of $KUBECONFIG's files: the first file to name a cluster, user or
 * context wins it whole, and the current context is the first file's that sets one.
 */
export function mergeKubeconfigs(configs: Kubeconfig[]): Kubeconfig {
  const merged: Kubeconfig = { source: configs.map((c) => c.source).join(', '), currentContext: undefined, clusters: new Map(), users: new Map(), contexts: new Map() };
  for (const config of configs) {
    merged.currentContext ??= config.currentContext;
    for (const s of SECTIONS) {
      config[s].forEach((entry, name) => {
        if (!merged[s].has(name)) merged[s].set(name, entry);
      });
    }
  }
  return merged;
}

/** The ServiceAccount a Pod runs as, when this is a Pod: its token file (re-read as it rotates), CA and namespace. */
export function inClusterKubeconfig(env: Record<string, string | undefined>, dir = SERVICE_ACCOUNT_DIR): Kubeconfig | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  const token = join(dir, 'token');
  if (!host || !port || !existsSync(token)) return undefined;
  const file = `in-cluster config (${dir})`;
  const ca = join(dir, 'ca.crt');
  const namespaceFile = join(dir, 'namespace');
  const namespace = existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() : undefined;
  const entry = (value: Record<string, unknown>): Map<string, Entry> => new Map([[IN_CLUSTER, { name: IN_CLUSTER, value, file, dir }]]);
  return {
    source: file,
    currentContext: IN_CLUSTER,
    clusters: entry({ server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`, ...(existsSync(ca) ? { 'certificate-authority': ca } : {}) }),
    users: entry({ tokenFile: token }),
    contexts: entry({ cluster: IN_CLUSTER, user: IN_CLUSTER, ...(namespace ? { namespace } : {}) }),
  };
}

function section(doc: Record<string, unknown>, key: Section, file: string, dir: string): Map<string, Entry> {
  const list = doc[key] ?? [];
  if (!Array.isArray(list)) throw new KubeconfigError(`${file}: ${key}: must be a list`);
  const inner = key.slice(0, -1);
  const entries = new Map<string, Entry>();
  list.forEach((item: unknown, i) => {
    const name = isObject(item) ? item.name : undefined;
    if (typeof name !== 'string' || !name) throw new KubeconfigError(`${file}: ${key}[${i}].name: missing`);
    const value = (item as Record<string, unknown>)[inner] ?? {};
    if (!isObject(value)) throw new KubeconfigError(`${file}: ${key}[name=${name}].${inner}: must be a mapping`);
    // Within one file, as across files, the first entry of a name is the one used.
    if (!entries.has(name)) entries.set(name, { name, value, file, dir });
  });
  return entries;
}

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `~/.kube/config` rather than `/home/someone/.kube/config`. */
export function shorten(path: string, home: string): string {
  return home && home !== '/' && path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
}
